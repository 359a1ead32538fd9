"""docs/rules/ is what scripts/gen_docs.py generates from the catalog, and the catalog export
(`stack-auditor rules --format json`) carries every field the pages are made of."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from stack_auditor.cli import main
from stack_auditor.rules import CATALOG

REPO = Path(__file__).resolve().parents[1]
EXPORTED = {
    "id",
    "severity",
    "family",
    "sides",
    "title",
    "subject_types",
    "risk",
    "remediation",
    "seeds",
    "reference",
}


def test_generated_rule_docs_are_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_docs.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_rule_has_a_page_listed_in_the_index() -> None:
    index = (REPO / "docs" / "rules" / "README.md").read_text()
    for rule in CATALOG:
        assert (REPO / "docs" / "rules" / f"{rule.meta.id}.md").is_file(), rule.meta.id
        assert f"]({rule.meta.id}.md)" in index, rule.meta.id


def test_rules_json_exports_every_documented_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rules"]
    assert [r["id"] for r in rows] == [r.meta.id for r in CATALOG]
    for row, rule in zip(rows, CATALOG, strict=True):
        assert set(row) == EXPORTED, row["id"]
        assert row["seeds"] == list(rule.meta.seeds)
        assert row["risk"] and row["remediation"] and row["title"], row["id"]


@pytest.fixture(scope="module")
def gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "scripts" / "gen_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fixture_examples_lose_only_the_test_expectations(gen_docs: ModuleType) -> None:
    fixture = (
        'AWSTemplateFormatVersion: "2010-09-09"\n'
        "Metadata:\n"
        "  stack-auditor-test:\n"
        "    # what the test expects\n"
        "    expect:\n"
        "      FAIL: [Bucket]\n"
        "\n"
        "# the bucket under test\n"
        "Resources:\n"
        "  Bucket: {Type: AWS::S3::Bucket}\n"
    )
    assert gen_docs.strip_test_metadata(fixture) == (
        'AWSTemplateFormatVersion: "2010-09-09"\n'
        "# the bucket under test\n"
        "Resources:\n"
        "  Bucket: {Type: AWS::S3::Bucket}\n"
    )
    kept = fixture.replace("  stack-auditor-test:", "  Other: {a: 1}\n  stack-auditor-test:")
    assert "Metadata:\n  Other: {a: 1}\nResources" in gen_docs.strip_test_metadata(
        kept.replace("\n\n# the bucket under test", "")
    )


def test_seed_references_name_the_seed_report(gen_docs: ModuleType) -> None:
    line = gen_docs.seed_line("000 #2")
    assert line.startswith("- seed 000, issue 2: `shared/seeds/000_")
    assert line.endswith(".txt`")
    assert "the report as a whole" in gen_docs.seed_line("002")

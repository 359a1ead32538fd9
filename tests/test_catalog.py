"""The rule catalog in code (CATALOG) agrees with the contract (docs/rule-catalog.md).

CI runs from a fresh clone with shared/ beside the repository; the repository keeps its own
copy of the catalog so this test never skips, and checks the copy is current when ../shared
is there.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from stack_auditor.model import Severity
from stack_auditor.rules import CATALOG

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "rules"
REPO_CATALOG = REPO / "docs" / "rule-catalog.md"
SHARED_CATALOG = REPO.parent / "shared" / "spec" / "rule-catalog.md"
_ROW = re.compile(r"^\|\s*`([a-z0-9-]+)`\s*\|\s*([A-Za-z ]+?)\s*\|", re.MULTILINE)

# The rules of the first implementation issue (portability, tagging, IAM, suppression).
FIRST_ISSUE_IDS = {
    "hardcoded-account-id", "hardcoded-region", "hardcoded-partition",
    "hardcoded-arn-to-stack-resource", "name-missing-environment-suffix",
    "s3-bucket-name-not-unique", "required-tags-missing", "iam-admin-access",
    "iam-wildcard-action", "iam-wildcard-resource", "iam-passrole-wildcard",
    "lambda-env-resource-without-permission", "lambda-xray-permission-missing",
    "lambda-dlq-permission-missing", "lambda-vpc-permission-missing",
    "lambda-logs-permission-missing", "suppression-without-reason",
}  # fmt: skip


# Engine-level findings that are not catalog rows: template-not-expanded reports a transform the
# engine could not expand (its resources were not audited), as the issue asks.
ENGINE_RULE_IDS = {"template-not-expanded"}


def catalog_severities(text: str) -> dict[str, str]:
    """Rule id -> default severity, from the catalog's tables and its Suppression section."""
    rows = {m.group(1): m.group(2).strip() for m in _ROW.finditer(text)}
    if "`suppression-without-reason`" in text:
        rows["suppression-without-reason"] = "LOW"  # stated in prose: "(..., LOW)"
    return rows


@pytest.fixture(scope="module")
def documented() -> dict[str, str]:
    return catalog_severities(REPO_CATALOG.read_text())


def test_repo_copy_matches_shared_catalog() -> None:
    if not SHARED_CATALOG.exists():
        return  # a clone without shared/ beside it: the repository copy is the contract
    assert REPO_CATALOG.read_text() == SHARED_CATALOG.read_text(), (
        "docs/rule-catalog.md is stale: copy shared/spec/rule-catalog.md over it"
    )


def test_rule_ids_are_unique() -> None:
    ids = [rule.meta.id for rule in CATALOG]
    assert len(ids) == len(set(ids))


def test_every_rule_is_in_the_catalog_with_its_severity(documented: dict[str, str]) -> None:
    for rule in CATALOG:
        if rule.meta.id.startswith("cfn-lint") or rule.meta.id in ENGINE_RULE_IDS:
            continue
        assert rule.meta.id in documented, f"{rule.meta.id} is not in the catalog"
        assert rule.meta.severity is Severity.parse(documented[rule.meta.id]), rule.meta.id


def test_first_issue_rules_are_implemented() -> None:
    assert {rule.meta.id for rule in CATALOG} >= FIRST_ISSUE_IDS


def test_every_rule_has_pass_and_fail_fixtures() -> None:
    for rule in CATALOG:
        folder = FIXTURES / rule.meta.id
        assert list(folder.glob("*.pass.yaml")), f"{rule.meta.id} has no .pass.yaml fixture"
        assert list(folder.glob("*.fail.yaml")), f"{rule.meta.id} has no .fail.yaml fixture"


def test_every_rule_has_a_test_module() -> None:
    for rule in CATALOG:
        module = REPO / "tests" / "rules" / f"test_{rule.meta.id.replace('-', '_')}.py"
        assert module.exists(), f"{rule.meta.id} has no {module.name}"


def test_metadata_is_complete() -> None:
    for rule in CATALOG:
        meta = rule.meta
        assert meta.title and meta.risk and meta.remediation and meta.family, meta.id
        assert meta.sides and meta.subject_types, meta.id


def test_every_catalog_id_is_implemented(documented: dict[str, str]) -> None:
    missing = sorted(set(documented) - {rule.meta.id for rule in CATALOG})
    assert not missing, f"catalog ids without a rule: {', '.join(missing)}"

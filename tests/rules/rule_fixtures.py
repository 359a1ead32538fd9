"""Rule fixtures: tests/fixtures/rules/<rule-id>/<scenario>.pass.yaml|.fail.yaml.

Imported by the test modules beside it as ``rule_fixtures`` (pytest puts this folder on
sys.path; tests/ is not a package).

Each fixture states its expectation in its top-level Metadata::

    stack-auditor-test:
      expect: {FAIL: [LogicalId, ...], UNKNOWN: [...]}   # null stands for template-wide
      parameters: {Name: value}                           # stack parameter values
      tags: {Key: value}                                  # stack-level tags
      required_tags: [{key: K, allowed_values: [...]}]    # AuditConfig.required_tags
      config: {...}                                       # any policy-file key (config_file.py)

A .pass.yaml has no FAIL for its rule; a .fail.yaml has exactly the FAILs listed. UNKNOWN
verdicts must always equal the listed set (empty when none is listed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from stack_auditor.config import AuditConfig, RequiredTag
from stack_auditor.config_file import config_from_mapping
from stack_auditor.evaluate import evaluate
from stack_auditor.model import Outcome, StackSnapshot
from stack_auditor.rules import CATALOG
from stack_auditor.snapshot import snapshot_from_file
from stack_auditor.template.loader import load_template_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rules"


@dataclass(frozen=True)
class Expectation:
    fail: frozenset[str | None]
    unknown: frozenset[str | None]
    parameters: dict[str, Any]
    tags: dict[str, str]
    config: AuditConfig


def fixture_paths(rule_id: str) -> list[Path]:
    return sorted((FIXTURES / rule_id).glob("*.yaml"))


def fixture_params(rule_id: str) -> Any:
    """pytest parametrisation over a rule's fixtures, ids = file names."""
    paths = fixture_paths(rule_id)
    return pytest.mark.parametrize("fixture", paths, ids=[p.name for p in paths])


def expectation(path: Path) -> Expectation:
    data = load_template_file(path).data
    test = (data.get("Metadata") or {}).get("stack-auditor-test") or {}
    expect = test.get("expect") or {}
    return Expectation(
        fail=frozenset(expect.get("FAIL") or ()),
        unknown=frozenset(expect.get("UNKNOWN") or ()),
        parameters={k: str(v) for k, v in (test.get("parameters") or {}).items()},
        tags={k: str(v) for k, v in (test.get("tags") or {}).items()},
        config=_config(test),
    )


def _config(test: dict[str, Any]) -> AuditConfig:
    if "config" in test:
        return config_from_mapping(test["config"], source="fixture")
    if "required_tags" not in test:
        return AuditConfig()
    required = tuple(
        RequiredTag(t["key"], tuple(t.get("allowed_values") or ())) for t in test["required_tags"]
    )
    return AuditConfig(required_tags=required)


def scan(path: Path, expect: Expectation) -> StackSnapshot:
    return snapshot_from_file(path, parameters=expect.parameters, tags=expect.tags)


def assert_fixture(rule_id: str, path: Path) -> None:
    expect = expectation(path)
    snapshot = scan(path, expect)
    rules = [r for r in CATALOG if r.meta.id == rule_id]
    assert rules, f"{rule_id} is not in CATALOG"
    verdicts = evaluate(snapshot, expect.config, rules)
    got = {
        outcome: frozenset(v.logical_id for v in verdicts if v.outcome is outcome)
        for outcome in (Outcome.FAIL, Outcome.UNKNOWN)
    }
    messages = [f"{v.outcome} {v.logical_id} {v.path}: {v.message}" for v in verdicts]
    if path.name.endswith(".pass.yaml"):
        assert not expect.fail, f"{path.name}: a .pass fixture may not expect FAIL"
    else:
        assert path.name.endswith(".fail.yaml"), path.name
        assert expect.fail, f"{path.name}: a .fail fixture must list its FAILs"
    assert got[Outcome.FAIL] == expect.fail, messages
    assert got[Outcome.UNKNOWN] == expect.unknown, messages

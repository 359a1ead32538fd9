"""evaluate(): runs the enabled rules; a rule that raises becomes one UNKNOWN verdict."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from stack_auditor.config import AuditConfig
from stack_auditor.evaluate import evaluate, select_rules
from stack_auditor.model import (
    Outcome,
    Resource,
    Severity,
    StackRef,
    StackSnapshot,
    Verdict,
    freeze,
)
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules import CATALOG
from stack_auditor.snapshot import snapshot_from_file


def _snapshot() -> StackSnapshot:
    queue = Resource(
        logical_id="Queue",
        type="AWS::SQS::Queue",
        properties=freeze({"QueueName": "jobs"}),
        raw_properties=freeze({"QueueName": "jobs"}),
    )
    template = freeze(
        {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs"}}}}
    )
    return StackSnapshot(
        ref=StackRef("demo"),
        template=template,
        processed=template,
        resources=freeze({"Queue": queue}),
    )


def _meta(rule_id: str) -> RuleMeta:
    return CATALOG[0].meta.__class__(
        id=rule_id, title="t", severity=Severity.LOW, family="f", subject_types=("*",),
        sides=frozenset(), risk="r", remediation="fix",
    )  # fmt: skip


def _broken(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    raise KeyError("Properties")


def test_a_raising_rule_becomes_one_unknown_verdict() -> None:
    ok = CATALOG[0]
    verdicts = evaluate(_snapshot(), AuditConfig(), (Rule(_meta("broken"), _broken), ok))
    broken = [v for v in verdicts if v.rule_id == "broken"]
    assert len(broken) == 1
    assert broken[0].outcome is Outcome.UNKNOWN
    assert "KeyError" in broken[0].message
    assert any(v.rule_id == ok.meta.id for v in verdicts)


def test_disabled_rules_do_not_run() -> None:
    config = AuditConfig(disabled_rules=frozenset({"required-tags-missing"}))
    assert "required-tags-missing" not in {r.meta.id for r in select_rules(config)}
    verdicts = evaluate(_snapshot(), config)
    assert "required-tags-missing" not in {v.rule_id for v in verdicts}


def test_whole_catalog_runs_on_a_hand_built_snapshot() -> None:
    verdicts = evaluate(_snapshot(), AuditConfig())
    assert not [v for v in verdicts if v.evidence.get("source") == "engine"]
    tags = [v for v in verdicts if v.rule_id == "required-tags-missing"]
    assert [(v.outcome, v.logical_id) for v in tags] == [(Outcome.FAIL, "Queue")]


def test_no_environment_variable_value_reaches_a_verdict() -> None:
    fixtures = Path(__file__).resolve().parent / "fixtures" / "rules"
    secret_values = ("abc123.execute-api.eu-west-2", "210987654321/orders", "orders-table")
    for path in (
        fixtures / "hardcoded-region" / "literal_regions.fail.yaml",
        fixtures / "hardcoded-account-id" / "literal_accounts.fail.yaml",
        fixtures / "hardcoded-arn-to-stack-resource" / "literal_references.fail.yaml",
        fixtures / "lambda-env-resource-without-permission" / "missing_grant.fail.yaml",
    ):
        for verdict in evaluate(snapshot_from_file(path), AuditConfig()):
            if "Environment.Variables" not in verdict.path:
                continue
            shown = verdict.message + repr(verdict.evidence)
            assert not any(value in shown for value in secret_values), shown

"""to_findings: stable ids, severity, suppression, unknowns; Finding.to_dict."""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType

from stack_auditor.config import AuditConfig
from stack_auditor.findings import finding_id, format_time, parse_time, to_findings
from stack_auditor.model import (
    FindingStatus,
    Outcome,
    Resource,
    Severity,
    Side,
    StackRef,
    StackSnapshot,
    Verdict,
)
from stack_auditor.rule import Rule, RuleMeta

REF = StackRef("payments-prod", account="123456789012", region="us-east-1")
SEEN = datetime(2026, 11, 20, 9, 15, 2, tzinfo=UTC)


def meta(rule_id: str, severity: Severity = Severity.HIGH) -> RuleMeta:
    return RuleMeta(
        id=rule_id,
        title=f"{rule_id} holds",
        severity=severity,
        family="Test",
        subject_types=("*",),
        sides=frozenset({Side.TEMPLATE}),
        risk="risky",
        remediation=f"fix {rule_id}",
    )


RULES = (
    Rule(meta("dynamodb-pitr-disabled"), lambda s, c: ()),
    Rule(meta("sns-topic-unencrypted", Severity.MEDIUM), lambda s, c: ()),
    Rule(meta("cfn-lint", Severity.LOW), lambda s, c: ()),
)


def snapshot(ref: StackRef = REF) -> StackSnapshot:
    table = Resource(
        "OrdersTable",
        "AWS::DynamoDB::Table",
        MappingProxyType({}),
        MappingProxyType({}),
        physical_id="payments-prod-orders",
        line=12,
    )
    return StackSnapshot(
        ref=ref,
        template=MappingProxyType({}),
        processed=MappingProxyType({}),
        resources=MappingProxyType({"OrdersTable": table}),
        source_file="template.yaml",
    )


def verdict(rule_id: str, outcome: Outcome = Outcome.FAIL, **kw: object) -> Verdict:
    base: dict[str, object] = {
        "logical_id": "OrdersTable",
        "resource_type": "AWS::DynamoDB::Table",
        "message": "PITR off",
        "path": "Properties.PointInTimeRecoverySpecification",
    }
    base.update(kw)
    return Verdict(rule_id=rule_id, outcome=outcome, **base)  # type: ignore[arg-type]


def no_suppression(_s: StackSnapshot, _v: Verdict) -> str | None:
    return None


def test_finding_id_is_stable_and_scoped() -> None:
    one = finding_id(REF, "r", "A", "Properties.X")
    assert one == finding_id(
        StackRef("payments-prod", "123456789012", "us-east-1", stack_id="arn:other"),
        "r",
        "A",
        "Properties.X",
    )
    others = {
        finding_id(REF, "r", "A", "Properties.Y"),
        finding_id(REF, "r", "B", "Properties.X"),
        finding_id(REF, "q", "A", "Properties.X"),
        finding_id(
            StackRef("payments-prod", "123456789012", "eu-west-1"), "r", "A", "Properties.X"
        ),
        finding_id(
            StackRef("payments-prod", "210987654321", "us-east-1"), "r", "A", "Properties.X"
        ),
        finding_id(REF, "r", None, "Properties.X"),
    }
    assert one not in others and len(others) == 6
    assert len(one) == 32 and int(one, 16) >= 0


def test_fail_verdicts_become_open_findings_with_catalog_metadata() -> None:
    fs = to_findings(
        snapshot(),
        [verdict("dynamodb-pitr-disabled"), verdict("dynamodb-pitr-disabled", Outcome.PASS)],
        RULES,
        AuditConfig(),
        SEEN,
        suppressor=no_suppression,
    )
    assert len(fs.findings) == 1
    f = fs.findings[0]
    assert f.status is FindingStatus.OPEN
    assert f.severity is Severity.HIGH
    assert f.remediation == "fix dynamodb-pitr-disabled"
    assert f.title == "dynamodb-pitr-disabled holds"
    assert (f.physical_id, f.line, f.file) == ("payments-prod-orders", 12, "template.yaml")
    assert f.first_seen == f.last_seen == "2026-11-20T09:15:02.000000Z"
    assert f.finding_id == finding_id(REF, f.rule_id, "OrdersTable", f.path)
    assert fs.rules_evaluated == {"dynamodb-pitr-disabled", "sns-topic-unencrypted"}
    with_lint = to_findings(
        snapshot(), [], RULES, AuditConfig(cfn_lint=True), SEEN, suppressor=no_suppression
    )
    assert "cfn-lint" in with_lint.rules_evaluated


def test_severity_from_verdict_then_override_then_default() -> None:
    config = AuditConfig(
        severity_overrides=MappingProxyType({"sns-topic-unencrypted": Severity.CRITICAL})
    )
    fs = to_findings(
        snapshot(),
        [
            verdict("sns-topic-unencrypted", logical_id=None, path="a"),
            verdict("cfn-lint/E3012", severity=Severity.HIGH, path="b"),
            verdict("cfn-lint/W1001", path="c"),
            verdict("not-in-catalog", path="d"),
        ],
        RULES,
        config,
        SEEN,
        suppressor=no_suppression,
    )
    by_rule = {f.rule_id: f for f in fs.findings}
    assert by_rule["sns-topic-unencrypted"].severity is Severity.CRITICAL
    assert by_rule["cfn-lint/E3012"].severity is Severity.HIGH
    assert by_rule["cfn-lint/W1001"].severity is Severity.LOW  # falls back to "cfn-lint"
    assert by_rule["cfn-lint/W1001"].remediation == "fix cfn-lint"
    assert by_rule["not-in-catalog"].severity is Severity.MEDIUM
    assert [f.severity.rank for f in fs.findings] == sorted(f.severity.rank for f in fs.findings)


def test_suppressed_findings_keep_their_reason() -> None:
    def suppress(_s: StackSnapshot, v: Verdict) -> str | None:
        return "accepted risk: dev data" if v.rule_id == "dynamodb-pitr-disabled" else None

    fs = to_findings(
        snapshot(),
        [verdict("dynamodb-pitr-disabled")],
        RULES,
        AuditConfig(),
        SEEN,
        suppressor=suppress,
    )
    assert fs.findings[0].status is FindingStatus.SUPPRESSED
    assert fs.findings[0].suppression_reason == "accepted risk: dev data"
    assert fs.suppressed == fs.findings and fs.open == ()


def test_unknown_verdicts_are_kept_apart() -> None:
    fs = to_findings(
        snapshot(),
        [
            verdict("dynamodb-pitr-disabled", Outcome.UNKNOWN),
            verdict("cfn-lint", Outcome.NOT_APPLICABLE),
        ],
        RULES,
        AuditConfig(),
        SEEN,
        suppressor=no_suppression,
    )
    assert fs.findings == ()
    assert fs.unknowns == {("dynamodb-pitr-disabled", "OrdersTable")}


def test_disabled_rules_are_not_counted_as_evaluated() -> None:
    config = AuditConfig(disabled_rules=frozenset({"cfn-lint"}))
    fs = to_findings(snapshot(), [], RULES, config, SEEN, suppressor=no_suppression)
    assert "cfn-lint" not in fs.rules_evaluated


def test_duplicate_verdicts_are_one_finding() -> None:
    fs = to_findings(
        snapshot(),
        [verdict("dynamodb-pitr-disabled")] * 2,
        RULES,
        AuditConfig(),
        SEEN,
        suppressor=no_suppression,
    )
    assert len(fs.findings) == 1


def test_to_dict_is_json_ready() -> None:
    fs = to_findings(
        snapshot(),
        [
            verdict(
                "dynamodb-pitr-disabled", evidence=MappingProxyType({"source": "live", "v": (1, 2)})
            )
        ],
        RULES,
        AuditConfig(),
        SEEN,
        suppressor=no_suppression,
    )
    data = fs.findings[0].to_dict()
    assert set(data) == {
        "finding_id",
        "rule_id",
        "severity",
        "status",
        "logical_id",
        "physical_id",
        "resource_type",
        "message",
        "remediation",
        "evidence",
        "path",
        "file",
        "line",
        "first_seen",
        "last_seen",
        "title",
        "suppression_reason",
    }
    assert data["evidence"] == {"source": "live", "v": [1, 2]}
    assert data["severity"] == "HIGH" and data["status"] == "OPEN"


def test_time_format_orders_as_text() -> None:
    early = format_time(parse_time("2026-11-20T09:15:02Z"))
    late = format_time(parse_time("2026-11-20T10:15:02+01:00").replace(microsecond=1))
    assert early < late
    assert format_time(datetime(2026, 1, 1)) == "2026-01-01T00:00:00.000000Z"

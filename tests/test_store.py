"""FindingsStore against moto's DynamoDB: diffing, first_seen, suppression, out-of-order
audits, unchecked resources, stack deletion, and every query helper across pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from stack_auditor.findings import Finding, FindingSet, finding_id
from stack_auditor.model import FindingStatus, Gap, Severity, StackRef
from stack_auditor.store import FindingsStore
from stack_auditor.store_schema import (
    ATTRIBUTE_DEFINITIONS,
    GLOBAL_SECONDARY_INDEXES,
    KEY_SCHEMA,
    stack_pk,
)

REF = StackRef(
    "payments-prod",
    account="123456789012",
    region="us-east-1",
    stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/payments-prod/x",
    status="UPDATE_COMPLETE",
    trigger="event",
)
RULES = frozenset({"dynamodb-pitr-disabled", "sns-topic-unencrypted", "iam-wildcard-action"})
T1, T2, T3 = "2026-11-20T09:00:00Z", "2026-11-21T09:00:00Z", "2026-11-22T09:00:00Z"


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        ddb: Any = boto3.resource("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="findings",
            KeySchema=list(KEY_SCHEMA),
            AttributeDefinitions=list(ATTRIBUTE_DEFINITIONS),
            GlobalSecondaryIndexes=list(GLOBAL_SECONDARY_INDEXES),
            BillingMode="PAY_PER_REQUEST",
        )
        yield ddb.Table("findings")


@pytest.fixture
def store(table: Any) -> FindingsStore:
    return FindingsStore(table)


def finding(
    rule: str,
    logical_id: str | None,
    severity: Severity = Severity.HIGH,
    *,
    ref: StackRef = REF,
    suppressed: str | None = None,
    seen: str = "",
) -> Finding:
    return Finding(
        finding_id=finding_id(ref, rule, logical_id, "Properties.X"),
        rule_id=rule,
        severity=severity,
        status=FindingStatus.SUPPRESSED if suppressed else FindingStatus.OPEN,
        logical_id=logical_id,
        physical_id=f"{logical_id}-phys" if logical_id else None,
        resource_type="AWS::DynamoDB::Table" if logical_id else None,
        message=f"{rule} on {logical_id}",
        remediation="fix it",
        evidence=MappingProxyType({"source": "live", "value": 1.5, "empty": ""}),
        path="Properties.X",
        first_seen=seen,
        last_seen=seen,
        stack_name=ref.stack_name,
        account=ref.account,
        region=ref.region,
        title="t",
        suppression_reason=suppressed,
    )


def fset(
    *findings: Finding,
    unknowns: set[tuple[str, str | None]] | None = None,
    gaps: tuple[Gap, ...] = (),
) -> FindingSet:
    return FindingSet(findings, frozenset(unknowns or ()), gaps, RULES)


def ids(findings: tuple[Finding, ...] | list[Finding]) -> set[str]:
    return {f"{f.rule_id}:{f.logical_id}" for f in findings}


def test_three_audits_new_open_resolved_and_first_seen_kept(store: FindingsStore) -> None:
    pitr = finding("dynamodb-pitr-disabled", "Orders", seen=T1)
    sns = finding("sns-topic-unencrypted", "Alerts", Severity.MEDIUM, seen=T1)
    one = store.record_audit(REF, fset(pitr, sns), T1)
    assert ids(one.new) == {"dynamodb-pitr-disabled:Orders", "sns-topic-unencrypted:Alerts"}
    assert not one.still_open and not one.resolved and not one.stale

    iam = finding("iam-wildcard-action", "Role", seen=T2)
    two = store.record_audit(REF, fset(replace(pitr, first_seen=T2, last_seen=T2), iam), T2)
    assert ids(two.new) == {"iam-wildcard-action:Role"}
    assert ids(two.still_open) == {"dynamodb-pitr-disabled:Orders"}
    assert ids(two.resolved) == {"sns-topic-unencrypted:Alerts"}
    assert two.still_open[0].first_seen == "2026-11-20T09:00:00Z"  # kept from audit one

    three = store.record_audit(REF, fset(replace(sns, first_seen=T3, last_seen=T3)), T3)
    assert ids(three.new) == {"sns-topic-unencrypted:Alerts"}  # came back: new again
    assert ids(three.resolved) == {"dynamodb-pitr-disabled:Orders", "iam-wildcard-action:Role"}

    stored = {
        f"{f.rule_id}:{f.logical_id}": f
        for f in store.findings_for_stack(REF.account, REF.region, REF.stack_name)
    }
    assert stored["dynamodb-pitr-disabled:Orders"].status is FindingStatus.RESOLVED
    assert stored["dynamodb-pitr-disabled:Orders"].first_seen == T1
    assert stored["dynamodb-pitr-disabled:Orders"].last_seen == T2
    assert stored["sns-topic-unencrypted:Alerts"].status is FindingStatus.OPEN
    assert stored["sns-topic-unencrypted:Alerts"].first_seen == T3
    assert dict(stored["sns-topic-unencrypted:Alerts"].evidence) == {
        "source": "live",
        "value": 1.5,
        "empty": "",
    }

    audits = store.audits_for_stack(REF.account, REF.region, REF.stack_name)
    assert [a["audit_time"][:10] for a in audits] == ["2026-11-22", "2026-11-21", "2026-11-20"]
    assert audits[1]["counts"] == {
        "new": 1,
        "open": 2,
        "resolved": 1,
        "suppressed": 0,
        "unknown": 0,
        "unchecked": 0,
    }
    assert sorted(audits[0]["rules_evaluated"]) == sorted(RULES)
    state = store.stack_state(REF.account, REF.region, REF.stack_name)
    assert state is not None and state["last_audit_time"] == "2026-11-22T09:00:00.000000Z"
    assert state["last_status"] == "UPDATE_COMPLETE" and state["stack_id"] == REF.stack_id


def test_suppressed_is_stored_as_suppressed_and_not_new(store: FindingsStore) -> None:
    f = finding("dynamodb-pitr-disabled", "Orders", suppressed="dev table, no backups")
    changes = store.record_audit(REF, fset(f), T1)
    assert not changes.new and ids(changes.suppressed) == {"dynamodb-pitr-disabled:Orders"}
    (stored,) = store.findings_for_stack(REF.account, REF.region, REF.stack_name)
    assert stored.status is FindingStatus.SUPPRESSED
    assert stored.suppression_reason == "dev table, no backups"
    # suppression removed: now it is news
    again = store.record_audit(
        REF, fset(replace(f, status=FindingStatus.OPEN, suppression_reason=None)), T2
    )
    assert ids(again.new) == {"dynamodb-pitr-disabled:Orders"}


def test_older_audit_after_newer_writes_nothing(store: FindingsStore) -> None:
    newer = store.record_audit(REF, fset(finding("dynamodb-pitr-disabled", "Orders")), T2)
    assert newer.new
    older = store.record_audit(REF, fset(finding("sns-topic-unencrypted", "Alerts")), T1)
    assert older.stale and not older.new and not older.resolved
    stored = store.findings_for_stack(REF.account, REF.region, REF.stack_name)
    assert ids(stored) == {"dynamodb-pitr-disabled:Orders"}
    assert stored[0].status is FindingStatus.OPEN
    outcomes = [
        a["outcome"] for a in store.audits_for_stack(REF.account, REF.region, REF.stack_name)
    ]
    assert outcomes == ["ok", "stale"]  # newest first by deployment time


def test_finding_write_never_overwrites_a_newer_audits_item(
    store: FindingsStore, table: Any
) -> None:
    f = finding("dynamodb-pitr-disabled", "Orders")
    store.record_audit(REF, fset(f), T1)
    # A newer audit wrote this item while the older one (already past its claim) was running.
    table.update_item(
        Key={
            "pk": stack_pk(REF.account, REF.region, REF.stack_name),
            "sk": f"FINDING#{f.finding_id}",
        },
        UpdateExpression="SET audit_time = :t, message = :m",
        ExpressionAttributeValues={":t": "2026-11-23T00:00:00.000000Z", ":m": "newer"},
    )
    changes = store.record_audit(REF, fset(replace(f, message="older")), T2)
    assert changes.stale and not changes.still_open
    (stored,) = store.findings_for_stack(REF.account, REF.region, REF.stack_name)
    assert stored.message == "newer"


def test_same_deployment_can_be_audited_again(store: FindingsStore) -> None:
    f = finding("dynamodb-pitr-disabled", "Orders")
    store.record_audit(REF, fset(f), T1)
    again = store.record_audit(REF, fset(), T1)
    assert not again.stale and ids(again.resolved) == {"dynamodb-pitr-disabled:Orders"}


def test_unchecked_findings_are_never_resolved(store: FindingsStore) -> None:
    pitr = finding("dynamodb-pitr-disabled", "Orders")
    sns = finding("sns-topic-unencrypted", "Alerts")
    iam = finding("iam-wildcard-action", "Role")
    tmpl = finding("sns-topic-unencrypted", None)
    store.record_audit(REF, fset(pitr, sns, iam, tmpl), T1)
    changes = store.record_audit(
        REF,
        FindingSet(
            (),
            frozenset({("dynamodb-pitr-disabled", "Orders")}),  # UNKNOWN this time
            (
                Gap("Alerts", "sns:GetTopicAttributes", "AccessDenied"),
                Gap("stack", "cloudformation:GetTemplateSummary", "Throttling"),
            ),
            frozenset({"dynamodb-pitr-disabled", "sns-topic-unencrypted"}),  # iam rule not run
        ),
        T2,
    )
    assert not changes.resolved
    assert ids(changes.unchecked) == {
        "dynamodb-pitr-disabled:Orders",
        "sns-topic-unencrypted:Alerts",
        "iam-wildcard-action:Role",
        "sns-topic-unencrypted:None",
    }
    statuses = {f.status for f in store.findings_for_stack(REF.account, REF.region, REF.stack_name)}
    assert statuses == {FindingStatus.OPEN}


def test_stack_gap_does_not_freeze_resource_findings(store: FindingsStore) -> None:
    store.record_audit(REF, fset(finding("dynamodb-pitr-disabled", "Orders")), T1)
    changes = store.record_audit(REF, fset(gaps=(Gap("stack", "tags", "AccessDenied"),)), T2)
    assert ids(changes.resolved) == {"dynamodb-pitr-disabled:Orders"}


def test_delete_resolves_everything_and_is_order_safe(store: FindingsStore) -> None:
    store.record_audit(
        REF,
        fset(
            finding("dynamodb-pitr-disabled", "Orders"),
            finding("sns-topic-unencrypted", "Alerts", suppressed="ok"),
        ),
        T1,
    )
    deleted = replace(REF, status="DELETE_COMPLETE")
    changes = store.resolve_stack(deleted, T2)
    assert ids(changes.resolved) == {
        "dynamodb-pitr-disabled:Orders",
        "sns-topic-unencrypted:Alerts",
    }
    assert all(
        f.status is FindingStatus.RESOLVED
        for f in store.findings_for_stack(REF.account, REF.region, REF.stack_name)
    )
    assert (
        store.findings_for_stack(REF.account, REF.region, REF.stack_name, status=FindingStatus.OPEN)
        == []
    )
    # a late audit of the deployment before the delete changes nothing
    late = store.record_audit(REF, fset(finding("dynamodb-pitr-disabled", "Orders")), T1)
    assert late.stale
    assert store.open_findings(Severity.INFORMATIONAL) == []
    # a delete older than the last audit is stale too
    assert store.resolve_stack(deleted, T1).stale


def test_pending_alert_is_announced_again_on_retry(store: FindingsStore) -> None:
    f = finding("dynamodb-pitr-disabled", "Orders")
    event_ref = replace(REF, event_id="evt-1")
    first = store.record_audit(event_ref, fset(f), T1)
    assert ids(first.new) == {"dynamodb-pitr-disabled:Orders"}
    # publish failed, the event is retried: still news
    retry = store.record_audit(event_ref, fset(f), T1)
    assert ids(retry.new) == {"dynamodb-pitr-disabled:Orders"} and not retry.still_open
    store.mark_alerted(event_ref, retry, "msg-1")
    after = store.record_audit(event_ref, fset(f), T1)
    assert not after.new and ids(after.still_open) == {"dynamodb-pitr-disabled:Orders"}
    (audit,) = store.audits_for_stack(REF.account, REF.region, REF.stack_name)
    assert audit["audit_id"] == "evt-1"


def test_record_failure_keeps_a_trace_and_touches_nothing(store: FindingsStore) -> None:
    store.record_audit(REF, fset(finding("dynamodb-pitr-disabled", "Orders")), T1)
    store.record_failure(replace(REF, event_id="evt-9"), T2, "collect failed: Throttling")
    audits = store.audits_for_stack(REF.account, REF.region, REF.stack_name)
    assert audits[0]["outcome"] == "failed" and "Throttling" in audits[0]["reason"]
    state = store.stack_state(REF.account, REF.region, REF.stack_name)
    assert state is not None and state["last_audit_time"].startswith("2026-11-20")


def many(ref: StackRef, count: int, rule: str = "iam-wildcard-action") -> FindingSet:
    severities = list(Severity)
    return fset(*(finding(rule, f"R{i}", severities[i % 5], ref=ref) for i in range(count)))


def test_query_helpers_follow_pages(store: FindingsStore) -> None:
    other = replace(REF, stack_name="orders-dev")
    store.record_audit(REF, many(REF, 30), T1)
    store.record_audit(other, many(other, 20), T1)
    store.record_audit(other, many(other, 10), T2)  # resolves R10..R19 of orders-dev

    mine = store.findings_for_stack(REF.account, REF.region, REF.stack_name, page_size=7)
    assert len(mine) == 30
    resolved = store.findings_for_stack(
        other.account, other.region, other.stack_name, status=FindingStatus.RESOLVED, page_size=3
    )
    assert len(resolved) == 10

    high = store.open_findings(Severity.HIGH, page_size=4)
    # CRITICAL and HIGH: 12 of 30 in payments-prod, 4 of 10 still open in orders-dev
    assert len(high) == 16
    assert {f.severity for f in high} == {Severity.CRITICAL, Severity.HIGH}
    assert [f.severity.rank for f in high] == sorted(f.severity.rank for f in high)
    assert len(store.open_findings(Severity.INFORMATIONAL, page_size=9)) == 40

    by_rule = store.findings_by_rule("iam-wildcard-action", page_size=5)
    assert len(by_rule) == 50
    open_by_rule = store.findings_by_rule(
        "iam-wildcard-action", status=FindingStatus.OPEN, page_size=5
    )
    assert len(open_by_rule) == 40
    assert store.findings_by_rule("nothing-here") == []

    for t in ("2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z"):
        store.record_audit(REF, many(REF, 30), t)
    history = store.audits_for_stack(REF.account, REF.region, REF.stack_name, page_size=1)
    assert [a["audit_time"][:10] for a in history] == [
        "2026-11-25",
        "2026-11-24",
        "2026-11-23",
        "2026-11-20",
    ]
    assert (
        len(store.audits_for_stack(REF.account, REF.region, REF.stack_name, limit=2, page_size=1))
        == 2
    )


def test_items_carry_the_documented_keys(table: Any, store: FindingsStore) -> None:
    f = finding("dynamodb-pitr-disabled", "Orders", Severity.CRITICAL)
    store.record_audit(REF, fset(f), T1)
    item = table.get_item(
        Key={"pk": "STACK#123456789012#us-east-1#payments-prod", "sk": f"FINDING#{f.finding_id}"}
    )["Item"]
    tail = f"123456789012#us-east-1#payments-prod#{f.finding_id}"
    assert item["gsi1pk"] == "OPEN" and item["gsi1sk"] == f"0#{tail}"
    assert item["gsi2pk"] == "RULE#dynamodb-pitr-disabled" and item["gsi2sk"] == f"OPEN#{tail}"
    assert item["audit_time"] == "2026-11-20T09:00:00.000000Z"
    state = table.get_item(Key={"pk": "STACK#123456789012#us-east-1#payments-prod", "sk": "STATE"})[
        "Item"
    ]
    assert "gsi1pk" not in state


def test_huge_evidence_is_truncated_not_rejected(store: FindingsStore) -> None:
    big = replace(
        finding("iam-wildcard-action", "Role"),
        evidence=MappingProxyType({"policy": "x" * 500_000}),
    )
    store.record_audit(REF, fset(big), T1)
    (stored,) = store.findings_for_stack(REF.account, REF.region, REF.stack_name)
    assert stored.evidence["truncated"] is True

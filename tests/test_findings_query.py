"""Query planning and execution for `stack-auditor findings` / `history` against moto's
DynamoDB: every filter, the proof that only Queries run (botocore before-call events record
what the client really sends), pagination, deployment attribution and the TTL attributes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from findings_world import (
    ACCOUNT_A,
    ACCOUNT_B,
    BILLING,
    NOW,
    ORDERS,
    PAYMENTS,
    T1,
    T2,
    T3,
    audit,
    create_table,
    make_finding,
    record_calls,
    seed,
)
from moto import mock_aws
from stack_auditor.findings_query import (
    ALL_STATUSES,
    FindingsFilter,
    find_findings,
    plan_findings,
    stack_history,
)
from stack_auditor.model import FindingStatus, Severity
from stack_auditor.store import FindingsStore
from stack_auditor.store_schema import stack_pk

DAY = 86_400


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        yield create_table()


@pytest.fixture
def store(table: Any) -> FindingsStore:
    store = FindingsStore(table, retention_days=30, clock=lambda: NOW)
    seed(store)
    return store


def keys(rows: list[dict[str, Any]]) -> set[str]:
    return {f"{r['stack_name']}:{r['rule_id']}:{r['logical_id']}" for r in rows}


CASES: list[tuple[str, FindingsFilter, set[str]]] = [
    (
        "stack",
        FindingsFilter(stack="payments", account=ACCOUNT_A, region="us-east-1"),
        {
            "payments:iam-admin-access:AdminRole",
            "payments:queue-unencrypted:JobsQueue",
            "payments:log-retention:Logs",
        },
    ),
    (
        "stack+severity",
        FindingsFilter(
            stack="payments", account=ACCOUNT_A, region="us-east-1", min_severity=Severity.HIGH
        ),
        {"payments:iam-admin-access:AdminRole", "payments:queue-unencrypted:JobsQueue"},
    ),
    (
        "stack+resolved",
        FindingsFilter(
            stack="payments",
            account=ACCOUNT_A,
            region="us-east-1",
            statuses=(FindingStatus.RESOLVED,),
        ),
        {"payments:queue-unencrypted:DlqQueue"},
    ),
    (
        "stack+rule+all",
        FindingsFilter(
            stack="payments",
            account=ACCOUNT_A,
            region="us-east-1",
            rule="queue-unencrypted",
            statuses=ALL_STATUSES,
        ),
        {"payments:queue-unencrypted:JobsQueue", "payments:queue-unencrypted:DlqQueue"},
    ),
    (
        "severity",
        FindingsFilter(min_severity=Severity.HIGH),
        {
            "payments:iam-admin-access:AdminRole",
            "payments:queue-unencrypted:JobsQueue",
            "orders:queue-unencrypted:OrdersQueue",
            "billing:iam-admin-access:BillingRole",
            "billing:queue-unencrypted:InvoiceQueue",
        },
    ),
    (
        "severity+account",
        FindingsFilter(min_severity=Severity.HIGH, account=ACCOUNT_B),
        {"billing:iam-admin-access:BillingRole", "billing:queue-unencrypted:InvoiceQueue"},
    ),
    (
        "account+region",
        FindingsFilter(account=ACCOUNT_A, region="eu-west-1"),
        {"orders:queue-unencrypted:OrdersQueue", "orders:log-retention:Logs"},
    ),
    (
        "region only",
        FindingsFilter(region="eu-west-1", min_severity=Severity.HIGH),
        {"orders:queue-unencrypted:OrdersQueue"},
    ),
    (
        "suppressed",
        FindingsFilter(statuses=(FindingStatus.SUPPRESSED,)),
        {"payments:tags:Bucket"},
    ),
    (
        "rule",
        FindingsFilter(rule="iam-admin-access"),
        {"payments:iam-admin-access:AdminRole", "billing:iam-admin-access:BillingRole"},
    ),
    (
        "rule+account",
        FindingsFilter(rule="queue-unencrypted", account=ACCOUNT_A, statuses=ALL_STATUSES),
        {
            "payments:queue-unencrypted:JobsQueue",
            "payments:queue-unencrypted:DlqQueue",
            "orders:queue-unencrypted:OrdersQueue",
        },
    ),
    (
        "rule+severity+region",
        FindingsFilter(rule="log-retention", region="eu-west-1", min_severity=Severity.LOW),
        {"orders:log-retention:Logs"},
    ),
    (
        "since",
        FindingsFilter(since="2026-11-22T00:00:00.000000Z"),
        {"billing:iam-admin-access:BillingRole", "billing:queue-unencrypted:InvoiceQueue"},
    ),
]


@pytest.mark.parametrize(("flt", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_filter_answers_with_queries_only(
    table: Any, store: FindingsStore, flt: FindingsFilter, expected: set[str]
) -> None:
    recorder = record_calls(table)
    rows = find_findings(table, flt)
    assert keys(rows) == expected
    assert recorder.operations, "nothing was sent"
    assert set(recorder.operations) == {"Query"}  # never a Scan
    assert len(recorder.queries()) == len(plan_findings(flt))


def test_stack_filter_queries_the_stack_partition(table: Any, store: FindingsStore) -> None:
    recorder = record_calls(table)
    find_findings(table, FindingsFilter(stack="payments", account=ACCOUNT_A, region="us-east-1"))
    (query,) = recorder.queries()
    assert "IndexName" not in query
    assert query["KeyConditionExpression"] == "pk = :pk AND begins_with(sk, :prefix)"
    assert query["ExpressionAttributeValues"][":pk"] == {
        "S": stack_pk(ACCOUNT_A, "us-east-1", "payments")
    }
    assert "#status IN" in query["FilterExpression"]


def test_severity_uses_the_status_severity_index_range(table: Any, store: FindingsStore) -> None:
    recorder = record_calls(table)
    rows = find_findings(table, FindingsFilter(min_severity=Severity.HIGH))
    (query,) = recorder.queries()
    assert query["IndexName"] == "ByStatusSeverity"
    assert query["KeyConditionExpression"] == "gsi1pk = :status AND gsi1sk < :below"
    assert query["ExpressionAttributeValues"][":below"] == {"S": "2"}
    assert "FilterExpression" not in query
    assert [r["severity"] for r in rows][:2] == ["CRITICAL", "CRITICAL"]  # worst first


def test_account_narrows_the_sort_key_one_query_per_rank(table: Any, store: FindingsStore) -> None:
    recorder = record_calls(table)
    find_findings(table, FindingsFilter(min_severity=Severity.HIGH, account=ACCOUNT_B))
    prefixes = [q["ExpressionAttributeValues"][":prefix"]["S"] for q in recorder.queries()]
    assert prefixes == [f"0#{ACCOUNT_B}#", f"1#{ACCOUNT_B}#"]
    assert all("FilterExpression" not in q for q in recorder.queries())


def test_rule_uses_the_rule_index_with_the_status_prefix(table: Any, store: FindingsStore) -> None:
    recorder = record_calls(table)
    find_findings(table, FindingsFilter(rule="iam-admin-access", account=ACCOUNT_A))
    (query,) = recorder.queries()
    assert query["IndexName"] == "ByRule"
    assert query["ExpressionAttributeValues"][":rule"] == {"S": "RULE#iam-admin-access"}
    assert query["ExpressionAttributeValues"][":prefix"] == {"S": f"OPEN#{ACCOUNT_A}#"}


def test_since_is_a_filter_on_last_seen(table: Any, store: FindingsStore) -> None:
    (query,) = plan_findings(FindingsFilter(since="2026-11-22T00:00:00.000000Z"))
    assert query.filter == "#last_seen >= :f_last_seen"
    assert "last_seen >= " in query.describe()


def test_a_stack_query_needs_account_and_region() -> None:
    with pytest.raises(ValueError, match="account and region"):
        FindingsFilter(stack="payments")


def test_every_page_is_followed(table: Any) -> None:
    store = FindingsStore(table, clock=lambda: NOW)
    many = [
        make_finding(PAYMENTS, "queue-unencrypted", f"Queue{i:02}", Severity.HIGH)
        for i in range(25)
    ]
    audit(store, PAYMENTS, many, T1)
    for flt in (
        FindingsFilter(min_severity=Severity.HIGH),
        FindingsFilter(rule="queue-unencrypted"),
        FindingsFilter(stack="payments", account=ACCOUNT_A, region="us-east-1"),
    ):
        recorder = record_calls(table)
        rows = find_findings(table, flt, page_size=4)
        assert len(rows) == 25
        queries = recorder.queries()
        assert len(queries) == 7  # 25 items, 4 a page: 6 full pages and a last one
        assert all(q["Limit"] == 4 for q in queries)
        assert "ExclusiveStartKey" not in queries[0]
        assert all("ExclusiveStartKey" in q for q in queries[1:])
        table.meta.client.meta.events.unregister("before-call.dynamodb.*", recorder)


# ----------------------------------------------------------------------------- history


def test_history_attributes_each_finding_to_the_audit_that_introduced_or_resolved_it(
    table: Any, store: FindingsStore
) -> None:
    # a third audit of payments fixes the admin role
    audit(
        store,
        PAYMENTS,
        [
            make_finding(PAYMENTS, "queue-unencrypted", "JobsQueue", Severity.HIGH),
            make_finding(PAYMENTS, "log-retention", "Logs", Severity.LOW),
            make_finding(PAYMENTS, "tags", "Bucket", Severity.MEDIUM, suppressed=True),
        ],
        T3,
    )
    recorder = record_calls(table)
    history = stack_history(table, ACCOUNT_A, "us-east-1", "payments")
    assert set(recorder.operations) == {"Query"}
    assert [h["audit_time"] for h in history] == [
        "2026-11-22T09:00:00.000000Z",
        "2026-11-21T09:00:00.000000Z",
        "2026-11-20T09:00:00.000000Z",
    ]
    newest, middle, first = history
    assert newest["trigger"] == "event" and newest["stack_status"] == "UPDATE_COMPLETE"
    assert [(f["rule_id"], f["logical_id"]) for f in newest["resolved"]] == [
        ("iam-admin-access", "AdminRole")
    ]
    assert newest["counts"]["resolved"] == 1 and newest["counts"]["new"] == 0
    assert [f["logical_id"] for f in middle["resolved"]] == ["DlqQueue"]
    assert middle["introduced"] == []
    assert {f["logical_id"] for f in first["introduced"]} == {
        "AdminRole",
        "JobsQueue",
        "DlqQueue",
        "Logs",
        "Bucket",
    }
    assert first["counts"]["new"] == 4 and first["counts"]["suppressed"] == 1


def test_introduced_by_survives_later_audits_and_restarts_after_a_resolution(
    table: Any, store: FindingsStore
) -> None:
    dlq = make_finding(PAYMENTS, "queue-unencrypted", "DlqQueue", Severity.HIGH)
    audit(store, PAYMENTS, [dlq], T3)  # DlqQueue comes back, JobsQueue and AdminRole resolve
    (jobs,) = find_findings(
        table,
        FindingsFilter(
            stack="payments",
            account=ACCOUNT_A,
            region="us-east-1",
            rule="queue-unencrypted",
            statuses=(FindingStatus.RESOLVED,),
        ),
    )
    assert jobs["logical_id"] == "JobsQueue"
    assert jobs["introduced_by"]["audit_time"] == "2026-11-20T09:00:00.000000Z"  # kept from T1
    assert jobs["resolved_by"] == {
        "audit_id": f"payments-{T3}",
        "audit_time": "2026-11-22T09:00:00.000000Z",
        "trigger": "event",
        "stack_status": "UPDATE_COMPLETE",
    }
    (again,) = find_findings(
        table,
        FindingsFilter(
            stack="payments", account=ACCOUNT_A, region="us-east-1", rule="queue-unencrypted"
        ),
    )
    assert again["logical_id"] == "DlqQueue"
    assert again["introduced_by"]["audit_time"] == "2026-11-22T09:00:00.000000Z"
    assert "resolved_by" not in again


def test_deleting_a_stack_marks_its_findings_resolved_by_the_delete(
    table: Any, store: FindingsStore
) -> None:
    from dataclasses import replace

    deleted = replace(ORDERS, status="DELETE_COMPLETE", event_id="del")
    store.resolve_stack(deleted, T3, audit_id="del")
    history = stack_history(table, ACCOUNT_A, "eu-west-1", "orders")
    assert history[0]["stack_status"] == "DELETE_COMPLETE" and history[0]["outcome"] == "deleted"
    assert {f["logical_id"] for f in history[0]["resolved"]} == {"OrdersQueue", "Logs"}


# ----------------------------------------------------------------------------- TTL


def raw_items(table: Any, ref: Any) -> list[dict[str, Any]]:
    return table.query(
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": stack_pk(ref.account, ref.region, ref.stack_name)},
    )["Items"]


def test_only_resolved_findings_and_audit_records_expire(table: Any, store: FindingsStore) -> None:
    expiry = int(NOW) + 30 * DAY
    for item in raw_items(table, PAYMENTS):
        sk = item["sk"]
        if sk == "STATE":
            assert "expires_at" not in item
        elif sk.startswith("AUDIT#") or item["status"] == "RESOLVED":
            assert item["expires_at"] == expiry
        else:
            assert item["status"] in ("OPEN", "SUPPRESSED")
            assert "expires_at" not in item, item["logical_id"]


def test_a_reopened_finding_loses_its_expiry(table: Any, store: FindingsStore) -> None:
    dlq = make_finding(PAYMENTS, "queue-unencrypted", "DlqQueue", Severity.HIGH)
    before = {i["logical_id"]: i for i in raw_items(table, PAYMENTS) if "logical_id" in i}
    assert "expires_at" in before["DlqQueue"]
    audit(store, PAYMENTS, [dlq], T3)
    after = {i["logical_id"]: i for i in raw_items(table, PAYMENTS) if "logical_id" in i}
    assert after["DlqQueue"]["status"] == "OPEN" and "expires_at" not in after["DlqQueue"]
    assert after["AdminRole"]["status"] == "RESOLVED" and "expires_at" in after["AdminRole"]


def test_retention_none_keeps_everything(table: Any) -> None:
    store = FindingsStore(table, retention_days=None)
    audit(store, BILLING, [make_finding(BILLING, "iam-admin-access", "R", Severity.HIGH)], T1)
    audit(store, BILLING, [], T2)
    assert all("expires_at" not in item for item in raw_items(table, BILLING))


def test_retention_must_be_positive(table: Any) -> None:
    with pytest.raises(ValueError):
        FindingsStore(table, retention_days=0)

"""Shared setup of the findings-query tests: a moto findings table filled through the store,
and a recorder of the DynamoDB operations a client really sends (botocore's event system)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import boto3
from stack_auditor.findings import Finding, FindingSet, finding_id
from stack_auditor.model import FindingStatus, Severity, StackRef
from stack_auditor.store import FindingsStore
from stack_auditor.store_schema import ATTRIBUTE_DEFINITIONS, GLOBAL_SECONDARY_INDEXES, KEY_SCHEMA

ACCOUNT_A, ACCOUNT_B = "111111111111", "222222222222"
PAYMENTS = StackRef(
    "payments", ACCOUNT_A, "us-east-1", status="UPDATE_COMPLETE", trigger="event", event_id="e1"
)
ORDERS = StackRef(
    "orders", ACCOUNT_A, "eu-west-1", status="CREATE_COMPLETE", trigger="event", event_id="e2"
)
BILLING = StackRef(
    "billing", ACCOUNT_B, "us-east-1", status="UPDATE_COMPLETE", trigger="sweep", event_id="e3"
)
T1, T2, T3 = "2026-11-20T09:00:00Z", "2026-11-21T09:00:00Z", "2026-11-22T09:00:00Z"
NOW = 1_800_000_000.0  # the store's clock in these tests (epoch seconds)


def create_table(region: str = "us-east-1", name: str = "findings") -> Any:
    ddb: Any = boto3.resource("dynamodb", region_name=region)
    ddb.create_table(
        TableName=name,
        KeySchema=list(KEY_SCHEMA),
        AttributeDefinitions=list(ATTRIBUTE_DEFINITIONS),
        GlobalSecondaryIndexes=list(GLOBAL_SECONDARY_INDEXES),
        BillingMode="PAY_PER_REQUEST",
    )
    return ddb.Table(name)


def make_finding(
    ref: StackRef,
    rule: str,
    logical_id: str | None,
    severity: Severity,
    *,
    suppressed: bool = False,
) -> Finding:
    return Finding(
        finding_id=finding_id(ref, rule, logical_id, "Properties.X"),
        rule_id=rule,
        severity=severity,
        status=FindingStatus.SUPPRESSED if suppressed else FindingStatus.OPEN,
        logical_id=logical_id,
        physical_id=f"{logical_id}-phys" if logical_id else None,
        resource_type="AWS::SQS::Queue" if logical_id else None,
        message=f"{rule} on {logical_id or 'the template'}",
        remediation="Set Properties.X.",
        evidence=MappingProxyType({"source": "template"}),
        path="Properties.X",
        first_seen="",
        last_seen="",
        stack_name=ref.stack_name,
        account=ref.account,
        region=ref.region,
        title=f"{rule} compliant",
        suppression_reason="accepted" if suppressed else None,
    )


def audit(
    store: FindingsStore,
    ref: StackRef,
    findings: Iterable[Finding],
    when: str,
    *,
    audit_id: str | None = None,
) -> Any:
    found = tuple(findings)
    stamped = tuple(replace(f, first_seen=when, last_seen=when) for f in found)
    rules = frozenset(f.rule_id for f in found) | {"queue-unencrypted", "iam-admin-access"}
    return store.record_audit(
        ref,
        FindingSet(findings=stamped, rules_evaluated=rules),
        when,
        audit_id=audit_id or f"{ref.stack_name}-{when}",
    )


@dataclass
class CallRecorder:
    """Every DynamoDB operation the client sends, with its parameters."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        # before-call sees the serialised request: the JSON body is exactly what is sent
        body = params.get("body") or b"{}"
        self.calls.append((model.name, json.loads(body)))

    @property
    def operations(self) -> list[str]:
        return [name for name, _ in self.calls]

    def queries(self) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == "Query"]


def record_calls(table: Any) -> CallRecorder:
    recorder = CallRecorder()
    table.meta.client.meta.events.register("before-call.dynamodb.*", recorder)
    return recorder


def seed(store: FindingsStore) -> None:
    """Three stacks in two accounts and two regions; one finding resolved on payments."""
    audit(
        store,
        PAYMENTS,
        [
            make_finding(PAYMENTS, "iam-admin-access", "AdminRole", Severity.CRITICAL),
            make_finding(PAYMENTS, "queue-unencrypted", "JobsQueue", Severity.HIGH),
            make_finding(PAYMENTS, "queue-unencrypted", "DlqQueue", Severity.HIGH),
            make_finding(PAYMENTS, "log-retention", "Logs", Severity.LOW),
            make_finding(PAYMENTS, "tags", "Bucket", Severity.MEDIUM, suppressed=True),
        ],
        T1,
    )
    audit(
        store,
        PAYMENTS,
        [
            make_finding(PAYMENTS, "iam-admin-access", "AdminRole", Severity.CRITICAL),
            make_finding(PAYMENTS, "queue-unencrypted", "JobsQueue", Severity.HIGH),
            make_finding(PAYMENTS, "log-retention", "Logs", Severity.LOW),
            make_finding(PAYMENTS, "tags", "Bucket", Severity.MEDIUM, suppressed=True),
        ],
        T2,
    )  # DlqQueue fixed: RESOLVED
    audit(
        store,
        ORDERS,
        [
            make_finding(ORDERS, "queue-unencrypted", "OrdersQueue", Severity.HIGH),
            make_finding(ORDERS, "log-retention", "Logs", Severity.LOW),
        ],
        T2,
    )
    audit(
        store,
        BILLING,
        [
            make_finding(BILLING, "iam-admin-access", "BillingRole", Severity.CRITICAL),
            make_finding(BILLING, "queue-unencrypted", "InvoiceQueue", Severity.HIGH),
        ],
        T3,
    )

"""dynamodb-not-cmk-encrypted: a DynamoDB table encrypted only with the AWS owned key.

Every table is encrypted at rest; without ``SSESpecification.SSEEnabled: true`` the key is an
AWS owned key that the account cannot see, audit in CloudTrail or control with a key policy.
With ``SSEEnabled: true`` the table uses KMS (``SSEType`` defaults to, and only accepts,
``KMS``): the customer managed key named by ``KMSMasterKeyId``, or, when that is absent, the
AWS managed key ``alias/aws/dynamodb``. Per the catalog ("SSE not enabled with KMS") both
pass. ``AWS::DynamoDB::GlobalTable`` sets SSEEnabled/SSEType at table level (the key per
replica). Live: ``SSEDescription`` (``DescribeTable``; None for the AWS owned key) in
``resource.live`` is judged, and encryption changed outside CloudFormation is reported as
drift; a table that could not be described is UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._live_gap import live_gap, unread
from stack_auditor.rules._observed import NOT_READ, as_bool, judge, observe

META = RuleMeta(
    id="dynamodb-not-cmk-encrypted",
    title="DynamoDB tables are encrypted with a KMS key",
    severity=Severity.LOW,
    family="Data protection",
    subject_types=("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "With the AWS owned key the account has no key policy over the table's data and no "
        "CloudTrail record of its use; access cannot be revoked by disabling the key."
    ),
    remediation=(
        "Set SSESpecification: {SSEEnabled: true, SSEType: KMS, KMSMasterKeyId: !Ref TableKey} "
        "(a customer managed key; without KMSMasterKeyId the AWS managed key "
        "alias/aws/dynamodb is used)."
    ),
    seeds=("000 #6", "002 #4"),
    reference="https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/EncryptionAtRest.html",
)

_PATH = "Properties.SSESpecification.SSEEnabled"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for table in snapshot.of_type(*META.subject_types):
        yield _judge(snapshot, table)


def _uses_kms(spec: Any) -> bool | Unresolved:
    if isinstance(spec, Unresolved):
        return spec
    if not isinstance(spec, Mapping):
        return False
    enabled = as_bool(spec.get("SSEEnabled"))
    kind = spec.get("SSEType", "KMS")
    for value in (enabled, kind):
        if isinstance(value, Unresolved):
            return value
    return enabled is True and kind == "KMS"


def _live_uses_kms(table: Resource) -> Any:
    if table.live is None or "SSEDescription" not in table.live:
        return NOT_READ
    description = table.live["SSEDescription"] or {}
    return description.get("Status") in ("ENABLED", "UPDATING") and (
        description.get("SSEType") == "KMS"
    )


def _judge(snapshot: StackSnapshot, table: Resource) -> Verdict:
    live = _live_uses_kms(table)
    if live is NOT_READ and (gap := live_gap(snapshot, table, "dynamodb")):
        return unread(META, table, gap, _PATH, "table", "its encryption")
    seen = observe(_uses_kms(table.prop("SSESpecification")), live)
    return judge(
        META,
        table,
        seen,
        _PATH,
        (
            "is not enabled with KMS on the deployed table (live)"
            if seen.source == "live"
            else "is not true with SSEType KMS"
        )
        + ": the table is encrypted only with an AWS owned key, so "
        "there is no key policy over its data and no CloudTrail record of key use. Set "
        "SSESpecification: {SSEEnabled: true, SSEType: KMS, KMSMasterKeyId: <your key>}.",
    )


RULE = Rule(META, check)

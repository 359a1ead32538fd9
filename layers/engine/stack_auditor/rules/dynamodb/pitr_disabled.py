"""dynamodb-pitr-disabled: a DynamoDB table without point-in-time recovery.

Without PITR a bad write or delete cannot be undone: only on-demand backups, if anyone took
one, can restore the table. Enabled means
``PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled: true`` (the default is off).
``AWS::DynamoDB::GlobalTable`` sets it per replica
(``Replicas[].PointInTimeRecoverySpecification``): every replica must have it, since each
region's copy is restored on its own.
Live: ``ContinuousBackupsDescription`` (``DescribeContinuousBackups``) in ``resource.live``
is judged, and PITR turned off or on outside CloudFormation is reported as drift; a table
whose backups could not be read is UNKNOWN.
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
    id="dynamodb-pitr-disabled",
    title="DynamoDB tables have point-in-time recovery enabled",
    severity=Severity.HIGH,
    family="Data protection",
    subject_types=("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "Without point-in-time recovery an accidental delete, overwrite or faulty deployment "
        "cannot be rolled back: the data is lost unless an on-demand backup happens to exist."
    ),
    remediation=(
        "Set PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true} on the table "
        "(on every replica of a GlobalTable)."
    ),
    seeds=("002 #4",),
    reference="https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/PointInTimeRecovery.html",
)

_PATH = "Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled"
_REPLICA_PATH = "Properties.Replicas[*].PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for table in snapshot.of_type(*META.subject_types):
        if table.type == "AWS::DynamoDB::GlobalTable":
            yield _judge_global_table(table)
        else:
            yield _judge_table(snapshot, table)


def _live_enabled(table: Resource) -> Any:
    if table.live is None or "ContinuousBackupsDescription" not in table.live:
        return NOT_READ
    status = (
        (table.live["ContinuousBackupsDescription"] or {})
        .get("PointInTimeRecoveryDescription", {})
        .get("PointInTimeRecoveryStatus")
    )
    return status == "ENABLED"


def _enabled(spec: Any) -> bool | Unresolved:
    """PointInTimeRecoveryEnabled of a specification (absent: False)."""
    if isinstance(spec, Unresolved):
        return spec
    value = as_bool(spec.get("PointInTimeRecoveryEnabled")) if isinstance(spec, Mapping) else None
    return value if isinstance(value, Unresolved) else value is True


def _judge_table(snapshot: StackSnapshot, table: Resource) -> Verdict:
    written = _enabled(table.prop("PointInTimeRecoverySpecification"))
    live = _live_enabled(table)
    if live is NOT_READ and (gap := live_gap(snapshot, table, "dynamodb")):
        return unread(
            META, table, gap, _PATH, "table's backups", "whether point-in-time recovery is on"
        )
    seen = observe(written, live)
    return judge(
        META,
        table,
        seen,
        _PATH,
        ("is not enabled on the deployed table (live)" if seen.source == "live" else "is not true")
        + ": point-in-time recovery is off, so an accidental delete or overwrite "
        "cannot be restored. Set PointInTimeRecoverySpecification: "
        "{PointInTimeRecoveryEnabled: true}.",
    )


def _judge_global_table(table: Resource) -> Verdict:
    replicas = table.prop("Replicas")
    where = f"{table.logical_id} ({table.type})"
    if not isinstance(replicas, tuple):
        return META.unknown(
            table,
            f"{where} Properties.Replicas cannot be resolved ({replicas}).",
            path=_REPLICA_PATH,
            evidence={"source": "resolved"},
        )
    off: list[str] = []
    unresolved: list[str] = []
    for index, replica in enumerate(replicas):
        region = replica.get("Region") if isinstance(replica, Mapping) else None
        label = region if isinstance(region, str) else f"Replicas[{index}]"
        spec = (
            replica.get("PointInTimeRecoverySpecification")
            if isinstance(replica, Mapping)
            else replica
        )
        enabled = _enabled(spec)
        if isinstance(enabled, Unresolved):
            unresolved.append(label)
        elif enabled is not True:
            off.append(label)
    evidence = {"source": "resolved", "replicas_without_pitr": off, "unresolved": unresolved}
    if off:
        return META.failed(
            table,
            f"{where} replicas {', '.join(off)} have no PointInTimeRecoveryEnabled: true "
            f"({_REPLICA_PATH}): those copies cannot be restored to a point in time after an "
            "accidental delete or overwrite. Enable it on every replica.",
            path=_REPLICA_PATH,
            evidence=evidence,
        )
    if unresolved:
        return META.unknown(
            table,
            f"{where} point-in-time recovery of replicas {', '.join(unresolved)} cannot be "
            "resolved.",
            path=_REPLICA_PATH,
            evidence=evidence,
        )
    return META.passed(table, path=_REPLICA_PATH, evidence=evidence)


RULE = Rule(META, check)

"""dynamodb-provisioned-without-autoscaling: fixed provisioned capacity that cannot follow load.

A table bills PROVISIONED when ``BillingMode`` says so or is absent (the default, used with
``ProvisionedThroughput``); PAY_PER_REQUEST tables scale by themselves and are not applicable.
A provisioned ``AWS::DynamoDB::Table`` passes when an ``AWS::ApplicationAutoScaling::
ScalableTarget`` of the stack (ServiceNamespace dynamodb) has ResourceId ``table/<name>``, the
name resolved the same way as the table's (Ref, Sub, Join all resolve to the same string).
Index-only targets (``table/<name>/index/<index>``) leave the table's own capacity fixed.
``AWS::DynamoDB::GlobalTable`` scales inline: write capacity through
``WriteProvisionedThroughputSettings.WriteCapacityAutoScalingSettings``, and a replica that
pins ``ReadProvisionedThroughputSettings.ReadCapacityUnits`` has fixed read capacity.
Live: ``BillingModeSummary`` (``DescribeTable``) and, for a table billing PROVISIONED,
``ScalableTargets`` (``application-autoscaling:DescribeScalableTargets`` on ``table/<name>``)
in ``resource.live``: a target registered live counts, one the template declares but that is
no longer registered does not (drift). A failed target read makes a PASS UNKNOWN
(``live_reads``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Gap, Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._live_gap import live_gap
from stack_auditor.rules._observed import NOT_READ, Observed, observe
from stack_auditor.rules._snapshot_cache import per_snapshot

META = RuleMeta(
    id="dynamodb-provisioned-without-autoscaling",
    title="Provisioned DynamoDB tables scale their capacity automatically",
    severity=Severity.LOW,
    family="Data protection",
    subject_types=("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "Fixed capacity throttles requests when traffic exceeds it (failed or retried "
        "writes) and is paid for when idle."
    ),
    remediation=(
        "Use BillingMode: PAY_PER_REQUEST, or add an AWS::ApplicationAutoScaling::"
        "ScalableTarget (ServiceNamespace: dynamodb, ResourceId: !Sub 'table/${Table}', "
        "ScalableDimension: dynamodb:table:ReadCapacityUnits / WriteCapacityUnits) with a "
        "TargetTrackingScaling ScalingPolicy."
    ),
    seeds=("002 #4",),
    reference="https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/AutoScaling.html",
    # the targets are read from Application Auto Scaling, not from DynamoDB
    live_reads=("dynamodb", "application-autoscaling"),
)

_PATH = "Properties.BillingMode"


@dataclass(frozen=True, slots=True)
class _Targets:
    by_resource_id: Mapping[str, tuple[str, ...]]  # ResourceId -> target logical ids
    unresolved: tuple[str, ...]  # logical ids of dynamodb targets whose ResourceId is unknown


@per_snapshot
def _dynamodb_targets(snapshot: StackSnapshot) -> _Targets:
    ids: dict[str, list[str]] = {}
    unresolved: list[str] = []
    for target in snapshot.of_type("AWS::ApplicationAutoScaling::ScalableTarget"):
        namespace = target.prop("ServiceNamespace")
        if isinstance(namespace, str) and namespace != "dynamodb":
            continue
        resource_id = target.prop("ResourceId")
        if isinstance(resource_id, str) and not isinstance(namespace, Unresolved):
            ids.setdefault(resource_id, []).append(target.logical_id)
        else:
            unresolved.append(target.logical_id)
    return _Targets({rid: tuple(lids) for rid, lids in ids.items()}, tuple(unresolved))


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for table in snapshot.of_type(*META.subject_types):
        yield _judge(snapshot, table)


def _billing_mode(table: Resource) -> Any:
    mode = table.prop("BillingMode")
    template = "PROVISIONED" if mode is None else mode
    live: Any = NOT_READ
    if table.live is not None and "BillingModeSummary" in table.live:
        live = (table.live["BillingModeSummary"] or {}).get("BillingMode", "PROVISIONED")
    return observe(template, live)


def _judge(snapshot: StackSnapshot, table: Resource) -> Verdict:
    seen = _billing_mode(table)
    where = f"{table.logical_id} ({table.type})"
    if seen.source != "live" and (gap := live_gap(snapshot, table, "dynamodb")):
        return _unread(table, gap, "its billing mode")
    if isinstance(seen.value, Unresolved):
        return META.unknown(
            table,
            f"{where} {_PATH} cannot be resolved ({seen.value}).",
            path=_PATH,
            evidence=seen.evidence(),
        )
    if seen.value != "PROVISIONED":
        return META.not_applicable(table, f"billing mode {seen.value}")
    if table.type == "AWS::DynamoDB::GlobalTable":
        return _judge_global_table(table)
    name = table.attributes.get("Ref")
    targets = _dynamodb_targets(snapshot)
    evidence = seen.evidence(table_name=name if isinstance(name, str) else None)
    declared = targets.by_resource_id.get(f"table/{name}", ()) if isinstance(name, str) else ()
    if table.live is not None and "ScalableTargets" in table.live:
        return _judge_live_targets(table, seen, declared, evidence)
    if gap := live_gap(snapshot, table, "application-autoscaling"):
        return _unread(table, gap, "whether auto scaling targets are registered for it")
    if declared:
        return META.passed(table, path=_PATH, evidence=evidence)
    if targets.unresolved or not isinstance(name, str):
        return META.unknown(
            table,
            f"{where} bills PROVISIONED, and whether a scalable target covers it cannot be "
            f"resolved (targets {', '.join(targets.unresolved) or '-'}; table name {name}).",
            path=_PATH,
            evidence=evidence,
        )
    # a synthetic scan-time name means nothing to the reader: show the expression to write
    resource_id = f"!Sub table/${{{table.logical_id}}}" if table.synthetic_ids else f"table/{name}"
    return META.failed(
        table,
        f"{where} {_PATH} is PROVISIONED (explicitly or by default) and no "
        f"AWS::ApplicationAutoScaling::ScalableTarget has ResourceId {resource_id}: capacity "
        "stays fixed, so traffic above it is throttled and idle capacity is paid for. Use "
        "PAY_PER_REQUEST or add a scalable target with a target-tracking policy."
        + seen.drift_note(),
        path=_PATH,
        evidence=evidence,
    )


def _judge_live_targets(
    table: Resource, billing: Observed, declared: tuple[str, ...], evidence: dict[str, Any]
) -> Verdict:
    """A provisioned table whose registered targets were read (live Application Auto Scaling)."""
    registered = table.live["ScalableTargets"] if table.live is not None else ()
    dimensions = sorted(str(t.get("ScalableDimension")) for t in registered or ())
    autoscaling: dict[str, Any] = {"source": "live", "value": dimensions}
    if not dimensions and declared:
        autoscaling["template"] = list(declared)
    evidence["autoscaling"] = autoscaling
    if dimensions:
        return META.passed(table, path=_PATH, evidence=evidence)
    drift = ""
    if declared:
        drift = (
            f" The template declares scalable target {', '.join(declared)} for it, but no "
            "target is registered: it was deregistered outside CloudFormation (drift)."
        )
    return META.failed(
        table,
        f"{table.logical_id} ({table.type}) {_PATH} is PROVISIONED and no Application Auto "
        f"Scaling target is registered for table/{table.attributes.get('Ref')} (live "
        "DescribeScalableTargets): capacity stays fixed, so traffic above it is throttled and "
        "idle capacity is paid for. Use PAY_PER_REQUEST or add an AWS::ApplicationAutoScaling::"
        "ScalableTarget with a target-tracking policy." + billing.drift_note() + drift,
        path=_PATH,
        evidence=evidence,
    )


def _unread(table: Resource, gap: Gap, what: str) -> Verdict:
    return META.unknown(
        table,
        f"{table.logical_id} ({table.type}): the deployed state could not be read "
        f"({gap.what}: {gap.reason}); the template alone cannot show {what}.",
        path=_PATH,
        evidence={"source": "live", "gap": f"{gap.what}: {gap.reason}"},
    )


def _judge_global_table(table: Resource) -> Verdict:
    where = f"{table.logical_id} ({table.type})"
    write = table.prop("WriteProvisionedThroughputSettings", "WriteCapacityAutoScalingSettings")
    replicas = table.prop("Replicas")
    fixed_reads: list[str] = []
    for index, replica in enumerate(replicas if isinstance(replicas, tuple) else ()):
        if not isinstance(replica, Mapping):
            continue
        reads = replica.get("ReadProvisionedThroughputSettings")
        if isinstance(reads, Mapping) and "ReadCapacityAutoScalingSettings" not in reads:
            region = replica.get("Region")
            fixed_reads.append(region if isinstance(region, str) else f"Replicas[{index}]")
    evidence = {"source": "resolved", "fixed_read_replicas": fixed_reads}
    if write is not None and not fixed_reads:
        return META.passed(table, path=_PATH, evidence=evidence)
    problems = []
    if write is None:
        problems.append(
            "WriteProvisionedThroughputSettings has no WriteCapacityAutoScalingSettings"
        )
    if fixed_reads:
        problems.append(f"replicas {', '.join(fixed_reads)} pin ReadCapacityUnits")
    return META.failed(
        table,
        f"{where} bills PROVISIONED but {' and '.join(problems)}: that capacity stays fixed, "
        "so traffic above it is throttled. Use ReadCapacityAutoScalingSettings / "
        "WriteCapacityAutoScalingSettings, or BillingMode PAY_PER_REQUEST.",
        path=_PATH,
        evidence=evidence,
    )


RULE = Rule(META, check)

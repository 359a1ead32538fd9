"""DynamoDB live state: each table's description, its backups, and its auto scaling targets.

Per table (physical id = table name): ``DescribeTable`` fills ``live["SSEDescription"]`` and
``live["BillingModeSummary"]`` (each None when the API leaves it out: the AWS owned key, a
table that has always been PROVISIONED), and ``DescribeContinuousBackups`` fills
``live["ContinuousBackupsDescription"]``. Only tables whose live billing mode is PROVISIONED
get ``live["ScalableTargets"]`` (the Application Auto Scaling targets registered on the
table's own capacity): one ``DescribeScalableTargets`` call per 50 such tables, paginated,
instead of one per table. Index-only targets are not asked for: they leave the table's own
capacity fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from stack_auditor.collect.live import Collector, LiveContext, Task, batches, each
from stack_auditor.model import Resource

TABLE = "AWS::DynamoDB::Table"

DESCRIBE_TABLE = "dynamodb:DescribeTable"
DESCRIBE_BACKUPS = "dynamodb:DescribeContinuousBackups"
DESCRIBE_TARGETS = "application-autoscaling:DescribeScalableTargets"
_RESOURCE_IDS_PER_CALL = 50  # DescribeScalableTargets' ResourceIds limit


def _plan(context: LiveContext, tables: Sequence[Resource]) -> Iterable[Task]:
    dynamodb = context.client("dynamodb")

    def description(table: Resource) -> Mapping[str, Any]:
        # Shared by the table's own task and the auto scaling task, which needs the live
        # billing mode: one DescribeTable per table whichever asks first. A failure is kept
        # too, so the other asker does not repeat a call that cannot succeed.
        def fetch() -> Mapping[str, Any] | Exception:
            try:
                return dict(dynamodb.describe_table(TableName=table.physical_id)["Table"])
            except Exception as exc:
                return exc

        found = context.cached((DESCRIBE_TABLE, table.physical_id), fetch)
        if isinstance(found, Exception):
            raise found
        return found

    def read_table(table: Resource) -> None:
        found = description(table)
        context.put(
            table.logical_id,
            {
                "SSEDescription": found.get("SSEDescription"),
                "BillingModeSummary": found.get("BillingModeSummary"),
            },
        )

    def read_backups(table: Resource) -> None:
        response = dynamodb.describe_continuous_backups(TableName=table.physical_id)
        context.put(
            table.logical_id,
            {"ContinuousBackupsDescription": response.get("ContinuousBackupsDescription")},
        )

    yield from each(tables, DESCRIBE_TABLE, read_table)
    yield from each(tables, DESCRIBE_BACKUPS, read_backups)
    if tables:
        yield Task(
            tuple(t.logical_id for t in tables),
            DESCRIBE_TARGETS,
            lambda: _read_scalable_targets(context, tables, description),
        )


def _billing_mode(description: Mapping[str, Any]) -> str:
    # DescribeTable leaves BillingModeSummary out for a table that was always PROVISIONED
    summary = description.get("BillingModeSummary") or {}
    return str(summary.get("BillingMode", "PROVISIONED"))


def _read_scalable_targets(
    context: LiveContext,
    tables: Sequence[Resource],
    description: Callable[[Resource], Mapping[str, Any]],
) -> None:
    provisioned: dict[str, Resource] = {}
    for table in tables:
        try:
            found = description(table)
        except Exception:  # the table's own task records the gap for this failure
            continue
        if _billing_mode(found) == "PROVISIONED":
            provisioned[f"table/{table.physical_id}"] = table
    paginator = context.client("application-autoscaling").get_paginator("describe_scalable_targets")
    for batch in batches(list(provisioned), _RESOURCE_IDS_PER_CALL):
        registered: dict[str, list[dict[str, Any]]] = {resource_id: [] for resource_id in batch}
        try:
            pages = paginator.paginate(ServiceNamespace="dynamodb", ResourceIds=list(batch))
            for page in pages:
                for target in page.get("ScalableTargets", ()):
                    if target.get("ResourceId") in registered:
                        registered[target["ResourceId"]].append(_target(target))
        except Exception as exc:  # only this batch's tables miss their targets
            for resource_id in batch:
                context.gap(provisioned[resource_id].logical_id, DESCRIBE_TARGETS, exc)
            continue
        for resource_id, targets in registered.items():
            context.put(provisioned[resource_id].logical_id, {"ScalableTargets": targets})


def _target(target: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("ResourceId", "ScalableDimension", "MinCapacity", "MaxCapacity")
    return {key: target[key] for key in keep if key in target}


COLLECTOR = Collector(
    service="dynamodb",
    types=(TABLE,),
    actions=(DESCRIBE_TABLE, DESCRIBE_BACKUPS, DESCRIBE_TARGETS),
    plan=_plan,
    reads="SSEDescription, BillingModeSummary, ContinuousBackupsDescription, ScalableTargets",
)

"""lambda-log-retention-unset: a function's log group has no retention.

Lambda writes to ``LoggingConfig.LogGroup`` when set, else ``/aws/lambda/<function name>``,
and creates that group on first write with no retention: its logs never expire. The stack
sets a retention only through an ``AWS::Logs::LogGroup`` of that exact name (matched on the
resolved ``LogGroupName``, so ``!Sub /aws/lambda/${MyFunction}`` matches the function's
resolved or synthesised name) with ``RetentionInDays``, or CDK's ``Custom::LogRetention``
resource (``LogGroupName`` + ``RetentionInDays``). A function or group name that cannot be
resolved gives UNKNOWN. Whether the retention matches the audit policy is log-group-retention's
job; this rule only asks whether there is one.

Live side, for a group the stack does not declare: ``snapshot.extras["log_groups"]`` (name ->
``DescribeLogGroups`` entry, read by the logs collector) shows the group as deployed, created by
Lambda or by hand. A group that does not exist yet (None) FAILs: the function's first invocation
creates it with no retention, exactly the template-side finding, and it never expires. A
declared group is judged on its own live entry (``retention_of``). A group whose read failed
is UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._live_gap import live_gap
from stack_auditor.rules.lambda_._permissions import setting
from stack_auditor.rules.logs.log_group_retention import (
    LOG_GROUP,
    described,
    log_groups_by_name,
    retention_of,
)

META = RuleMeta(
    id="lambda-log-retention-unset",
    title="Every function's log group has a retention period",
    severity=Severity.MEDIUM,
    family="Observability",
    subject_types=("AWS::Lambda::Function",),
    sides=frozenset({Side.CROSS, Side.LIVE}),
    risk=(
        "Lambda creates the log group on first invocation with no retention: logs are kept "
        "(and billed) forever."
    ),
    remediation=(
        "Declare the function's log group with a retention, e.g. FunctionLogGroup: "
        "{Type: AWS::Logs::LogGroup, Properties: {LogGroupName: !Sub "
        "'/aws/lambda/${MyFunction}', RetentionInDays: 30}} (or point "
        "LoggingConfig.LogGroup at a group that has RetentionInDays)."
    ),
    seeds=("003 #3", "001 #5"),
    reference="https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html",
    live_reads=("logs",),  # the function's log group, not the function
)

_CUSTOM_LOG_RETENTION = "Custom::LogRetention"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for function in snapshot.of_type("AWS::Lambda::Function"):
        yield _judge(snapshot, function)


def _judge(snapshot: StackSnapshot, function: Resource) -> Verdict:
    where = f"{function.logical_id} (AWS::Lambda::Function)"
    group_name, path = function_log_group(function)
    if not isinstance(group_name, str):
        return META.unknown(
            function,
            f"{where}: the name of its log group is unknown ({group_name}).",
            path=path,
            evidence={"source": "resolved"},
        )
    evidence: dict[str, Any] = {"log_group": group_name}
    index = log_groups_by_name(snapshot)
    group = index.by_name.get(group_name) or snapshot.owner_of(group_name, LOG_GROUP)
    if group is not None:
        return _judge_group(snapshot, function, group, group_name, path, evidence)
    live_groups = snapshot.extras.get("log_groups")
    if isinstance(live_groups, Mapping) and group_name in live_groups:
        return _judge_live(function, group_name, live_groups[group_name], path, evidence)
    gap = live_gap(snapshot, function, "logs")
    if gap is not None:
        return META.unknown(
            function,
            f"{where}: its log group {group_name} could not be read ({gap.what}: "
            f"{gap.reason}); it may have been given a retention outside the stack.",
            path=path,
            evidence={**evidence, "source": "live", "gap": f"{gap.what}: {gap.reason}"},
        )
    evidence["source"] = "resolved"
    if _custom_log_retention_sets(snapshot, group_name):
        return META.passed(
            function,
            f"{where}: {_CUSTOM_LOG_RETENTION} sets the retention of {group_name}.",
            path=path,
            evidence=evidence,
        )
    if index.unresolved:
        reasons = "; ".join(f"{lid}: {why}" for lid, why in index.unresolved)
        return META.unknown(
            function,
            f"{where}: no log group of the stack is named {group_name}, but some log group "
            f"names cannot be resolved ({reasons}).",
            path=path,
            evidence=evidence,
        )
    return META.failed(
        function,
        f"{where}: the stack declares no {LOG_GROUP} named {group_name} with RetentionInDays, "
        "so Lambda creates it on first invocation with no retention and its logs never expire.",
        path=path,
        evidence=evidence,
    )


def _judge_live(
    function: Resource,
    group_name: str,
    entry: Mapping[str, Any] | None,
    path: str,
    evidence: dict[str, Any],
) -> Verdict:
    """The verdict on a group the stack does not declare, from its live description."""
    where = f"{function.logical_id} (AWS::Lambda::Function)"
    evidence.update(source="live", exists=entry is not None)
    if entry is None:
        return META.failed(
            function,
            f"{where}: its log group {group_name} does not exist yet (live) and the stack "
            "declares none, so Lambda creates it on the first invocation with no retention "
            "and its logs never expire.",
            path=path,
            evidence=evidence,
        )
    days = entry.get("retentionInDays")
    evidence["days"] = days
    if days:
        return META.passed(
            function,
            f"{where}: its log group {group_name} keeps logs {days} days (live; the group is "
            "not declared in the stack).",
            path=path,
            evidence=evidence,
        )
    return META.failed(
        function,
        f"{where}: its log group {group_name} exists with no retention (live) and the stack "
        "does not declare it: its logs never expire.",
        path=path,
        evidence=evidence,
    )


def function_log_group(function: Resource) -> tuple[Any, str]:
    """(name of the group the function writes to, or why it is unknown; the property path)."""
    group = setting(function, "LoggingConfig", "LogGroup")
    if group is not None:
        return group, "Properties.LoggingConfig.LogGroup"
    name = setting(function, "FunctionName") or function.attributes.get("Ref")
    if isinstance(name, str):
        return f"/aws/lambda/{name}", "Properties.FunctionName"
    return name if name is not None else "no function name", "Properties.FunctionName"


def _judge_group(
    snapshot: StackSnapshot,
    function: Resource,
    group: Resource,
    group_name: str,
    path: str,
    evidence: dict[str, Any],
) -> Verdict:
    where = f"{function.logical_id} (AWS::Lambda::Function)"
    retention = retention_of(group)
    evidence.update(log_group_resource=group.logical_id, source=retention.source)
    gap = None if described(group) else live_gap(snapshot, group, "logs")
    if gap is not None:
        return META.unknown(
            function,
            f"{where}: its log group {group.logical_id} could not be read ({gap.what}: "
            f"{gap.reason}).",
            path=path,
            evidence={**evidence, "gap": f"{gap.what}: {gap.reason}"},
        )
    if isinstance(retention.days, Unresolved):
        return META.unknown(
            function,
            f"{where}: the RetentionInDays of its log group {group.logical_id} cannot be "
            f"resolved ({retention.days}).",
            path=path,
            evidence=evidence,
        )
    if retention.days is None:
        deployed = " (live)" if retention.source == "live" else ""
        return META.failed(
            function,
            f"{where}: its log group {group.logical_id} ({group_name}) has no "
            f"RetentionInDays{deployed}, so its logs never expire.",
            path=path,
            evidence=evidence,
        )
    evidence["days"] = retention.days
    return META.passed(
        function,
        f"{where}: its log group {group.logical_id} keeps logs {retention.days} days.",
        path=path,
        evidence=evidence,
    )


def _custom_log_retention_sets(snapshot: StackSnapshot, group_name: str) -> bool:
    return any(
        res.prop("LogGroupName") == group_name and res.prop("RetentionInDays") is not None
        for res in snapshot.of_type(_CUSTOM_LOG_RETENTION)
    )


RULE = Rule(META, check)

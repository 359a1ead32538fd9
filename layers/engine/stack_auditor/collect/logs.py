"""CloudWatch Logs live state: the stack's log groups and the groups its functions write to.

Each ``AWS::Logs::LogGroup`` of the stack (physical id = group name) gets its
``DescribeLogGroups`` entry (``retentionInDays``, ``kmsKeyId``, ...) as ``live``; a group that
no longer exists is a NotFound gap. Each function's group (``LoggingConfig.LogGroup``, else
``/aws/lambda/<function name>``) that the stack does not declare is read into
``snapshot.extras["log_groups"]`` (name -> entry, or None when it does not exist yet: Lambda
creates it on first invocation), for lambda-log-retention-unset.

One call per group: ``DescribeLogGroups`` with the name as ``logGroupNamePrefix``. Its results
are ASCII-sorted by name, so the exact name, when it exists, is the first group of the first
page. The API's ``logGroupIdentifiers`` (50 names a call) would batch these, but moto ignores
that filter (it returns every group of the account), so the batching could not be tested
against anything faithful.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from stack_auditor.collect.live import Collector, LiveContext, Task
from stack_auditor.model import Resource, StackSnapshot
from stack_auditor.rules.lambda_.log_retention_unset import function_log_group
from stack_auditor.rules.logs.log_group_retention import LOG_GROUP, log_groups_by_name

FUNCTION = "AWS::Lambda::Function"
ACTION = "logs:DescribeLogGroups"


def describe_log_group(client: Any, name: str) -> Mapping[str, Any] | None:
    """The group's ``DescribeLogGroups`` entry, or None when no group has that exact name."""
    response = client.describe_log_groups(logGroupNamePrefix=name)
    for entry in response.get("logGroups") or ():
        if entry.get("logGroupName") == name:
            return dict(entry)
    return None


def _plan(context: LiveContext, resources: Sequence[Resource]) -> Iterable[Task]:
    client = context.client("logs")
    for group in resources:
        if group.type == LOG_GROUP and group.physical_id:
            yield Task((group.logical_id,), ACTION, _group_reader(context, client, group))
    if context.snapshot is None:
        return
    for name, functions in _undeclared_function_groups(context.snapshot, resources).items():
        yield Task(functions, ACTION, _extra_reader(context, client, name))


def _group_reader(context: LiveContext, client: Any, group: Resource) -> Callable[[], None]:
    name = str(group.physical_id)

    def read() -> None:
        entry = describe_log_group(client, name)
        if entry is None:
            context.gap(group.logical_id, ACTION, "NotFound", f"log group {name} does not exist")
        else:
            context.put(group.logical_id, entry)

    return read


def _extra_reader(context: LiveContext, client: Any, name: str) -> Callable[[], None]:
    def read() -> None:
        context.merge_extra("log_groups", {name: describe_log_group(client, name)})

    return read


def _undeclared_function_groups(
    snapshot: StackSnapshot, resources: Sequence[Resource]
) -> dict[str, tuple[str, ...]]:
    """Group name -> the functions writing to it, for groups no LogGroup of the stack declares
    (those are read as stack resources above)."""
    declared = log_groups_by_name(snapshot).by_name
    writers: dict[str, list[str]] = {}
    for function in resources:
        if function.type != FUNCTION:
            continue
        name, _path = function_log_group(function)
        if not isinstance(name, str) or name in declared or snapshot.owner_of(name, LOG_GROUP):
            continue  # an unresolved name cannot be asked for; the rule says UNKNOWN
        writers.setdefault(name, []).append(function.logical_id)
    return {name: tuple(functions) for name, functions in writers.items()}


COLLECTOR = Collector(
    service="logs",
    types=(LOG_GROUP, FUNCTION),
    actions=(ACTION,),
    plan=_plan,
    reads="Log group description (retention, KMS key); functions' undeclared log groups",
)

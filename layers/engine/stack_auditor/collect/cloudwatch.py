"""CloudWatch live state: the stack's alarms, and which alarms watch each function's Errors.

Alarms (``AWS::CloudWatch::Alarm`` / ``CompositeAlarm``, physical id = alarm name) are read by
``DescribeAlarms`` with up to 100 names a call; each found alarm's description (``AlarmActions``,
``ActionsEnabled``, its metric, ...) becomes its ``live``, and a name not returned is a
NotFound gap (the alarm was deleted outside CloudFormation).

For lambda-no-error-alarm, a function gets ``live["ErrorAlarms"]`` (names of the alarms on its
``AWS/Lambda`` ``Errors`` metric, from ``DescribeAlarmsForMetric``) only when the stack's own
alarms cannot answer: when no alarm of the stack watches its Errors, or when every one that
does turned out deleted. A function an existing stack alarm watches costs no call: the batched
``DescribeAlarms`` already proves that alarm is there. Functions backing custom resources are
not judged by the rule, so not read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from stack_auditor.collect.live import Collector, LiveContext, Task, batches
from stack_auditor.model import Resource, StackSnapshot
from stack_auditor.rules._alarms import error_alarms
from stack_auditor.rules.lambda_.no_error_alarm import custom_resource_providers

ALARM = "AWS::CloudWatch::Alarm"
COMPOSITE_ALARM = "AWS::CloudWatch::CompositeAlarm"
FUNCTION = "AWS::Lambda::Function"
DESCRIBE_ALARMS = "cloudwatch:DescribeAlarms"
ALARMS_FOR_METRIC = "cloudwatch:DescribeAlarmsForMetric"
BATCH = 100  # DescribeAlarms: at most 100 AlarmNames (and MaxRecords) per call


def _plan(context: LiveContext, resources: Sequence[Resource]) -> Iterable[Task]:
    client = context.client("cloudwatch")
    alarms = [r for r in resources if r.type in (ALARM, COMPOSITE_ALARM)]
    functions = [r for r in resources if r.type == FUNCTION]
    watched, unwatched = _split_functions(context.snapshot, functions)
    read_errors = _error_alarm_reader(context, client)
    pending = _PendingCoverage({f.logical_id: f for f in functions}, watched)
    for batch in batches(alarms, BATCH):
        run = _batch_reader(context, client, tuple(batch), pending, read_errors)
        yield Task(tuple(a.logical_id for a in batch), DESCRIBE_ALARMS, run)
    for function in unwatched:
        yield Task((function.logical_id,), ALARMS_FOR_METRIC, _bind(read_errors, function))


def _split_functions(
    snapshot: StackSnapshot | None, functions: Sequence[Resource]
) -> tuple[dict[str, frozenset[str]], list[Resource]]:
    """(function logical id -> names of the stack alarms on its Errors, to be confirmed
    live; the functions no stack alarm watches, to ask CloudWatch about)."""
    if snapshot is None:
        return {}, list(functions)
    index = error_alarms(snapshot)
    providers = custom_resource_providers(snapshot)
    watched: dict[str, frozenset[str]] = {}
    unwatched: list[Resource] = []
    for function in functions:
        if function.logical_id in providers:
            continue  # NOT_APPLICABLE for the rule
        covering = index.by_function.get(function.logical_id) or index.account_wide
        if not covering:
            unwatched.append(function)
            continue
        names = [snapshot.resources[lid].physical_id for lid in covering]
        if all(names):
            watched[function.logical_id] = frozenset(str(name) for name in names)
        # else: an alarm the stack lists without a physical id cannot be read; the rule
        # judges the template's alarm, so asking about the function would change nothing
    return watched, unwatched


class _PendingCoverage:
    """Which functions still wait to learn whether one of their stack alarms exists.

    Alarm batches run concurrently; the batch that settles a function's last alarm as deleted
    reads that function's Errors alarms, so a hand-deleted stack alarm is looked past once."""

    def __init__(
        self, functions: Mapping[str, Resource], watched: Mapping[str, frozenset[str]]
    ) -> None:
        self._functions = functions
        self._waiting = {logical_id: set(names) for logical_id, names in watched.items()}
        self._lock = threading.Lock()

    def settle(self, found: Iterable[str], missing: Iterable[str]) -> list[Resource]:
        """Record a batch's answer; the functions whose every stack alarm is now known gone."""
        found, missing = set(found), set(missing)
        uncovered: list[Resource] = []
        with self._lock:
            for logical_id, names in list(self._waiting.items()):
                if names & found:
                    del self._waiting[logical_id]  # an alarm of the stack still watches it
                    continue
                names -= missing
                if not names:
                    del self._waiting[logical_id]
                    uncovered.append(self._functions[logical_id])
        return uncovered


def _batch_reader(
    context: LiveContext,
    client: Any,
    batch: tuple[Resource, ...],
    pending: _PendingCoverage,
    read_errors: Callable[[Resource], None],
) -> Callable[[], None]:
    def read() -> None:
        found = _describe_alarms(client, [str(alarm.physical_id) for alarm in batch])
        missing = []
        for alarm in batch:
            name = str(alarm.physical_id)
            if name in found:
                context.put(alarm.logical_id, found[name])
            else:
                missing.append(name)
                context.gap(alarm.logical_id, DESCRIBE_ALARMS, "NotFound", f"no alarm {name}")
        for function in pending.settle(found, missing):
            try:
                read_errors(function)
            except Exception as exc:  # its own gap, not one on the alarms already read
                context.gap(function.logical_id, ALARMS_FOR_METRIC, exc)

    return read


def _describe_alarms(client: Any, names: list[str]) -> dict[str, Mapping[str, Any]]:
    """Alarm name -> description, metric and composite alarms alike."""
    found: dict[str, Mapping[str, Any]] = {}
    params: dict[str, Any] = {
        "AlarmNames": names,
        "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],  # metric alarms only, if left out
        "MaxRecords": BATCH,
    }
    while True:
        response = client.describe_alarms(**params)
        for entry in [*response.get("MetricAlarms", ()), *response.get("CompositeAlarms", ())]:
            found[entry["AlarmName"]] = entry
        token = response.get("NextToken")
        if not token:
            return found
        params["NextToken"] = token


def _error_alarm_reader(context: LiveContext, client: Any) -> Callable[[Resource], None]:
    def read(function: Resource) -> None:
        name = str(function.physical_id)
        response = client.describe_alarms_for_metric(
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=[{"Name": "FunctionName", "Value": name}],
        )
        alarms = sorted(
            {a["AlarmName"] for a in response.get("MetricAlarms", ()) if _on_function(a, name)}
        )
        context.put(function.logical_id, {"ErrorAlarms": alarms})

    return read


def _on_function(alarm: Mapping[str, Any], name: str) -> bool:
    # CloudWatch already filters on the dimensions; checked again so that an emulator that
    # ignores them (moto) cannot credit another function's alarm to this one
    return {"Name": "FunctionName", "Value": name} in (alarm.get("Dimensions") or ())


def _bind(read: Callable[[Resource], None], resource: Resource) -> Callable[[], None]:
    return lambda: read(resource)


COLLECTOR = Collector(
    service="cloudwatch",
    types=(ALARM, COMPOSITE_ALARM, FUNCTION),
    actions=(DESCRIBE_ALARMS, ALARMS_FOR_METRIC),
    plan=_plan,
    reads="Alarm description (actions, metric); alarms on each function's Errors metric",
)

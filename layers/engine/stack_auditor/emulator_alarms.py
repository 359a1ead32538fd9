"""The stack's CloudWatch alarms, which moto's CloudFormation does not create (``emulator_fixups``).

Emulator only. moto's CloudFormation has no model for ``AWS::CloudWatch::Alarm``: it warns,
creates nothing, and ListStackResources lists the resource with an empty logical id, type
and physical id. The audit then has no physical id for the alarm: the runner records a
NotFound gap on it ("the stack does not list this resource as deployed"), the CloudWatch
collector cannot read it, and lambda-no-error-alarm takes the function's alarm for deleted.

So each alarm is put with PutMetricAlarm from its resolved properties (CloudFormation's
property names are the API's), named as CloudFormation would (``AlarmName``, else
``<stack>-<logical id>-<12 random characters>``), and entered into moto's own record of the
stack under that physical id (``emulator_stack_record``: no API writes it; against a moto
server in another process the alarm is still put, but stays unlisted). The record deletes the
alarm when the stack is deleted, as CloudFormation would.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Mapping
from typing import Any

from stack_auditor.collect.clients import Clients
from stack_auditor.emulator_repairs import declared, flag
from stack_auditor.emulator_stack_record import ListedResource, list_resource
from stack_auditor.model import Resource, StackRef, StackSnapshot

ALARM = "AWS::CloudWatch::Alarm"

_PARAMETERS = (
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)
_INTEGERS = frozenset({"Period", "EvaluationPeriods", "DatapointsToAlarm"})


def repair_alarm(clients: Clients, snapshot: StackSnapshot, alarm: Resource) -> tuple[int, bool]:
    """Put the alarm when it is missing or differs; (API writes, whether moto's record of the
    stack got its physical id)."""
    request = alarm_request(alarm)
    if request is None:
        return 0, False
    name = str(alarm.physical_id or request.get("AlarmName") or _generated_name(snapshot, alarm))
    request["AlarmName"] = name
    cloudwatch = clients("cloudwatch")
    found = cloudwatch.describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm"])
    existing = next(iter(found.get("MetricAlarms") or ()), None)
    writes = 0
    if existing is None or _differs(request, existing):
        cloudwatch.put_metric_alarm(**request)
        writes = 1
    recorded = False
    if alarm.physical_id != name:
        listed = ListedResource(alarm.logical_id, name, ALARM, _delete_alarm(snapshot.ref, name))
        recorded = list_resource(snapshot.ref, listed)
    return writes, recorded


def alarm_request(alarm: Resource) -> dict[str, Any] | None:
    """PutMetricAlarm parameters from the resolved properties; None when one is unresolved."""
    request: dict[str, Any] = {}
    for key in ("AlarmName", *_PARAMETERS):
        if alarm.prop(key) is None:
            continue
        value = declared(alarm, key)
        if value is None:
            return None  # an unresolved property: the alarm cannot be put faithfully
        request[key] = _api_value(key, value)
    return request


def _api_value(key: str, value: Any) -> Any:
    if key == "AlarmName":
        return str(value)
    if key in _INTEGERS:
        return int(value)
    if key == "Threshold":
        return float(value)
    if key == "ActionsEnabled":
        return flag(value) is not False
    if key == "Metrics":
        return [_metric_query(query) for query in value]
    return value


def _metric_query(query: Mapping[str, Any]) -> dict[str, Any]:
    shaped = dict(query)
    if "ReturnData" in shaped:
        shaped["ReturnData"] = flag(shaped["ReturnData"]) is not False
    if "Period" in shaped:
        shaped["Period"] = int(shaped["Period"])
    stat = shaped.get("MetricStat")
    if isinstance(stat, Mapping) and "Period" in stat:
        shaped["MetricStat"] = {**stat, "Period": int(stat["Period"])}
    return shaped


def _differs(request: Mapping[str, Any], existing: Mapping[str, Any]) -> bool:
    return any(existing.get(key) != value for key, value in request.items())


def _generated_name(snapshot: StackSnapshot, alarm: Resource) -> str:
    alphabet = string.ascii_uppercase + string.digits
    suffix = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"{snapshot.ref.stack_name}-{alarm.logical_id}-{suffix}"


def _delete_alarm(ref: StackRef, name: str) -> Callable[[], None]:
    def delete() -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        cloudwatch_backends[ref.account][ref.region].delete_alarms([name])

    return delete

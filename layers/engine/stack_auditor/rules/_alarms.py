"""What the stack's CloudWatch alarms watch: each alarm's metrics, and whose Lambda Errors.

An alarm names its metric either directly (``Namespace``/``MetricName``/``Dimensions``) or as
metric math (``Metrics``: a list of queries, each a ``MetricStat`` or an ``Expression`` over
other queries' ids). A metric of a math alarm feeds the alarm when its query returns data
(``ReturnData`` not false) or an expression that does refers to its id, directly or through
other expressions (``METRICS()`` refers to all). So ``errors / invocations * 100`` over a
MetricStat of ``AWS/Lambda Errors`` watches that function's errors.

Which function an ``AWS/Lambda Errors`` metric belongs to comes from its ``FunctionName``
dimension, resolved (a ``Ref`` to a function of the stack resolves to its name) or literal,
traced back to the stack's function by name. An ``Errors`` metric without dimensions is the
Region-wide aggregate over every function of the account: an error of any function moves it,
so it counts as watching every function (the finding would otherwise ask for an alarm that
adds no signal the author chose not to split).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stack_auditor.model import Resource, StackSnapshot, Unresolved
from stack_auditor.rules._snapshot_cache import per_snapshot

ALARM_TYPE = "AWS::CloudWatch::Alarm"
_QUERY_ID = re.compile(r"\b[a-z][A-Za-z0-9_]*\b")

# (dimension name, value) pairs, values resolved (str) or Unresolved
Dimensions = tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class AlarmMetric:
    """One metric an alarm reads."""

    alarm: Resource
    path: str  # "Properties" or "Properties.Metrics[1].MetricStat.Metric"
    namespace: Any  # str or Unresolved
    name: Any  # str or Unresolved
    dimensions: Dimensions | Unresolved
    feeds_alarm: bool  # its data reaches the alarm's state


def alarm_metrics(alarm: Resource) -> tuple[AlarmMetric, ...]:
    """The metrics of one AWS::CloudWatch::Alarm, in template order."""
    queries = alarm.prop("Metrics")
    if queries is None:
        if alarm.prop("MetricName") is None:
            return ()
        return (
            AlarmMetric(
                alarm,
                "Properties",
                alarm.prop("Namespace"),
                alarm.prop("MetricName"),
                _dimensions(alarm.prop("Dimensions")),
                True,
            ),
        )
    if not isinstance(queries, tuple):
        return ()
    feeding = _feeding_query_ids(queries)
    found = []
    for index, query in enumerate(queries):
        metric = query.get("MetricStat", {}).get("Metric") if isinstance(query, Mapping) else None
        if not isinstance(metric, Mapping):
            continue
        found.append(
            AlarmMetric(
                alarm,
                f"Properties.Metrics[{index}].MetricStat.Metric",
                metric.get("Namespace"),
                metric.get("MetricName"),
                _dimensions(metric.get("Dimensions")),
                feeding is None or str(query.get("Id")) in feeding,
            )
        )
    return tuple(found)


def _dimensions(raw: Any) -> Dimensions | Unresolved:
    if raw is None:
        return ()
    if isinstance(raw, Unresolved):
        return raw
    pairs = []
    for item in raw if isinstance(raw, tuple) else ():
        if isinstance(item, Unresolved):
            return item
        if not isinstance(item, Mapping):
            continue
        name = item.get("Name")
        if isinstance(name, Unresolved):
            return name
        if isinstance(name, str):
            pairs.append((name, item.get("Value")))
    return tuple(pairs)


def _feeding_query_ids(queries: tuple[Any, ...]) -> frozenset[str] | None:
    """Ids of the queries whose data reaches the alarm; None when every query may."""
    by_id = {str(q.get("Id")): q for q in queries if isinstance(q, Mapping)}
    pending = [q for q in by_id.values() if q.get("ReturnData") not in (False, "false")]
    reached: set[str] = set()
    while pending:
        query = pending.pop()
        query_id = str(query.get("Id"))
        if query_id in reached:
            continue
        reached.add(query_id)
        expression = query.get("Expression")
        if expression is None:
            continue
        if not isinstance(expression, str) or "METRICS(" in expression.upper():
            return None  # unresolved, or refers to every query
        pending.extend(by_id[name] for name in _QUERY_ID.findall(expression) if name in by_id)
    return frozenset(reached)


@dataclass(frozen=True, slots=True)
class ErrorAlarms:
    """Alarms over ``AWS/Lambda Errors`` in the stack, by the function they watch."""

    by_function: Mapping[str, tuple[str, ...]]  # function logical id -> alarm logical ids
    account_wide: tuple[str, ...]  # alarms on the Errors aggregate over all functions
    uncertain: tuple[tuple[str, str], ...]  # (alarm logical id, why it may watch any function)


@per_snapshot
def error_alarms(snapshot: StackSnapshot) -> ErrorAlarms:
    by_function: dict[str, list[str]] = {}
    account_wide: list[str] = []
    uncertain: list[tuple[str, str]] = []
    for alarm in snapshot.of_type(ALARM_TYPE):
        for metric in alarm_metrics(alarm):
            if not metric.feeds_alarm:
                continue
            watched = _watched_function(snapshot, metric)
            if isinstance(watched, Unresolved):
                uncertain.append((alarm.logical_id, str(watched)))
            elif watched == "*":
                account_wide.append(alarm.logical_id)
            elif watched is not None:
                by_function.setdefault(watched, []).append(alarm.logical_id)
    return ErrorAlarms(
        {k: tuple(dict.fromkeys(v)) for k, v in by_function.items()},
        tuple(dict.fromkeys(account_wide)),
        tuple(uncertain),
    )


def _watched_function(snapshot: StackSnapshot, metric: AlarmMetric) -> str | Unresolved | None:
    """Logical id of the stack function whose Errors the metric is, "*" for all, None for none."""
    for part in (metric.namespace, metric.name):
        if isinstance(part, Unresolved):
            return part
    if metric.namespace != "AWS/Lambda" or metric.name != "Errors":
        return None
    if isinstance(metric.dimensions, Unresolved):
        return metric.dimensions
    if not metric.dimensions:
        return "*"
    values = [value for name, value in metric.dimensions if name == "FunctionName"]
    if not values:
        return None
    value = values[0]
    if isinstance(value, Unresolved):
        return value
    owner = snapshot.owner_of(value, "AWS::Lambda::Function")
    if owner is not None:
        return owner.logical_id
    return None

"""alarm-metric-missing-dimension: an alarm watches a dimension set its metric is never sent with.

CloudWatch does not aggregate across dimensions: DynamoDB publishes
``SuccessfulRequestLatency`` only per ``TableName`` + ``Operation``, so an alarm on it with
``TableName`` alone reads a metric that has no data and stays in INSUFFICIENT_DATA for ever
(and, with the default ``TreatMissingData: missing``, never fires). The dimension sets each
metric is published with are in data/metric_dimensions.yaml (transcribed from the services'
metric documentation); an alarm metric whose set of dimension names equals none of them
fails, naming what is missing (the closest published set) or what is extra. Each MetricStat
of a metric math alarm is checked. Namespaces and metrics not in the data get no verdict;
dimension values are not judged, only names.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._alarms import ALARM_TYPE, AlarmMetric, alarm_metrics

META = RuleMeta(
    id="alarm-metric-missing-dimension",
    title="Alarm metrics carry a dimension set their namespace publishes",
    severity=Severity.MEDIUM,
    family="Observability",
    subject_types=(ALARM_TYPE,),
    sides=frozenset({Side.RESOLVED}),
    risk=(
        "The alarm watches a metric that never receives data: it stays in INSUFFICIENT_DATA "
        "and never fires, whatever happens to the resource."
    ),
    remediation=(
        "Give the metric every dimension its namespace publishes it with, e.g. DynamoDB "
        "SuccessfulRequestLatency: Dimensions: [{Name: TableName, Value: !Ref Table}, "
        "{Name: Operation, Value: GetItem}] (one alarm per operation, or metric math summing "
        "the operations)."
    ),
    seeds=("001 #7",),
    reference="https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html",
)

DimensionSets = tuple[frozenset[str], ...]


@cache
def published_dimensions() -> dict[str, dict[str, DimensionSets]]:
    """Namespace -> metric name (or "*") -> the dimension name sets it is published with."""
    import yaml  # only when an alarm is audited

    text = resources.files("stack_auditor.data").joinpath("metric_dimensions.yaml").read_text()
    data = yaml.safe_load(text)
    return {
        namespace: {metric: tuple(frozenset(s) for s in sets) for metric, sets in metrics.items()}
        for namespace, metrics in data.items()
    }


def dimension_sets(namespace: str, metric: str) -> DimensionSets | None:
    metrics = published_dimensions().get(namespace)
    if metrics is None:
        return None
    return metrics.get(metric, metrics.get("*"))


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for alarm in snapshot.of_type(ALARM_TYPE):
        yield from _judge(alarm)


def _judge(alarm: Resource) -> Iterable[Verdict]:
    judged = False
    for metric in alarm_metrics(alarm):
        verdict = _judge_metric(alarm, metric)
        if verdict is not None:
            judged = True
            yield verdict
    if not judged:
        yield META.not_applicable(alarm, "no metric of a namespace with known dimensions")


def _judge_metric(alarm: Resource, metric: AlarmMetric) -> Verdict | None:
    where = f"{alarm.logical_id} ({ALARM_TYPE}) {metric.path}"
    path = f"{metric.path}.Dimensions"
    for part in (metric.namespace, metric.name, metric.dimensions):
        if isinstance(part, Unresolved):
            return META.unknown(alarm, f"{where} cannot be resolved ({part}).", path=path)
    if not isinstance(metric.namespace, str) or not isinstance(metric.name, str):
        return None
    sets = dimension_sets(metric.namespace, metric.name)
    if sets is None:
        return None
    assert not isinstance(metric.dimensions, Unresolved)
    given = frozenset(name for name, _ in metric.dimensions)
    evidence: dict[str, Any] = {
        "source": "resolved",
        "namespace": metric.namespace,
        "metric": metric.name,
        "dimensions": sorted(given),
        "published_with": [sorted(s) for s in sets],
    }
    if given in sets:
        return META.passed(alarm, path=path, evidence=evidence)
    shown = f"{metric.namespace} {metric.name}"
    supersets = [s for s in sets if given < s]
    if supersets:
        fewest = min(len(s) for s in supersets)
        closest = sorted(sorted(s - given) for s in supersets if len(s) == fewest)
        evidence["missing"] = closest[0] if len(closest) == 1 else closest
        problem = "lacks the dimension(s) " + " (or ".join(", ".join(m) for m in closest)
        problem += ")" * (len(closest) - 1)
    else:
        extra = sorted(given - frozenset().union(*sets))
        evidence["unexpected"] = extra
        problem = (
            f"has the dimension(s) {', '.join(extra)}, which it is never published with"
            if extra
            else f"has the dimension set {sorted(given)}, which it is never published with"
        )
    options = " or ".join(str(sorted(s)) for s in sets)
    return META.failed(
        alarm,
        f"{where}: {shown} {problem} (published only with {options}), so the alarm reads "
        "a metric with no data and stays in INSUFFICIENT_DATA.",
        path=path,
        evidence=evidence,
    )


RULE = Rule(META, check)

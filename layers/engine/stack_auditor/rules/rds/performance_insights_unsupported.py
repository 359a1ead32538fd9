"""rds-performance-insights-unsupported: Performance Insights is turned on for a DB instance
class (or engine) that does not support it, so the create or update fails with
InvalidParameterCombination (seed 004 #6).

Which classes each engine refuses is transcribed from the AWS documentation into
data/performance_insights.yaml (see its header): e.g. MySQL/MariaDB on db.t2/t3/t4g micro and
small, Aurora MySQL on every db.t2/db.t3 class; RDS for Db2 has no Performance Insights.

Traps: an Aurora instance inherits ``PerformanceInsightsEnabled`` from its DB cluster when it
does not set ``EnablePerformanceInsights`` itself, and its engine is the cluster's. A class or
engine given by an unresolved parameter is UNKNOWN (unless the class is refused by no engine).
A Multi-AZ DB cluster is judged on its ``DBClusterInstanceClass``; an Aurora cluster through its
instances.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules.rds._database import CLUSTER, INSTANCE, as_bool, cluster_of, where

META = RuleMeta(
    id="rds-performance-insights-unsupported",
    title="Performance Insights is only enabled on DB instance classes that support it",
    severity=Severity.HIGH,
    family="Data protection",
    subject_types=(INSTANCE, CLUSTER),
    sides=frozenset({Side.RESOLVED}),
    risk=(
        "RDS rejects the request (InvalidParameterCombination): the stack fails to create or "
        "update and rolls back."
    ),
    remediation=(
        "Use a class that supports Performance Insights (e.g. db.t3.medium or db.m6g.large for "
        "MySQL), or enable it only where it is supported: EnablePerformanceInsights: !If "
        "[SupportsPerformanceInsights, true, false]."
    ),
    seeds=("004 #6",),
    reference="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PerfInsights.Overview.Engines.html",
)


@cache
def engine_support() -> Mapping[str, Any]:
    """Engine -> {"unsupported_classes": [...], "supported": bool} from the data file."""
    text = resources.files("stack_auditor.data").joinpath("performance_insights.yaml").read_text()
    engines: Mapping[str, Any] = yaml.safe_load(text)["engines"]
    return engines


def refusal(engine: str, instance_class: str) -> str | None:
    """Why ``engine`` refuses Performance Insights on ``instance_class``; None when it allows it.

    ``engine`` must be a key of the data file.
    """
    support = engine_support()[engine]
    if support.get("supported", True) is False:
        return f"the engine {engine} has no Performance Insights"
    for pattern in support.get("unsupported_classes") or ():
        if fnmatch.fnmatch(instance_class, pattern):
            return f"{engine} does not support Performance Insights on {instance_class}"
    return None


def _refused_by_some_engine(instance_class: str) -> bool:
    return any(refusal(engine, instance_class) for engine in engine_support())


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for database in snapshot.of_type(INSTANCE, CLUSTER):
        yield _judge(snapshot, database)


def _judge(snapshot: StackSnapshot, database: Resource) -> Verdict:
    if database.type == INSTANCE:
        enabled_path, class_path = "EnablePerformanceInsights", "DBInstanceClass"
    else:
        enabled_path, class_path = "PerformanceInsightsEnabled", "DBClusterInstanceClass"
    enabled, engine, via = as_bool(database.prop(enabled_path)), database.prop("Engine"), ""
    if database.type == INSTANCE:
        cluster = cluster_of(snapshot, database)
        if isinstance(cluster, Resource):
            engine = engine if engine is not None else cluster.prop("Engine")
            if enabled is None:
                enabled = as_bool(cluster.prop("PerformanceInsightsEnabled"))
                via = f" (from its DB cluster {cluster.logical_id})"
    elif database.prop(class_path) is None:
        return META.not_applicable(database, "Aurora cluster: judged on its DB instances")
    path = f"Properties.{enabled_path}"
    if isinstance(enabled, Unresolved):
        return META.unknown(
            database, f"{where(database)} {path}{via} cannot be resolved ({enabled}).", path=path
        )
    if enabled is not True:
        return META.not_applicable(database, "Performance Insights is not enabled")
    instance_class = database.prop(class_path)
    if not isinstance(instance_class, str):
        return META.unknown(
            database,
            f"{where(database)} enables Performance Insights{via} but Properties.{class_path} "
            f"cannot be resolved ({instance_class}); cannot tell whether the class supports it.",
            path=path,
            evidence={"source": "resolved"},
        )
    instance_class = instance_class.lower()
    engine_key = engine.lower() if isinstance(engine, str) else None
    if engine_key is None or engine_key not in engine_support():
        if engine_key is not None or _refused_by_some_engine(instance_class):
            return META.unknown(
                database,
                f"{where(database)} enables Performance Insights{via} on {instance_class}, but "
                f"its engine ({engine}) is unknown to the support table; cannot judge.",
                path=path,
                evidence={"source": "resolved", "instance_class": instance_class},
            )
        return META.passed(database, f"no engine refuses {instance_class}", path=path)
    reason = refusal(engine_key, instance_class)
    evidence = {"source": "resolved", "engine": engine_key, "instance_class": instance_class}
    if reason is None:
        return META.passed(database, path=path, evidence=evidence)
    return META.failed(
        database,
        f"{where(database)} {path} is true{via} but {reason}: RDS rejects the request "
        "(InvalidParameterCombination) and the stack rolls back. Choose a supported class or "
        "disable Performance Insights for this class.",
        path=path,
        evidence=evidence,
    )


RULE = Rule(META, check)

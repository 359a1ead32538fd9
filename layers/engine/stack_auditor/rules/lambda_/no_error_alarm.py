"""lambda-no-error-alarm: no CloudWatch alarm watches a function's ``AWS/Lambda Errors``.

Failures of a function nobody alarms on are found by its users. An alarm counts when it
watches ``Errors`` with the function's ``FunctionName`` dimension (by ``Ref`` or by the literal
name), directly or as a metric feeding a math expression (an error rate such as
``errors / invocations * 100``); an ``Errors`` alarm without dimensions (all functions of the
Region) counts for every function (see ``_alarms``). SAM functions are judged on their expanded
``AWS::Lambda::Function``. An alarm whose namespace, metric or dimension cannot be resolved may
watch any function, so a function no other alarm covers is UNKNOWN.

Not applicable: a function that backs a custom resource of the stack (the ``ServiceToken`` of a
``Custom::*`` / ``AWS::CloudFormation::CustomResource``). It runs during stack operations, and
its failure already surfaces as a failed stack operation, which is the alert.

Live side: ``function.live["ErrorAlarms"]`` (alarm names from ``DescribeAlarmsForMetric`` on
the function's Errors, when collected) also sees alarms defined outside the stack.
"""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._alarms import error_alarms
from stack_auditor.rules._snapshot_cache import per_snapshot

META = RuleMeta(
    id="lambda-no-error-alarm",
    title="Every function has a CloudWatch alarm on its Errors metric",
    severity=Severity.MEDIUM,
    family="Observability",
    subject_types=("AWS::Lambda::Function",),
    sides=frozenset({Side.CROSS, Side.LIVE}),
    risk=(
        "Invocation errors (exceptions, timeouts, out-of-memory) go unnoticed until users or "
        "downstream systems report them."
    ),
    remediation=(
        "Add an AWS::CloudWatch::Alarm with Namespace: AWS/Lambda, MetricName: Errors, "
        "Dimensions: [{Name: FunctionName, Value: !Ref MyFunction}], Statistic: Sum, "
        "Period: 60, EvaluationPeriods: 1, Threshold: 1, "
        "ComparisonOperator: GreaterThanOrEqualToThreshold, AlarmActions: [!Ref AlertTopic] "
        "(or an error-rate metric math alarm over Errors and Invocations)."
    ),
    seeds=("003 #8", "001 #4", "000"),
    reference="https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html",
)

_PATH = "Metrics.AWS/Lambda.Errors"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    index = error_alarms(snapshot)
    providers = custom_resource_providers(snapshot)
    for function in snapshot.of_type("AWS::Lambda::Function"):
        where = f"{function.logical_id} (AWS::Lambda::Function)"
        if function.logical_id in providers:
            yield META.not_applicable(
                function,
                f"{where} backs custom resource {providers[function.logical_id]}: its "
                "failures fail the stack operation.",
            )
            continue
        live = function.live.get("ErrorAlarms") if function.live is not None else None
        own = index.by_function.get(function.logical_id, ())
        if live:
            yield META.passed(
                function,
                f"{where}: alarms {sorted(live)} watch its Errors metric.",
                path=_PATH,
                evidence={"source": "live", "alarms": sorted(live)},
            )
        elif own:
            yield META.passed(
                function,
                f"{where}: alarm(s) {', '.join(own)} watch its Errors metric.",
                path=_PATH,
                evidence={"source": "resolved", "alarms": list(own)},
            )
        elif index.account_wide:
            yield META.passed(
                function,
                f"{where}: alarm(s) {', '.join(index.account_wide)} watch the Errors metric of "
                "every function in the Region, this one included.",
                path=_PATH,
                evidence={"source": "resolved", "alarms": list(index.account_wide)},
            )
        elif index.uncertain:
            reasons = "; ".join(f"{alarm}: {why}" for alarm, why in index.uncertain)
            yield META.unknown(
                function,
                f"{where}: no alarm of the stack is known to watch its Errors metric, and "
                f"some alarms' metric cannot be resolved ({reasons}).",
                path=_PATH,
                evidence={"source": "resolved", "alarms": [a for a, _ in index.uncertain]},
            )
        else:
            yield META.failed(
                function,
                f"{where}: no CloudWatch alarm of the stack watches its AWS/Lambda Errors "
                "metric (FunctionName dimension) or an error rate over it, so failed "
                "invocations raise no alert.",
                path=_PATH,
                evidence={"source": "resolved", "alarms": []},
            )


@per_snapshot
def custom_resource_providers(snapshot: StackSnapshot) -> dict[str, str]:
    """Function logical id -> a custom resource whose ServiceToken is that function."""
    providers: dict[str, str] = {}
    for res in snapshot.resources.values():
        if res.type.startswith("Custom::") or res.type == "AWS::CloudFormation::CustomResource":
            owner = snapshot.owner_of(res.prop("ServiceToken"), "AWS::Lambda::Function")
            if owner is not None:
                providers.setdefault(owner.logical_id, res.logical_id)
    return providers


RULE = Rule(META, check)

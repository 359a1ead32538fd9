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

Live side: the stack's alarms must still exist (``DescribeAlarms``: an alarm deleted by hand
is a NotFound gap on it, and no longer counts), and ``function.live["ErrorAlarms"]`` (names
from ``DescribeAlarmsForMetric`` on the function's Errors, read when no existing stack alarm
covers it) also sees alarms made outside the stack. ``DescribeAlarmsForMetric`` lists only
alarms on the metric itself, not metric math over it: an error-rate alarm made outside the
stack is not seen. An alarm or a lookup that could not be read gives UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._alarms import ErrorAlarms, error_alarms
from stack_auditor.rules._live_gap import live_gap
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
    live_reads=("cloudwatch",),  # the alarms on the function's metric, not the function
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
        yield _judge(snapshot, function, index)


def _judge(snapshot: StackSnapshot, function: Resource, index: ErrorAlarms) -> Verdict:
    where = f"{function.logical_id} (AWS::Lambda::Function)"
    live = _live_error_alarms(function)
    if live:
        return META.passed(
            function,
            f"{where}: alarms {list(live)} watch its Errors metric (live).",
            path=_PATH,
            evidence={"source": "live", "alarms": list(live)},
        )
    own = index.by_function.get(function.logical_id, ())
    covering = own or index.account_wide
    states = {lid: _alarm_state(snapshot, lid) for lid in covering}
    standing = [lid for lid, state in states.items() if state in ("live", "resolved")]
    deleted = [lid for lid, state in states.items() if state == "deleted"]
    unread = [lid for lid, state in states.items() if state == "unread"]
    source = "live" if any(states[lid] == "live" for lid in standing) else "resolved"
    if standing:
        scope = "" if own else " of every function in the Region, this one included"
        return META.passed(
            function,
            f"{where}: alarm(s) {', '.join(standing)} watch the Errors metric{scope}.",
            path=_PATH,
            evidence={"source": source, "alarms": standing},
        )
    if unread:
        return META.unknown(
            function,
            f"{where}: its error alarm(s) {', '.join(unread)} could not be read live, so "
            "whether they still exist is unknown.",
            path=_PATH,
            evidence={"source": "live", "alarms": unread},
        )
    gap = live_gap(snapshot, function, "cloudwatch")
    if gap is not None:
        return META.unknown(
            function,
            f"{where}: the alarms on its Errors metric could not be read ({gap.what}: "
            f"{gap.reason}); an alarm outside the stack may watch it.",
            path=_PATH,
            evidence={"source": "live", "gap": f"{gap.what}: {gap.reason}"},
        )
    if index.uncertain:
        reasons = "; ".join(f"{alarm}: {why}" for alarm, why in index.uncertain)
        return META.unknown(
            function,
            f"{where}: no alarm of the stack is known to watch its Errors metric, and "
            f"some alarms' metric cannot be resolved ({reasons}).",
            path=_PATH,
            evidence={"source": "resolved", "alarms": [a for a, _ in index.uncertain]},
        )
    return _failed(function, live, deleted)


def _failed(function: Resource, live: tuple[str, ...] | None, deleted: list[str]) -> Verdict:
    where = f"{function.logical_id} (AWS::Lambda::Function)"
    if deleted:
        return META.failed(
            function,
            f"{where}: its error alarm(s) {', '.join(deleted)} of the stack no longer exist "
            "(deleted outside CloudFormation: drift) and no other alarm watches its "
            "AWS/Lambda Errors metric (live), so failed invocations raise no alert. "
            "Update the stack to recreate them.",
            path=_PATH,
            evidence={"source": "live", "alarms": [], "deleted": deleted},
        )
    if live is not None:
        return META.failed(
            function,
            f"{where}: no CloudWatch alarm, in the stack or outside it (live), watches its "
            "AWS/Lambda Errors metric (FunctionName dimension), so failed invocations raise "
            "no alert.",
            path=_PATH,
            evidence={"source": "live", "alarms": []},
        )
    return META.failed(
        function,
        f"{where}: no CloudWatch alarm of the stack watches its AWS/Lambda Errors "
        "metric (FunctionName dimension) or an error rate over it, so failed "
        "invocations raise no alert.",
        path=_PATH,
        evidence={"source": "resolved", "alarms": []},
    )


def _live_error_alarms(function: Resource) -> tuple[str, ...] | None:
    """Names of the alarms CloudWatch lists on the function's Errors; None when not read."""
    if function.live is None or "ErrorAlarms" not in function.live:
        return None
    return tuple(function.live["ErrorAlarms"] or ())


def _alarm_state(snapshot: StackSnapshot, logical_id: str) -> str:
    """ "live" (read), "deleted" (NotFound), "unread" (its read failed), or "resolved" (not
    read on this snapshot: the template's alarm is taken as deployed)."""
    alarm = snapshot.resources[logical_id]
    if alarm.live is not None and "AlarmName" in alarm.live:
        return "live"
    gap = live_gap(snapshot, alarm, "cloudwatch")
    if gap is None:
        return "resolved"
    return "deleted" if gap.reason == "NotFound" else "unread"


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

"""lambda-async-no-dlq: an asynchronously invoked function keeps no record of failed events.

Asynchronous invokers come from ``_graph.async_invokers``: SNS subscriptions, EventBridge
rules and Scheduler schedules, S3 notifications, CloudWatch Logs subscription filters, IoT
topic rules, an EventInvokeConfig, or a Lambda permission for one of those services (SAM
event sources are already expanded into these). A function only invoked synchronously (API
Gateway, an SQS/stream event source mapping) is not judged. Either a DeadLetterConfig
(SAM ``DeadLetterQueue`` generates it) or an EventInvokeConfig OnFailure destination, for any
qualifier, is enough; retry settings (MaximumRetryAttempts) are not a record of the failure.

Live side: the deployed DeadLetterConfig (GetFunctionConfiguration) and the deployed
EventInvokeConfigs of every qualifier (ListFunctionEventInvokeConfigs) are what is judged when
read: a destination added outside CloudFormation counts (drift noted), and one the template
sets but the function no longer has does not (the FAIL says it was removed: drift).
"""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict, thaw
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._graph import (
    PERMISSION_KIND,
    async_invokers,
    failure_destinations_removed_live,
    function_failure_destination,
)

META = RuleMeta(
    id="lambda-async-no-dlq",
    title="Asynchronously invoked functions keep failed events in a DLQ or OnFailure destination",
    severity=Severity.MEDIUM,
    family="Reliability",
    subject_types=("AWS::Lambda::Function",),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "Lambda retries an asynchronous event twice and then discards it: without a dead-letter "
        "queue or an on-failure destination the failed event is lost with no way to inspect or "
        "replay it."
    ),
    remediation=(
        "Give the function a DeadLetterConfig (SAM: `DeadLetterQueue: {Type: SQS, TargetArn: "
        "!GetAtt FailedEventsQueue.Arn}`) or an AWS::Lambda::EventInvokeConfig with "
        "`DestinationConfig: {OnFailure: {Destination: !GetAtt FailedEventsQueue.Arn}}`, and "
        "allow the execution role to send to it."
    ),
    seeds=("002 #3", "003 #2", "003 #5"),
    reference="https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html",
)

_PATH = "Properties.DeadLetterConfig.TargetArn"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    invokers_by_function = async_invokers(snapshot)
    for function in snapshot.of_type("AWS::Lambda::Function"):
        invokers = invokers_by_function.get(function.logical_id)
        if not invokers:
            yield META.not_applicable(function, "not invoked asynchronously by the stack")
            continue
        where = f"{function.logical_id} (AWS::Lambda::Function)"
        # name the invokers themselves; a permission is shown only when nothing else is known
        direct = [i for i in invokers if not i.kind.startswith(PERMISSION_KIND)]
        invoked_by = ", ".join(f"{i.source} ({i.kind})" for i in direct or invokers)
        destinations = function_failure_destination(snapshot, function)
        known = [d for d in destinations if not isinstance(d.target, Unresolved)]
        evidence = {
            "source": known[0].source if known else "resolved",
            "invoked_by": [{"source": i.source, "kind": i.kind} for i in invokers],
            "destinations": [
                {"referrer": d.referrer, "path": d.path, "target": thaw(d.target)}
                for d in destinations
            ],
        }
        if known:
            first = known[0]
            deployed = ", deployed" if first.source == "live" else ""
            yield META.passed(
                function,
                f"{where} is invoked asynchronously by {invoked_by}; failed events go to "
                f"{first.target} ({first.referrer} {first.path}{deployed}).{first.drift_note}",
                path=_PATH,
                evidence=evidence,
            )
        elif destinations:
            yield META.unknown(
                function,
                f"{where} is invoked asynchronously by {invoked_by}, but its failure destination "
                f"cannot be resolved ({destinations[0].target}).",
                path=_PATH,
                evidence=evidence,
            )
        else:
            removed = failure_destinations_removed_live(snapshot, function)
            if removed or _read_live(function):
                evidence["source"] = "live"
            has = "the deployed function has" if evidence["source"] == "live" else "it has"
            drift = ""
            if removed:
                evidence["template"] = [
                    {"referrer": d.referrer, "path": d.path, "target": d.target} for d in removed
                ]
                drift = (
                    " The template sets "
                    + ", ".join(f"{d.referrer} {d.path}" for d in removed)
                    + " but the deployed function has no such destination: it was removed "
                    "outside CloudFormation (drift)."
                )
            yield META.failed(
                function,
                f"{where} is invoked asynchronously by {invoked_by} but {has} no {_PATH} and "
                "no EventInvokeConfig DestinationConfig.OnFailure: an event that still fails after "
                f"Lambda's retries is discarded and cannot be inspected or replayed.{drift}",
                path=_PATH,
                evidence=evidence,
            )


def _read_live(function: Resource) -> bool:
    """True when the function's failure destinations were read live."""
    live = function.live or {}
    return "DeadLetterConfig" in live and "EventInvokeConfigs" in live


RULE = Rule(META, check)

"""lambda-dlq-permission-missing: the role cannot deliver to the DLQ / on-failure destination.

Targets: ``DeadLetterConfig.TargetArn`` of the function, the ``OnFailure`` destination of an
``AWS::Lambda::EventInvokeConfig`` for it, and the ``OnFailure`` destination of its event
source mappings (Lambda delivers all three with the execution role). SQS targets need
``sqs:SendMessage``, SNS targets ``sns:Publish``; other destination kinds are not judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._snapshot_cache import per_snapshot
from stack_auditor.rules.lambda_._permissions import judge_needs, setting

META = RuleMeta(
    id="lambda-dlq-permission-missing",
    title="Functions may deliver to their dead-letter queue or failure destination",
    severity=Severity.HIGH,
    family="IAM",
    subject_types=("AWS::Lambda::Function",),
    sides=frozenset({Side.CROSS}),
    risk=(
        "Failed events are lost instead of parked: Lambda cannot send them to the configured "
        "queue or topic."
    ),
    remediation=(
        "Grant sqs:SendMessage on the queue's ARN (or sns:Publish on the topic) to the "
        "execution role; SAM's DeadLetterQueue property adds it for you."
    ),
    seeds=("002 #3", "003 #5"),
    reference="https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html#invocation-dlq",
)

_ACTION_BY_SERVICE = {"sqs": "sqs:SendMessage", "sns": "sns:Publish"}


def _targets(snapshot: StackSnapshot, function: Resource) -> Iterator[tuple[str, Any]]:
    """(path, target ARN) of every failure destination of the function."""
    dlq = setting(function, "DeadLetterConfig", "TargetArn")
    if dlq is not None:
        yield "Properties.DeadLetterConfig.TargetArn", dlq
    names = {function.logical_id, *(v for v in function.attributes.values() if isinstance(v, str))}
    for other, target_name, named, destination in _failure_destinations(snapshot):
        if target_name not in names and named is not function:
            continue
        path = f"{other.logical_id}.Properties.DestinationConfig.OnFailure.Destination"
        yield path, destination


@per_snapshot
def _failure_destinations(
    snapshot: StackSnapshot,
) -> tuple[tuple[Resource, Any, Resource | None, Any], ...]:
    """(config, FunctionName, the function it names, OnFailure destination) of every invoke
    config and event source mapping with a destination: one pass per snapshot, not one per
    function (a 500-resource template has dozens of each)."""
    found = []
    for kind in ("AWS::Lambda::EventInvokeConfig", "AWS::Lambda::EventSourceMapping"):
        for other in snapshot.of_type(kind):
            destination = other.prop("DestinationConfig", "OnFailure", "Destination")
            if destination is None:
                continue
            target_name = other.prop("FunctionName")
            named = snapshot.owner_of(target_name, "AWS::Lambda::Function")
            found.append((other, target_name, named, destination))
    return tuple(found)


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for function in snapshot.of_type("AWS::Lambda::Function"):
        judged = False
        for path, target in _targets(snapshot, function):
            judged = True
            if isinstance(target, Unresolved) or not isinstance(target, str):
                yield META.unknown(
                    function,
                    f"{function.logical_id} {path} cannot be resolved ({target}).",
                    path=path,
                )
                continue
            service = target.split(":")[2] if target.count(":") >= 5 else ""
            action = _ACTION_BY_SERVICE.get(service)
            if action is None:
                yield META.not_applicable(function, f"{path} is not a queue or topic", path=path)
                continue
            yield judge_needs(
                META,
                snapshot,
                function,
                [(action, (target,))],
                need_all=True,
                path=path,
                purpose=f"delivering failed events to {target}",
            )
        if not judged:
            yield META.not_applicable(function, "no dead-letter queue or failure destination")


RULE = Rule(META, check)

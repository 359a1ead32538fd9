"""sqs-source-queue-no-redrive: a queue feeding a function has no dead-letter queue.

A queue feeds a function when an event source mapping of the stack reads it (SAM's ``SQS``
event source expands into one). Without a RedrivePolicy a message the function keeps failing
on (a poison message) is received again and again until the queue's retention expires,
costing invocations and blocking FIFO groups. Queues that feed no function are not judged.
Live: the queue's RedrivePolicy attribute (JSON text) is judged when collected, and a
difference from the template is reported as drift.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._graph import (
    QUEUE,
    SourceMapping,
    event_source_mappings,
    json_property,
    live_value,
)
from stack_auditor.rules._observed import NOT_READ, observe

META = RuleMeta(
    id="sqs-source-queue-no-redrive",
    title="Queues feeding a function send poison messages to a dead-letter queue",
    severity=Severity.LOW,
    family="Reliability",
    subject_types=("AWS::SQS::Queue",),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "A message the function cannot process is retried until it expires (4 days by "
        "default): wasted invocations, noisy errors, and the failure is finally lost."
    ),
    remediation=(
        "Add `RedrivePolicy: {deadLetterTargetArn: !GetAtt SourceDlq.Arn, maxReceiveCount: 5}` "
        "to the queue, with a dead-letter queue that keeps messages 14 days."
    ),
    seeds=("003 #2",),
    reference=("https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html"),
)

_PATH = "Properties.RedrivePolicy"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    feeds: dict[str, list[SourceMapping]] = {}
    for mapping in event_source_mappings(snapshot):
        if mapping.source is not None:
            feeds.setdefault(mapping.source, []).append(mapping)
    for queue in snapshot.of_type(QUEUE):
        mappings = feeds.get(queue.logical_id)
        if not mappings:
            yield META.not_applicable(queue, "does not feed a function of the stack")
            continue
        where = f"{queue.logical_id} (AWS::SQS::Queue) {_PATH}"
        live = live_value(queue, "RedrivePolicy")
        seen = observe(
            json_property(queue.prop("RedrivePolicy")),
            json_property(live) if live is not NOT_READ else NOT_READ,
        )
        policy = seen.value
        evidence = seen.evidence(event_source_mappings=[m.mapping for m in mappings])
        feeding = ", ".join(
            f"{m.function or 'a function outside the stack'} (through {m.mapping})"
            for m in mappings
        )
        if isinstance(policy, Unresolved):
            yield META.unknown(
                queue, f"{where} cannot be resolved ({policy}).", path=_PATH, evidence=evidence
            )
        elif policy is None:
            yield META.failed(
                queue,
                f"{where} is not set, yet the queue feeds {feeding}: a "
                "message the function keeps failing on is received again and again until the "
                f"queue's retention expires, and is then lost.{seen.drift_note()}",
                path=_PATH,
                evidence=evidence,
            )
        elif isinstance(policy, Mapping) and "deadLetterTargetArn" in policy:
            yield META.passed(
                queue,
                f"{where} sends poison messages to {policy['deadLetterTargetArn']}."
                f"{seen.drift_note()}",
                path=_PATH,
                evidence=evidence,
            )
        else:
            yield META.failed(
                queue,
                f"{where} has no deadLetterTargetArn, yet the queue feeds {feeding}: poison "
                f"messages are retried until they expire.{seen.drift_note()}",
                path=_PATH,
                evidence=evidence,
            )


RULE = Rule(META, check)

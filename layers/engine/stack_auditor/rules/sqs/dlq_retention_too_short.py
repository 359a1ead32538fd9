"""dlq-retention-too-short: a dead-letter queue drops failed messages before anyone looks.

A queue is a dead-letter target when anything in the stack sends failures to it
(``_graph.dead_letter_targets``): an SQS RedrivePolicy ``deadLetterTargetArn``, an SNS
subscription's RedrivePolicy, a function's DeadLetterConfig, an EventInvokeConfig or event
source mapping OnFailure destination, an EventBridge rule or Scheduler target DeadLetterConfig.
MessageRetentionPeriod defaults to 4 days (345600 s), so a DLQ that does not set it fails;
the maximum, 14 days (1209600 s), passes. Queues nothing dead-letters to are not judged.
"""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._graph import as_seconds, dead_letter_targets, live_value
from stack_auditor.rules._observed import NOT_READ, observe

META = RuleMeta(
    id="dlq-retention-too-short",
    title="Dead-letter queues keep messages for 14 days",
    severity=Severity.MEDIUM,
    family="Reliability",
    subject_types=("AWS::SQS::Queue",),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "Failed messages expire from the dead-letter queue before they are investigated or "
        "redriven: with the 4-day default a failure on Friday evening is gone by Tuesday. For a "
        "RedrivePolicy DLQ the expiry counts from the message's original enqueue time, so even "
        "less time is left."
    ),
    remediation=(
        "Set `MessageRetentionPeriod: 1209600` (14 days, the maximum) on the dead-letter queue."
    ),
    seeds=("003 #2",),
    reference=(
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
        "sqs-dead-letter-queues.html"
    ),
)

DEFAULT_RETENTION = 345600  # 4 days: SQS's default MessageRetentionPeriod
REQUIRED_RETENTION = 1209600  # 14 days: the maximum, which the catalog requires for a DLQ
_PATH = "Properties.MessageRetentionPeriod"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    targets = dead_letter_targets(snapshot)
    for queue in snapshot.of_type("AWS::SQS::Queue"):
        referrers = targets.get(queue.logical_id)
        if not referrers:
            yield META.not_applicable(queue, "not a dead-letter target of the stack")
            continue
        where = f"{queue.logical_id} (AWS::SQS::Queue) {_PATH}"
        used_by = ", ".join(f"{r.referrer} {r.via}" for r in referrers)
        live = live_value(queue, "MessageRetentionPeriod")
        seen = observe(
            as_seconds(queue.prop("MessageRetentionPeriod")),
            as_seconds(live) if live is not NOT_READ else NOT_READ,
        )
        retention = seen.value
        evidence = seen.evidence(
            dead_letter_for=[{"referrer": r.referrer, "via": r.via} for r in referrers]
        )
        if isinstance(retention, Unresolved):
            yield META.unknown(
                queue,
                f"{where} cannot be resolved ({retention}); {queue.logical_id} is the dead-letter "
                f"target of {used_by}.",
                path=_PATH,
                evidence=evidence,
            )
            continue
        defaulted = retention is None
        seconds = DEFAULT_RETENTION if defaulted else retention
        if not isinstance(seconds, int):
            yield META.unknown(
                queue,
                f"{where} is not a number of seconds; cannot judge the dead-letter queue's "
                "retention.",
                path=_PATH,
                evidence=evidence,
            )
        elif seconds < REQUIRED_RETENTION:
            days = seconds / 86400
            what = (
                "is not set, so SQS keeps messages 4 days (345600 s)"
                if defaulted
                else f"is {seconds} s ({days:g} day{'' if days == 1 else 's'})"
            )
            generated = (
                f" SAM generates this queue for a `DeadLetterConfig: {{Type: SQS}}` event of "
                f"{queue.source_logical_id}: set the event's DeadLetterConfig.Arn to a queue of "
                "your own with 14-day retention instead."
                if queue.source_logical_id and queue.source_logical_id != queue.logical_id
                else ""
            )
            yield META.failed(
                queue,
                f"{where} {what}, under the 14 days (1209600 s) a dead-letter queue needs; it "
                f"receives failures from {used_by}, which expire before they can be investigated "
                f"or redriven.{generated}{seen.drift_note()}",
                path=_PATH,
                evidence={**evidence, "effective_seconds": seconds, "defaulted": defaulted},
            )
        else:
            yield META.passed(
                queue,
                f"{where} is {seconds} s (14 days); dead-letter target of {used_by}."
                f"{seen.drift_note()}",
                path=_PATH,
                evidence=evidence,
            )


RULE = Rule(META, check)

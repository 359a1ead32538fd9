"""sqs-queue-unencrypted: an SQS queue with server-side encryption turned off.

Since 2022 SQS encrypts new queues with SQS-owned keys (SSE-SQS) unless told otherwise: a
queue with neither ``KmsMasterKeyId`` nor ``SqsManagedSseEnabled`` is encrypted (an AWS
default that already gives the property, so no finding). Only ``SqsManagedSseEnabled: false``
without a ``KmsMasterKeyId`` leaves it unencrypted.
Live: ``KmsMasterKeyId`` / ``SqsManagedSseEnabled`` attributes (``GetQueueAttributes``) in
``resource.live``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._observed import NOT_READ, as_bool, observe

META = RuleMeta(
    id="sqs-queue-unencrypted",
    title="SQS queues are encrypted at rest",
    severity=Severity.MEDIUM,
    family="Data protection",
    subject_types=("AWS::SQS::Queue",),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk="Messages waiting in the queue are stored unencrypted.",
    remediation=(
        "Remove SqsManagedSseEnabled: false (SSE-SQS is the default), or set "
        "KmsMasterKeyId: !Ref QueueKey for a customer managed key."
    ),
    seeds=("002 #4",),
    reference="https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html",
)

_PATH = "Properties.SqsManagedSseEnabled"


def _encrypted(kms_key: Any, managed: Any) -> bool | Unresolved:
    if isinstance(kms_key, Unresolved):
        return kms_key
    if kms_key:
        return True
    managed = as_bool(managed)
    if isinstance(managed, Unresolved):
        return managed
    return managed is not False  # absent: SSE-SQS by default


def _live_encrypted(queue: Resource) -> Any:
    if queue.live is None or "Attributes" not in queue.live:
        return NOT_READ
    attributes = queue.live["Attributes"] or {}
    return _encrypted(
        attributes.get("KmsMasterKeyId"), attributes.get("SqsManagedSseEnabled", "false")
    )


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for queue in snapshot.of_type("AWS::SQS::Queue"):
        written = _encrypted(queue.prop("KmsMasterKeyId"), queue.prop("SqsManagedSseEnabled"))
        seen = observe(written, _live_encrypted(queue))
        where = f"{queue.logical_id} (AWS::SQS::Queue)"
        if isinstance(seen.value, Unresolved):
            yield META.unknown(
                queue,
                f"{where} encryption settings cannot be resolved ({seen.value}).",
                path=_PATH,
                evidence=seen.evidence(),
            )
        elif seen.value:
            yield META.passed(queue, path=_PATH, evidence=seen.evidence())
        else:
            yield META.failed(
                queue,
                f"{where} sets {_PATH} to false and has no KmsMasterKeyId: its messages are "
                "stored unencrypted. Remove SqsManagedSseEnabled: false (SSE-SQS is the "
                "default) or set KmsMasterKeyId." + seen.drift_note(),
                path=_PATH,
                evidence=seen.evidence(),
            )


RULE = Rule(META, check)

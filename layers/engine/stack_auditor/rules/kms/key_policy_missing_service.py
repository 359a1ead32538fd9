"""kms-key-policy-missing-service: a key whose policy shuts out a service that must use it.

Some services encrypt with the customer's key as themselves (a service principal), not as the
caller, so the key policy must name them; the account root's ``kms:*`` (the default policy)
only delegates to IAM principals of the account. Uses found in the stack:

- a log group's ``KmsKeyId``: ``logs.<region>.amazonaws.com`` (``logs.amazonaws.com`` too);
- an SNS topic's ``KmsMasterKeyId``, when the topic receives CloudWatch alarm actions
  (``cloudwatch.amazonaws.com``), EventBridge rule deliveries (``events.amazonaws.com``) or
  S3 event notifications (``s3.amazonaws.com``);
- an SQS queue's ``KmsMasterKeyId``, when the queue is an EventBridge target
  (``events.amazonaws.com``), an SNS subscription endpoint (``sns.amazonaws.com``) or an S3
  notification destination (``s3.amazonaws.com``).

The policy must Allow the principal (or ``*``) ``kms:GenerateDataKey`` and ``kms:Decrypt``
(wildcards such as ``kms:GenerateDataKey*`` and ``kms:*`` count); conditions on the statement
(``kms:EncryptionContext:aws:logs:arn``, ``aws:SourceArn``) do not take the grant away. Keys
outside the stack (a literal ARN, ``alias/aws/sns``) are no subject here; an unreadable policy
is UNKNOWN. One verdict per key, listing every use it fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._iam import Access
from stack_auditor.rules._kms import PATH, KeyKind, key_arn, key_policy, resolve_key, service_access
from stack_auditor.rules._snapshot_cache import per_snapshot

META = RuleMeta(
    id="kms-key-policy-missing-service",
    title="KMS key policies let in the services that encrypt with the key",
    severity=Severity.HIGH,
    family="Data protection",
    subject_types=("AWS::KMS::Key",),
    sides=frozenset({Side.CROSS}),
    risk=(
        "The service cannot use the key: the log group cannot be created or written, alarm "
        "and EventBridge notifications to the encrypted topic or queue are silently dropped."
    ),
    remediation=(
        "Add a key policy statement: {Effect: Allow, Principal: {Service: "
        "!Sub 'logs.${AWS::Region}.amazonaws.com'} (or cloudwatch/events/s3/sns.amazonaws.com), "
        "Action: [kms:Encrypt*, kms:Decrypt*, kms:ReEncrypt*, kms:GenerateDataKey*, "
        "kms:Describe*], Resource: '*'}, scoped with an aws:SourceArn or encryption-context "
        "condition."
    ),
    seeds=("004 #8",),
    reference="https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-services.html",
)

_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
_CONSEQUENCE = {
    "logs": "creating or writing the log group fails",
    "cloudwatch": "alarm notifications to it are silently dropped",
    "events": "EventBridge deliveries to it fail",
    "s3": "S3 event notifications to it are not delivered",
    "sns": "SNS deliveries to it fail",
}


@dataclass(frozen=True, slots=True)
class KeyUse:
    user: Resource  # the resource encrypted with the key
    service: str  # "logs", "cloudwatch", ...
    via: str  # what makes the service use it, e.g. "KmsKeyId" or "AlarmActions of HighErrors"


def _service_principals(snapshot: StackSnapshot, service: str) -> tuple[str, ...]:
    region = snapshot.ref.region
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    regional, global_ = f"{service}.{region}.{suffix}", f"{service}.{suffix}"
    # CloudWatch Logs documents the regional principal; the others the global one.
    return (regional, global_) if service == "logs" else (global_, regional)


_QUEUE = "AWS::SQS::Queue"
_QUEUE_OR_TOPIC = (_QUEUE, "AWS::SNS::Topic")


def _owned(snapshot: StackSnapshot, value: Any, kind: str) -> Resource | None:
    return snapshot.owner_of(value, kind)


def _items(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else ()


def _deliveries(snapshot: StackSnapshot) -> Iterator[tuple[str, str, str]]:
    """(target logical id, service, what delivers) for every delivery to a topic or queue."""
    for alarm in snapshot.of_type("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
        for prop in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            for action in _items(alarm.prop(prop)):
                if topic := _owned(snapshot, action, "AWS::SNS::Topic"):
                    yield topic.logical_id, "cloudwatch", f"{prop} of alarm {alarm.logical_id}"
    for rule in snapshot.of_type("AWS::Events::Rule"):
        for target in _items(rule.prop("Targets")):
            arn = target.get("Arn") if isinstance(target, Mapping) else None
            if owner := snapshot.owner_of(arn, *_QUEUE_OR_TOPIC):
                yield owner.logical_id, "events", f"target of EventBridge rule {rule.logical_id}"
    for bucket in snapshot.of_type("AWS::S3::Bucket"):
        for kind, key in (("TopicConfigurations", "Topic"), ("QueueConfigurations", "Queue")):
            for config in _items(bucket.prop("NotificationConfiguration", kind)):
                target = config.get(key) if isinstance(config, Mapping) else None
                if owner := snapshot.owner_of(target, *_QUEUE_OR_TOPIC):
                    yield owner.logical_id, "s3", f"notifications of bucket {bucket.logical_id}"
    for sub in snapshot.of_type("AWS::SNS::Subscription"):
        endpoint = sub.prop("Endpoint")
        if sub.prop("Protocol") == "sqs" and (owner := snapshot.owner_of(endpoint, _QUEUE)):
            yield owner.logical_id, "sns", f"SNS subscription {sub.logical_id}"
    for topic in snapshot.of_type("AWS::SNS::Topic"):
        for sub in _items(topic.prop("Subscription")):
            is_queue = isinstance(sub, Mapping) and sub.get("Protocol") == "sqs"
            if is_queue and (owner := snapshot.owner_of(sub.get("Endpoint"), _QUEUE)):
                yield owner.logical_id, "sns", f"subscription of topic {topic.logical_id}"


@per_snapshot
def key_uses(snapshot: StackSnapshot) -> Mapping[str, tuple[KeyUse, ...]]:
    """Key logical id -> the uses of that key by a service principal, in template order."""
    delivered: dict[str, list[tuple[str, str]]] = {}
    for target, service, via in _deliveries(snapshot):
        delivered.setdefault(target, []).append((service, via))
    uses: dict[str, list[KeyUse]] = {}

    def add(user: Resource, prop: str, services: Iterable[tuple[str, str]]) -> None:
        ref = resolve_key(snapshot, user.prop(prop))
        if ref.kind is KeyKind.STACK and ref.key is not None:
            found = uses.setdefault(ref.key.logical_id, [])
            found.extend(KeyUse(user, service, via) for service, via in services)

    for group in snapshot.of_type("AWS::Logs::LogGroup"):
        add(group, "KmsKeyId", (("logs", "KmsKeyId"),))
    for topic in snapshot.of_type("AWS::SNS::Topic"):
        add(topic, "KmsMasterKeyId", delivered.get(topic.logical_id, ()))
    for queue in snapshot.of_type("AWS::SQS::Queue"):
        add(queue, "KmsMasterKeyId", delivered.get(queue.logical_id, ()))
    return {key: tuple(found) for key, found in uses.items() if found}


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    uses = key_uses(snapshot)
    for key in snapshot.of_type("AWS::KMS::Key"):
        if key.logical_id not in uses:
            yield META.not_applicable(key, "no resource of the stack needs a service to use it")
        else:
            yield _judge(snapshot, key, uses[key.logical_id])


def _judge(snapshot: StackSnapshot, key: Resource, uses: tuple[KeyUse, ...]) -> Verdict:
    where = f"{key.logical_id} (AWS::KMS::Key) {PATH}"
    policy = key_policy(key)
    source = "live" if key.live is not None and "KeyPolicy" in key.live else "resolved"
    missing: list[str] = []
    unsure: list[str] = []
    failed: list[dict[str, Any]] = []
    judged: dict[str, dict[str, Access]] = {}
    for use in uses:
        principals = _service_principals(snapshot, use.service)
        if use.service not in judged:
            judged[use.service] = service_access(policy, principals, _ACTIONS, key_arn(key))
        results = judged[use.service]
        lacking = [a for a, r in results.items() if r is Access.NOT_ALLOWED]
        unknown = [a for a, r in results.items() if r is Access.UNKNOWN]
        user = f"{use.user.logical_id} ({use.user.type}, {use.via})"
        if lacking:
            missing.append(
                f"{principals[0]} may not {' / '.join(lacking)}, but {user} is encrypted with "
                f"this key, so {_CONSEQUENCE[use.service]}"
            )
            failed.append(
                {"user": use.user.logical_id, "principal": principals[0], "missing": lacking}
            )
        elif unknown:
            unsure.append(f"{principals[0]} for {user}")
    evidence: dict[str, Any] = {
        "source": source,
        "policy_written": policy.written,
        "uses": [{"user": u.user.logical_id, "service": u.service, "via": u.via} for u in uses],
    }
    if missing:
        evidence["failed"] = failed
        default = (
            " (no KeyPolicy: the default policy trusts only the account root, which does not "
            "let a service principal in)"
            if not policy.written
            else ""
        )
        return META.failed(
            key,
            f"{where}{default}: " + "; ".join(missing) + ". Add an Allow statement for the "
            "service principal with kms:GenerateDataKey* and kms:Decrypt.",
            path=PATH,
            evidence=evidence,
        )
    if unsure:
        reason = policy.problem or "part of the policy cannot be resolved"
        return META.unknown(
            key,
            f"{where}: cannot tell whether the policy lets in {'; '.join(unsure)} ({reason}).",
            path=PATH,
            evidence=evidence,
        )
    return META.passed(key, path=PATH, evidence=evidence)


RULE = Rule(META, check)

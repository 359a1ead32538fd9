"""sns-topic-unencrypted: an SNS topic without server-side encryption.

SNS encrypts messages at rest only when ``KmsMasterKeyId`` names a KMS key; there is no
default encryption. Any key counts, the AWS managed ``alias/aws/sns`` included (whether the
publishing services may use that key is kms-key-policy-missing-service's question).
Live: the ``KmsMasterKeyId`` attribute (``GetTopicAttributes``) in ``resource.live`` is
judged, and a key added or removed outside CloudFormation is reported as drift; a topic that
could not be read is UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._live_gap import live_gap, unread
from stack_auditor.rules._observed import NOT_READ, judge, observe

META = RuleMeta(
    id="sns-topic-unencrypted",
    title="SNS topics encrypt messages with a KMS key",
    severity=Severity.MEDIUM,
    family="Data protection",
    subject_types=("AWS::SNS::Topic",),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "Messages are stored unencrypted while SNS holds them for delivery; whatever the "
        "notifications carry (identifiers, personal data) is not protected by a key policy."
    ),
    remediation=(
        "Set KmsMasterKeyId: !Ref TopicKey (a customer managed key whose policy lets the "
        "publishing services in), or alias/aws/sns."
    ),
    seeds=("002 #4",),
    reference="https://docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html",
)

_PATH = "Properties.KmsMasterKeyId"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for topic in snapshot.of_type("AWS::SNS::Topic"):
        live = NOT_READ
        if topic.live is not None and "Attributes" in topic.live:
            live = (topic.live["Attributes"] or {}).get("KmsMasterKeyId") or None
        elif gap := live_gap(snapshot, topic, "sns"):
            yield unread(META, topic, gap, _PATH, "topic", "its encryption")
            continue
        seen = observe(topic.prop("KmsMasterKeyId") or None, live)
        yield judge(
            META,
            topic,
            seen,
            _PATH,
            ("is not set on the deployed topic (live)" if seen.source == "live" else "is not set")
            + ": SNS stores the topic's messages unencrypted until they are delivered. "
            "Set KmsMasterKeyId to a KMS key (e.g. !Ref TopicKey).",
        )


RULE = Rule(META, check)

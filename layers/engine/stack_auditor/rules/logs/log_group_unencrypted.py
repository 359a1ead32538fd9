"""log-group-unencrypted: a CloudWatch Logs log group without a customer KMS key.

CloudWatch Logs always encrypts log data at rest with service keys; ``KmsKeyId`` is what puts
the data under a key the account controls (key policy, CloudTrail record, revocation). Logs
that carry request payloads or personal data should be under such a key. The key's policy
must then let ``logs.<region>.amazonaws.com`` in (kms-key-policy-missing-service).
Live: ``kmsKeyId`` (``DescribeLogGroups``) in ``resource.live`` is judged, a key added or
removed outside CloudFormation is reported as drift; a group that could not be read is UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._live_gap import live_gap, unread
from stack_auditor.rules._observed import NOT_READ, judge, observe
from stack_auditor.rules.logs.log_group_retention import described

META = RuleMeta(
    id="log-group-unencrypted",
    title="Log groups are encrypted with a customer managed KMS key",
    severity=Severity.LOW,
    family="Data protection",
    subject_types=("AWS::Logs::LogGroup",),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "Log data is protected only by service keys the account cannot control: no key "
        "policy limits who decrypts it and no CloudTrail record shows its use."
    ),
    remediation=(
        "Set KmsKeyId: !GetAtt LogKey.Arn, with a key policy allowing the "
        "logs.<region>.amazonaws.com principal kms:Encrypt*, kms:Decrypt*, kms:ReEncrypt*, "
        "kms:GenerateDataKey* and kms:Describe*."
    ),
    seeds=("004 #8",),
    reference="https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
)

_PATH = "Properties.KmsKeyId"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for group in snapshot.of_type("AWS::Logs::LogGroup"):
        live = NOT_READ
        if described(group) and group.live is not None:
            live = group.live.get("kmsKeyId") or None
        elif gap := live_gap(snapshot, group, "logs"):
            yield unread(META, group, gap, _PATH, "group", "its key")
            continue
        seen = observe(group.prop("KmsKeyId") or None, live)
        yield judge(
            META,
            group,
            seen,
            _PATH,
            ("is not set on the deployed group (live)" if seen.source == "live" else "is not set")
            + ": the log data is encrypted only with CloudWatch Logs' own keys, so no "
            "key policy limits who can read it. Set KmsKeyId to a KMS key ARN whose policy lets "
            "logs.<region>.amazonaws.com use it.",
        )


RULE = Rule(META, check)

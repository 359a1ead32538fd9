"""hardcoded-partition: an ARN typed as ``arn:aws:`` instead of ``arn:${AWS::Partition}:``.

Managed-policy ARNs count too (the catalog says so): ``arn:aws:iam::aws:policy/X`` does not
exist in aws-cn or aws-us-gov.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._literals import Literal
from stack_auditor.rules.template._hardcoded import literal_verdicts, where

META = RuleMeta(
    id="hardcoded-partition",
    title="ARNs in the template take the partition from AWS::Partition",
    severity=Severity.LOW,
    family="Portability and naming",
    subject_types=("*",),
    sides=frozenset({Side.TEMPLATE}),
    risk="ARNs starting arn:aws: are wrong in the China and GovCloud partitions.",
    remediation="Write ARNs as !Sub 'arn:${AWS::Partition}:...'.",
    seeds=("000 #1",),
    reference="https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html",
)

_ARN_WITH_PARTITION = re.compile(r"(?<![\w-])arn:aws:[\w-]*:[^\s\"',]*")


def find_partition_arns(literal: Literal, snapshot: StackSnapshot) -> tuple[str, ...]:
    if "arn:aws:" not in literal.text:
        return ()
    return tuple(dict.fromkeys(_ARN_WITH_PARTITION.findall(literal.text)))[:5]


def _describe(literal: Literal, found: tuple[str, ...]) -> str:
    return (
        f"{where(literal)} writes the ARN {found[0]!r} with the "
        "partition 'aws' literally; it is wrong in aws-cn and aws-us-gov. "
        "Use arn:${AWS::Partition}:."
    )


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    return literal_verdicts(META, snapshot, find_partition_arns, _describe)


RULE = Rule(META, check)

"""hardcoded-region: a region name typed literally (bare, in an ARN, a URL or an AZ name).

Region names come from cfn-lint's maintained region list (data/regions.json). A match must
stand alone: not preceded by a letter or digit, and not followed by another digit, so
``us-east-1a`` (an AZ) and ``sqs.us-east-1.amazonaws.com`` match, ``mus-east-12`` does not.

Not reported: values of a property named ``Regions`` (StackSet instances, Route 53 health
checker regions, ...): a list of target regions is a deliberate multi-region choice, for
which ``AWS::Region`` is no fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._literals import Literal
from stack_auditor.rules.template._hardcoded import literal_verdicts, where

META = RuleMeta(
    id="hardcoded-region",
    title="The template names no region literally",
    severity=Severity.MEDIUM,
    family="Portability and naming",
    subject_types=("*",),
    sides=frozenset({Side.TEMPLATE}),
    risk=(
        "A literal region breaks the stack in any other region: ARNs, endpoints and "
        "availability zones point at the wrong place."
    ),
    remediation=(
        "Use ${AWS::Region} in a !Sub (or !Ref AWS::Region), and !Select [0, !GetAZs ''] "
        "for availability zones."
    ),
    seeds=("000 #1", "001 #14"),
    reference="https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html",
)


@cache
def _region_pattern() -> re.Pattern[str]:
    text = resources.files("stack_auditor.data").joinpath("regions.json").read_text()
    names = sorted(json.loads(text), key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, names)) + r")(?![0-9])")


def find_regions(literal: Literal, snapshot: StackSnapshot) -> tuple[str, ...]:
    text = literal.text
    if "-" not in text or literal.key == "Regions":
        return ()
    return tuple(dict.fromkeys(_region_pattern().findall(text)))


def _describe(literal: Literal, found: tuple[str, ...]) -> str:
    return (
        f"{where(literal)} names the region {', '.join(found)} literally; the stack breaks in "
        "any other region. Use ${AWS::Region} or Fn::GetAZs."
    )


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    return literal_verdicts(META, snapshot, find_regions, _describe)


RULE = Rule(META, check)

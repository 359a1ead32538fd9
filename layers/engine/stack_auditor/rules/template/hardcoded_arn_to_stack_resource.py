"""hardcoded-arn-to-stack-resource: a literal ARN/name/URL of a resource of this same stack.

The literal strings of the template as written are looked up in the snapshot's identifier
index (``snapshot.owner_of``); a Sub whose only variables are pseudo parameters is filled in
first (``arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:orders`` is as hardcoded as
the ARN typed out). ARN patterns ending in ``/*`` or ``:*`` are looked up without the suffix.
A resource's own name property names itself and is not a finding, even when it happens to
equal another resource's name (an Events rule named like the function it triggers).
"""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._literals import Literal, substitute_pseudo_parameters
from stack_auditor.rules.template._hardcoded import literal_verdicts, where
from stack_auditor.rules.template.name_missing_environment_suffix import PHYSICAL_NAME_PROPERTIES

META = RuleMeta(
    id="hardcoded-arn-to-stack-resource",
    title="Resources of the stack are referenced with Ref or Fn::GetAtt, not literal names",
    severity=Severity.MEDIUM,
    family="Portability and naming",
    subject_types=("*",),
    sides=frozenset({Side.TEMPLATE}),
    risk=(
        "A literal name of a resource of the same stack breaks when the name changes (another "
        "environment, a replacement) and hides the dependency from CloudFormation, which may "
        "create the referrer first."
    ),
    remediation="Reference the resource: !Ref <LogicalId> or !GetAtt <LogicalId>.Arn.",
    seeds=("000 #1", "002 #1"),
    reference="https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-getatt.html",
)


# Attributes that identify a resource. Others in the identifier index (CidrBlock,
# AvailabilityZone, Endpoint.Port, ...) are values that other things legitimately repeat.
_NAMING_ATTRIBUTE_SUFFIXES = ("Arn", "Name", "Id", "Url", "URL", "Address")


def find_stack_references(literal: Literal, snapshot: StackSnapshot) -> tuple[str, ...]:
    own_name = PHYSICAL_NAME_PROPERTIES.get(literal.resource_type or "", "Name")
    if literal.path in (f"Properties.{own_name}", "Properties.Name"):
        return ()
    if literal.sub_template is not None:
        text = substitute_pseudo_parameters(literal.sub_template, snapshot)
        if text is None:
            return ()
    else:
        text = literal.text
    if len(text) < 3:
        return ()
    owner = _naming_owner(snapshot, text)
    if owner is None and text.endswith(("/*", ":*")):
        owner = _naming_owner(snapshot, text[:-2])
    if owner is None:
        return ()
    if literal.logical_id is not None and literal.logical_id in (
        owner.logical_id,
        owner.source_logical_id,
    ):
        return ()  # a resource's own name, or a SAM resource naming what it generates
    return (owner.logical_id,)


def _naming_owner(snapshot: StackSnapshot, text: str) -> Resource | None:
    """The resource ``text`` names, by an identifying attribute (not a CIDR, AZ or port)."""
    owner = snapshot.owner_of(text)
    if owner is None or text == owner.physical_id:
        return owner
    for key, value in owner.attributes.items():
        if value == text and (key == "Ref" or key.endswith(_NAMING_ATTRIBUTE_SUFFIXES)):
            return owner
    return None


def _describe(literal: Literal, found: tuple[str, ...]) -> str:
    return (
        f"{where(literal)} names the stack's own resource {found[0]} by a literal string; "
        f"reference it with !Ref {found[0]} or !GetAtt {found[0]}.Arn so the value follows the "
        "resource and CloudFormation orders the two."
    )


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    # what is found is a logical id, not part of the value: safe to show
    return literal_verdicts(META, snapshot, find_stack_references, _describe, found_is_value=False)


RULE = Rule(META, check)

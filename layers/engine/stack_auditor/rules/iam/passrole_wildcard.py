"""iam-passrole-wildcard: ``iam:PassRole`` on ``Resource: "*"`` without ``iam:PassedToService``.

PassRole counts however it is granted: ``iam:PassRole``, ``iam:Pass*``, ``iam:*``, ``*`` or a
NotAction that does not exclude it. The condition key may appear under any operator.
On a deployed stack the identity policies as deployed are judged, including ones added
outside CloudFormation, and differences from the template are reported as drift.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._iam import Statement, covers_action
from stack_auditor.rules._iam_sources import IDENTITY_HOLDERS, POLICY_TYPES, AuthoredDocument
from stack_auditor.rules.iam._judge_statements import statement_verdicts

META = RuleMeta(
    id="iam-passrole-wildcard",
    title="iam:PassRole is limited to named roles or to a service",
    severity=Severity.HIGH,
    family="IAM",
    subject_types=(*IDENTITY_HOLDERS, *POLICY_TYPES),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "PassRole on any role lets the principal hand any role in the account, including "
        "administrator roles, to a service it controls: privilege escalation."
    ),
    remediation=(
        "Limit Resource to the ARNs of the roles to pass, and add Condition: StringEquals: "
        "iam:PassedToService: <service>.amazonaws.com."
    ),
    seeds=("003 #4",),
    reference="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
)


def find_passrole_wildcard(document: AuthoredDocument, statement: Statement) -> str | None:
    if statement.not_resource or "*" not in statement.resources:
        return None
    if not covers_action(statement, "iam:PassRole"):
        return None
    if _has_passed_to_service(statement.condition):
        return None
    return (
        "Allow statement grants iam:PassRole on Resource '*' without an iam:PassedToService "
        "condition: any role of the account can be passed to any service."
    )


def _has_passed_to_service(condition: Mapping[str, object]) -> bool:
    return any(
        isinstance(block, Mapping) and any(k.lower() == "iam:passedtoservice" for k in block)
        for block in condition.values()
    )


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    return statement_verdicts(META, snapshot, find_passrole_wildcard, resource_policies=False)


RULE = Rule(META, check)

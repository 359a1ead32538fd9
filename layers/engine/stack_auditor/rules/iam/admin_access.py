"""iam-admin-access: a principal of the stack gets administrator-level access.

Fires for the AWS managed policies AdministratorAccess, PowerUserAccess and IAMFullAccess in a
role's/user's/group's ``ManagedPolicyArns`` (the only rule that judges AWS managed
policies), and for an authored identity-policy Allow statement with Action ``*`` on
Resource ``*``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from stack_auditor import managed_policies
from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._iam import Statement, action_strings
from stack_auditor.rules._iam_sources import IDENTITY_HOLDERS, POLICY_TYPES, AuthoredDocument
from stack_auditor.rules.iam._judge_statements import statement_verdicts

META = RuleMeta(
    id="iam-admin-access",
    title="No principal of the stack has administrator access",
    severity=Severity.CRITICAL,
    family="IAM",
    subject_types=(*IDENTITY_HOLDERS, *POLICY_TYPES),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "Administrator access turns any bug or leaked credential of the workload into full "
        "control of the account."
    ),
    remediation=(
        "Detach AdministratorAccess/PowerUserAccess/IAMFullAccess and grant only the actions "
        "and resources the workload uses."
    ),
    seeds=("003 #6",),
    reference="https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
)

ADMIN_POLICIES = frozenset({"AdministratorAccess", "PowerUserAccess", "IAMFullAccess"})


def find_admin_statement(document: AuthoredDocument, statement: Statement) -> str | None:
    if "*" in action_strings(statement) and "*" in statement.resources:
        return "Allow statement grants Action '*' on Resource '*': full administrator access."
    return None


def _attached_admin_policies(res: Resource) -> Iterator[Verdict]:
    if res.type not in IDENTITY_HOLDERS:
        return
    arns = res.prop("ManagedPolicyArns")
    if not isinstance(arns, tuple):
        return
    for index, arn in enumerate(arns):
        name = managed_policies.parse_arn(arn) if isinstance(arn, str) else None
        if name in ADMIN_POLICIES:
            path = f"Properties.ManagedPolicyArns[{index}]"
            yield META.failed(
                res,
                f"{res.logical_id} ({res.type}) {path} attaches the AWS managed policy {name}: "
                "administrator-level access for whoever assumes it.",
                path=path,
                evidence={"source": "resolved", "policy_arn": arn},
            )


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    return statement_verdicts(
        META,
        snapshot,
        find_admin_statement,
        resource_policies=False,
        extra_failures=_attached_admin_policies,
    )


RULE = Rule(META, check)

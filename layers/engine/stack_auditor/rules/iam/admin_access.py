"""iam-admin-access: a principal of the stack gets administrator-level access.

Fires for the AWS managed policies AdministratorAccess, PowerUserAccess and IAMFullAccess
attached to a role/user/group (the only rule that judges AWS managed policies), and for an
authored identity-policy Allow statement with Action ``*`` on Resource ``*``.
On a deployed stack the identity policies as deployed are judged, including ones added
outside CloudFormation, and differences from the template are reported as drift.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from stack_auditor import managed_policies
from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._iam import Statement, action_strings
from stack_auditor.rules._iam_live import policy_view
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


def _attached_admin_policies(snapshot: StackSnapshot, res: Resource) -> Iterator[Verdict]:
    for attachment in policy_view(snapshot).attachments.get(res.logical_id, ()):
        name = managed_policies.parse_arn(attachment.arn)
        if name not in ADMIN_POLICIES:
            continue
        evidence = {"source": attachment.source, "policy_arn": attachment.arn}
        if attachment.source == "live":
            how = "outside the template (drift)" if attachment.drift else "as deployed"
            what = f"has the AWS managed policy {name} attached {how}"
            if attachment.drift:
                evidence["drift"] = attachment.drift
        else:
            what = f"{attachment.path} attaches the AWS managed policy {name}"
        yield META.failed(
            res,
            f"{res.logical_id} ({res.type}) {what}: administrator-level access for whoever "
            "assumes it.",
            path=attachment.path,
            evidence=evidence,
        )


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    return statement_verdicts(
        META,
        snapshot,
        find_admin_statement,
        resource_policies=False,
        extra_failures=lambda res: _attached_admin_policies(snapshot, res),
    )


RULE = Rule(META, check)

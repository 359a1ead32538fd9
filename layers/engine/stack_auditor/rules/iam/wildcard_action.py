"""iam-wildcard-action: an authored Allow statement grants ``*``, ``<service>:*`` or NotAction.

Judged on the statements the stack's authors wrote (see ``_iam_sources``), identity and
resource policies alike; the default KMS key policy statement (account root, ``kms:*``) is
not a finding. On a deployed stack the identity policies as deployed are judged, including
ones added outside CloudFormation, and differences from the template are reported as drift.
"""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._iam import Statement, action_strings
from stack_auditor.rules._iam_sources import (
    IDENTITY_HOLDERS,
    POLICY_TYPES,
    RESOURCE_POLICY_PROPERTY,
    AuthoredDocument,
)
from stack_auditor.rules.iam._judge_statements import (
    is_kms_default_root_statement,
    statement_verdicts,
)

META = RuleMeta(
    id="iam-wildcard-action",
    title="Policy statements name the actions they allow",
    severity=Severity.HIGH,
    family="IAM",
    subject_types=(*IDENTITY_HOLDERS, *POLICY_TYPES, *RESOURCE_POLICY_PROPERTY),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "A wildcard action grants every present and future action of the service, including "
        "destructive and privilege-escalating ones: far beyond what the code needs."
    ),
    remediation=(
        "List the actions the workload calls (e.g. dynamodb:GetItem, dynamodb:PutItem) "
        "instead of '*', '<service>:*' or NotAction."
    ),
    seeds=("000 #6", "003 #1", "004 #3"),
    reference="https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
)


def find_wildcard_action(document: AuthoredDocument, statement: Statement) -> str | None:
    if statement.not_action:
        return (
            "Allow with NotAction grants every action except the listed ones; name the "
            "allowed actions instead."
        )
    wild = [a for a in action_strings(statement) if a == "*" or a.endswith(":*")]
    if not wild or is_kms_default_root_statement(document, statement):
        return None
    return (
        f"Allow statement grants the wildcard action {', '.join(wild)}: every action of "
        f"{'every service' if '*' in wild else 'the service'}, present and future."
    )


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    return statement_verdicts(META, snapshot, find_wildcard_action)


RULE = Rule(META, check)

"""iam-wildcard-resource: an authored Allow statement puts ``Resource: "*"`` on an action that
could be scoped to resources.

Actions that take no resource-level permissions (``xray:PutTraceSegments``,
``cloudwatch:PutMetricData``, ``ec2:DescribeNetworkInterfaces`` ...) can only be granted on
``*`` and do not fire; wildcard actions (``s3:Get*``) fire when any action they cover can be
scoped. KMS key policies are not judged: there ``*`` means "this key".
On a deployed stack the identity policies as deployed are judged, including ones added
outside CloudFormation, and differences from the template are reported as drift.
"""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._iam import Statement, action_strings, supports_resource_level
from stack_auditor.rules._iam_sources import (
    IDENTITY_HOLDERS,
    POLICY_TYPES,
    RESOURCE_POLICY_PROPERTY,
    AuthoredDocument,
)
from stack_auditor.rules.iam._judge_statements import statement_verdicts

META = RuleMeta(
    id="iam-wildcard-resource",
    title="Policy statements scope actions to resources where the action allows it",
    severity=Severity.MEDIUM,
    family="IAM",
    subject_types=(
        *IDENTITY_HOLDERS,
        *POLICY_TYPES,
        *(t for t in RESOURCE_POLICY_PROPERTY if t != "AWS::KMS::Key"),
    ),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "Resource '*' extends the grant to every resource of that kind in the account, "
        "including other applications' data."
    ),
    remediation=(
        "Name the resources: Resource: !GetAtt Table.Arn (plus '${Table.Arn}/index/*' for "
        "indexes), !Sub '${Bucket.Arn}/*', the queue's or topic's ARN."
    ),
    seeds=("000 #6", "003 #1", "004 #3"),
    reference="https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html",
)


def find_wildcard_resource(document: AuthoredDocument, statement: Statement) -> str | None:
    if document.holder.type == "AWS::KMS::Key":
        return None
    if statement.not_resource or "*" not in statement.resources:
        return None
    if statement.not_action:
        scoped = ["NotAction (almost every action)"]
    else:
        scoped = [a for a in action_strings(statement) if supports_resource_level(a)]
    if not scoped:
        return None
    return (
        f"Allow statement grants {', '.join(scoped[:5])} on Resource '*', although these "
        "actions can be limited to specific resources."
    )


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    return statement_verdicts(META, snapshot, find_wildcard_resource)


RULE = Rule(META, check)

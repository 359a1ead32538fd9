"""lambda-env-resource-without-permission: an environment variable points the code at a
table, topic, queue, bucket, secret or state machine of the stack the role cannot touch.

A variable names a stack resource when its resolved value is one of that resource's
identifiers (name, ARN, URL; ``snapshot.owner_of``), so Ref, GetAtt and literal names all
count. "Cannot touch" means no action of the resource's service is allowed on it (the
service's actions come from data/iam_actions.json.gz). Bucket objects and table indexes count
as the bucket/table. Messages and evidence name the variable, never its value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._iam import any_action_pattern, service_actions
from stack_auditor.rules._iam_sources import Grants, grants_of_function
from stack_auditor.rules.lambda_._permissions import judge_needs, setting

META = RuleMeta(
    id="lambda-env-resource-without-permission",
    title="Resources a function is configured to use are ones its role may access",
    severity=Severity.CRITICAL,
    family="IAM",
    subject_types=("AWS::Lambda::Function",),
    sides=frozenset({Side.CROSS}),
    risk=(
        "The code is told to use the resource but every call fails with AccessDenied: the "
        "feature is broken in production."
    ),
    remediation=(
        "Grant the actions the code calls on the resource to the execution role, e.g. SAM's "
        "DynamoDBCrudPolicy/SQSSendMessagePolicy/S3ReadPolicy, or a statement with the "
        "resource's !GetAtt <Resource>.Arn."
    ),
    seeds=("002 #2", "004 #3"),
    reference="https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
)

# Resource type -> IAM service prefix, and extra ARN suffixes that belong to the resource.
TARGET_TYPES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "AWS::DynamoDB::Table": ("dynamodb", ("/index/x", "/stream/x")),
    "AWS::DynamoDB::GlobalTable": ("dynamodb", ("/index/x", "/stream/x")),
    "AWS::SNS::Topic": ("sns", ()),
    "AWS::SQS::Queue": ("sqs", ()),
    "AWS::S3::Bucket": ("s3", ("/x",)),
    "AWS::SecretsManager::Secret": ("secretsmanager", ()),
    "AWS::StepFunctions::StateMachine": ("states", ()),
}


def _target_arns(target: Resource, suffixes: tuple[str, ...]) -> tuple[str, ...]:
    arn = target.attributes.get("Arn")
    if not isinstance(arn, str):
        ref = target.attributes.get("Ref")
        arn = ref if isinstance(ref, str) and ref.startswith("arn:") else None
    if arn is None:
        return ()
    return (arn, *(arn + s for s in suffixes))


def _service_needs(
    grants: Grants | str, service: str, arns: tuple[str, ...]
) -> list[tuple[str, tuple[str, ...]]]:
    """Every action of the service the role's Allow statements could cover, as needs."""
    actions = set(service_actions(service))
    if not isinstance(grants, str):
        for statement in grants.statements:
            actions.update(
                a.lower()
                for a in statement.actions
                if isinstance(a, str) and "*" not in a and a.lower().startswith(service + ":")
            )
        patterns = tuple(
            sorted(
                {a for s in grants.statements if s.allows for a in s.actions if isinstance(a, str)}
            )
        )
        if not any(s.not_action for s in grants.statements):
            matcher = any_action_pattern(patterns)
            actions = {a for a in actions if matcher.fullmatch(a)}
    return [(a, arns) for a in sorted(actions)] or [(f"{service}:*", arns)]


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for function in snapshot.of_type("AWS::Lambda::Function"):
        variables = setting(function, "Environment", "Variables")
        judged = False
        if isinstance(variables, Mapping):
            for name, value in variables.items():
                target = snapshot.owner_of(value, *TARGET_TYPES)
                if target is None or target.type not in TARGET_TYPES:
                    continue
                service, suffixes = TARGET_TYPES[target.type]
                arns = _target_arns(target, suffixes)
                path = f"Properties.Environment.Variables.{name}"
                judged = True
                if not arns:
                    yield META.unknown(
                        function,
                        f"{function.logical_id} {path} names {target.logical_id}, "
                        "whose ARN is unknown.",
                        path=path,
                    )
                    continue
                needs = _service_needs(grants_of_function(snapshot, function), service, arns)
                yield judge_needs(
                    META,
                    snapshot,
                    function,
                    needs,
                    need_all=False,
                    path=path,
                    purpose=f"access to {target.logical_id} ({target.type}), which the "
                    f"environment variable {name} names",
                    actions_label=f"{service} action",
                    target_label=target.logical_id,
                )
        if not judged:
            yield META.not_applicable(function, "no environment variable names a stack resource")


RULE = Rule(META, check)

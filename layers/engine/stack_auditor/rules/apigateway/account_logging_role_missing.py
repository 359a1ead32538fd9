"""apigw-account-logging-role-missing: execution logging on, but no API Gateway CloudWatch role.

API Gateway writes execution logs with the Region-wide role of its account settings
(``cloudWatchRoleArn``). A stage that turns execution logging on (``LoggingLevel`` INFO or
ERROR, or ``DataTraceEnabled: true``, in any method settings block or a deployment's
``StageDescription``) while that role is not set fails to deploy ("CloudWatch Logs role ARN
must be set in account settings to enable logging") or, set later, logs nothing. REST stages
and WebSocket stages (their ``DefaultRouteSettings``/``RouteSettings``) have execution logs;
HTTP API stages do not, and cannot set ``LoggingLevel``.

The role is set by an ``AWS::ApiGateway::Account`` with ``CloudWatchRoleArn`` in the stack, or
already in the account: ``snapshot.extras["apigateway_account"]`` (``GetAccount``, filled by the
live side) with a ``cloudwatchRoleArn``. In a scan the account is not read, so a stack without
its own ``AWS::ApiGateway::Account`` is UNKNOWN. When the stack's account setting names a role
of the stack, that role must trust ``apigateway.amazonaws.com`` (UpdateAccount rejects a role API
Gateway cannot assume), else FAIL. A stage without execution logging is N/A.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import (
    Severity,
    Side,
    StackSnapshot,
    Unresolved,
    Verdict,
    contains_unresolved,
)
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules.apigateway._stages import (
    STAGE_TYPES,
    Stage,
    execution_logging,
    stack_account_role,
    stages,
)

META = RuleMeta(
    id="apigw-account-logging-role-missing",
    title="Stages with execution logging have the API Gateway CloudWatch role set",
    severity=Severity.MEDIUM,
    family="Observability",
    subject_types=STAGE_TYPES,
    sides=frozenset({Side.CROSS, Side.LIVE}),
    risk=(
        "Execution logging needs the account's API Gateway CloudWatch role: without it the "
        "stage fails to deploy, or writes no execution logs."
    ),
    remediation=(
        "Add ApiGatewayAccount: {Type: AWS::ApiGateway::Account, Properties: "
        "{CloudWatchRoleArn: !GetAtt ApiGatewayCloudWatchRole.Arn}} with a role trusted by "
        "apigateway.amazonaws.com that has the AmazonAPIGatewayPushToCloudWatchLogs managed "
        "policy, and make the stage DependsOn it."
    ),
    seeds=("003 #7",),
    reference="https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html#set-up-access-logging-permissions",
)


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    role_in_stack = stack_account_role(snapshot)
    for stage in stages(snapshot):
        logging_at = execution_logging(stage)
        if isinstance(logging_at, Unresolved):
            yield META.unknown(
                stage.resource,
                f"{stage.where}: whether execution logging is on cannot be resolved "
                f"({logging_at}).",
                path=stage.base,
            )
        elif logging_at is None:
            yield META.not_applicable(stage.resource, "execution logging is off")
        else:
            yield _judge(snapshot, stage, logging_at, role_in_stack)


def _judge(snapshot: StackSnapshot, stage: Stage, logging_at: str, role_in_stack: Any) -> Verdict:
    where = f"{stage.where} enables execution logging at {logging_at}"
    if isinstance(role_in_stack, tuple):
        account_id, role = role_in_stack
        if isinstance(role, Unresolved):
            return META.unknown(
                stage.resource,
                f"{where}; the CloudWatchRoleArn of {account_id} cannot be resolved ({role}).",
                path=logging_at,
            )
        trusted = _trusts_api_gateway(snapshot, role)
        if trusted is False:
            return META.failed(
                stage.resource,
                f"{where}; {account_id} (AWS::ApiGateway::Account) names a role whose "
                "AssumeRolePolicyDocument does not trust apigateway.amazonaws.com, so API "
                "Gateway cannot assume it and execution logs cannot be written.",
                path=logging_at,
                evidence={"source": "resolved", "account_resource": account_id},
            )
        if trusted is None:
            return META.unknown(
                stage.resource,
                f"{where}; whether the role of {account_id} trusts apigateway.amazonaws.com "
                "cannot be resolved.",
                path=logging_at,
            )
        return META.passed(
            stage.resource,
            f"{where}; {account_id} (AWS::ApiGateway::Account) sets the CloudWatch role.",
            path=logging_at,
            evidence={"source": "resolved", "account_resource": account_id},
        )
    account = snapshot.extras.get("apigateway_account")
    if isinstance(account, Mapping):
        role_arn = account.get("cloudwatchRoleArn")
        if role_arn:
            return META.passed(
                stage.resource,
                f"{where}; the account's API Gateway settings set the CloudWatch role.",
                path=logging_at,
                evidence={"source": "live", "cloudwatchRoleArn": role_arn},
            )
        return META.failed(
            stage.resource,
            f"{where}, but neither the stack (no AWS::ApiGateway::Account) nor the account's "
            "API Gateway settings (GetAccount cloudwatchRoleArn) set the CloudWatch role: "
            "execution logs cannot be written.",
            path=logging_at,
            evidence={"source": "live", "cloudwatchRoleArn": None},
        )
    return META.unknown(
        stage.resource,
        f"{where}; the stack has no AWS::ApiGateway::Account with CloudWatchRoleArn and the "
        "account's API Gateway settings could not be read (GetAccount), so whether the "
        "CloudWatch role is set is unknown.",
        path=logging_at,
        evidence={"source": "resolved", "account_setting": "not read"},
    )


def _trusts_api_gateway(snapshot: StackSnapshot, role_arn: Any) -> bool | None:
    """Whether a role of the stack trusts API Gateway; True for a role outside the stack."""
    role = snapshot.owner_of(role_arn, "AWS::IAM::Role")
    if role is None:
        return True  # not ours to judge: the account-level live read covers it
    document = role.prop("AssumeRolePolicyDocument")
    if contains_unresolved(document):
        return None
    statements = document.get("Statement") if isinstance(document, Mapping) else None
    if isinstance(statements, Mapping):
        statements = (statements,)
    for statement in statements or ():
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        actions = _as_tuple(statement.get("Action"))
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        principal = statement.get("Principal")
        if principal == "*":
            return True
        if isinstance(principal, Mapping):
            services = _as_tuple(principal.get("Service"))
            if "apigateway.amazonaws.com" in services:
                return True
    return False


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    return value if isinstance(value, tuple) else (value,)


RULE = Rule(META, check)

"""lambda-logs-permission-missing: the role cannot write to the function's log group.

The log group is ``LoggingConfig.LogGroup`` when set, else ``/aws/lambda/<function name>``.
CreateLogStream is checked against the group's ARN (bare, with ``:*``, or a stream in it:
policies grant it in all three forms), PutLogEvents against a stream in it, so
``arn:aws:logs:*:*:*``, ``arn:...:log-group:<name>:*``, ``...:log-stream:*`` and ``*`` count.
"""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules.lambda_._permissions import arn_prefix, judge_needs, setting

META = RuleMeta(
    id="lambda-logs-permission-missing",
    title="Functions may write to their log group",
    severity=Severity.MEDIUM,
    family="IAM",
    subject_types=("AWS::Lambda::Function",),
    sides=frozenset({Side.CROSS}),
    risk="The function runs without logs: errors cannot be diagnosed.",
    remediation=(
        "Attach AWSLambdaBasicExecutionRole, or grant logs:CreateLogStream and "
        "logs:PutLogEvents on !Sub '${LogGroup.Arn}' (the log group ARN ending ':*')."
    ),
    seeds=("000", "003 #8"),
    reference="https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html",
)


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for function in snapshot.of_type("AWS::Lambda::Function"):
        group = setting(function, "LoggingConfig", "LogGroup")
        path = "Properties.LoggingConfig.LogGroup"
        if group is None:
            name = setting(function, "FunctionName") or function.attributes.get("Ref")
            path = "Properties.FunctionName"
            group = f"/aws/lambda/{name}" if isinstance(name, str) else name
        if not isinstance(group, str):
            reason = group if isinstance(group, Unresolved) else "no function name"
            yield META.unknown(
                function,
                f"{function.logical_id}: the log group name is unknown ({reason}).",
                path=path,
            )
            continue
        group_arn = f"{arn_prefix(snapshot, 'logs')}:log-group:{group}"
        stream_arn = f"{group_arn}:log-stream:x"
        needs = (
            ("logs:CreateLogStream", (group_arn, f"{group_arn}:*", stream_arn)),
            ("logs:PutLogEvents", (stream_arn,)),
        )
        yield judge_needs(
            META,
            snapshot,
            function,
            needs,
            need_all=True,
            path=path,
            purpose=f"writing logs to {group}",
        )


RULE = Rule(META, check)

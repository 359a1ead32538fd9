"""lambda-vpc-permission-missing: VpcConfig without the network interface permissions."""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules.lambda_._permissions import judge_needs, setting

META = RuleMeta(
    id="lambda-vpc-permission-missing",
    title="Functions in a VPC may manage their network interfaces",
    severity=Severity.HIGH,
    family="IAM",
    subject_types=("AWS::Lambda::Function",),
    sides=frozenset({Side.CROSS}),
    risk=(
        "Without the ENI actions Lambda cannot attach the function to the VPC: creation or "
        "update fails, or stale interfaces are never cleaned up."
    ),
    remediation=(
        "Attach the AWS managed policy AWSLambdaVPCAccessExecutionRole (or grant "
        "ec2:CreateNetworkInterface, ec2:DescribeNetworkInterfaces, "
        "ec2:DeleteNetworkInterface on '*') to the execution role."
    ),
    seeds=("003 #2",),
    reference="https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html",
)

ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
)
_PATH = "Properties.VpcConfig"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for function in snapshot.of_type("AWS::Lambda::Function"):
        vpc = setting(function, "VpcConfig")
        if isinstance(vpc, Unresolved):
            yield META.unknown(
                function,
                f"{function.logical_id} {_PATH} cannot be resolved ({vpc}).",
                path=_PATH,
            )
            continue
        subnets = vpc.get("SubnetIds") if hasattr(vpc, "get") else None
        if not subnets:
            yield META.not_applicable(function, "not attached to a VPC")
            continue
        yield judge_needs(
            META,
            snapshot,
            function,
            [(a, ("*",)) for a in ENI_ACTIONS],
            need_all=True,
            path=_PATH,
            purpose="managing its VPC network interfaces",
        )


RULE = Rule(META, check)

"""The functions' IAM policy grants exactly what the code calls: the collectors' declared live
reads (``required_actions()``, whatever the registry holds when this runs) plus what the
pipeline itself needs, and writes only to the auditor's own resources. The member role grants
the same live reads and nothing that writes. The generated statements are fresh."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from stack_auditor.collect.registry import required_actions
from stack_auditor.rules._iam import supports_resource_level
from stack_auditor.template.loader import load_template_file

ROOT = Path(__file__).resolve().parents[1]
LIVE_SIDS = ("ReadLiveState", "ReadLiveStateOfAnyResource")

STACK_READS = {
    "cloudformation:DescribeStacks",
    "cloudformation:GetTemplate",
    "cloudformation:ListStackResources",
    "cloudformation:ListStacks",  # the sweep
}
# What the pipeline itself calls besides the live reads, and where each write may go: the
# logical ids a Resource must point at, or the one Resource string it must be.
PIPELINE_WRITES: Mapping[str, set[str]] = {
    "dynamodb:PutItem": {"FindingsTable"},
    "dynamodb:UpdateItem": {"FindingsTable"},
    "dynamodb:DeleteItem": {"FindingsTable"},
    "dynamodb:BatchWriteItem": {"FindingsTable"},
    "dynamodb:ConditionCheckItem": {"FindingsTable"},
    "sns:Publish": {"AlertTopic"},
    "sqs:SendMessage": {"DeadLetterQueue"},
    "logs:CreateLogStream": {"FunctionLogGroup"},
    "logs:PutLogEvents": {"FunctionLogGroup"},
    "kms:Encrypt": {"DataKey"},
    "kms:GenerateDataKey": {"DataKey", "MessagingKey"},
    "kms:Decrypt": {"DataKey", "MessagingKey"},
    "securityhub:BatchImportFindings": {
        "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}"
        ":product/${AWS::AccountId}/default"
    },
    "sts:AssumeRole": {"arn:${AWS::Partition}:iam::*:role/${MemberRoleName}-${EnvironmentSuffix}"},
    # X-Ray takes no resource-level permissions
    "xray:PutTraceSegments": {"*"},
    "xray:PutTelemetryRecords": {"*"},
}
PIPELINE_READS = STACK_READS | {
    "dynamodb:GetItem",
    "dynamodb:Query",
    "kms:DescribeKey",
    "ssm:GetParameter",
}
_READ_VERB = re.compile(r"^(Get|List|Describe|BatchGet|Query|Scan|GET$)")


def is_read(action: str) -> bool:
    return bool(_READ_VERB.match(action.split(":", 1)[1]))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def flattened(statements: Any) -> Iterator[dict[str, Any]]:
    """Statements, with a conditional one (Fn::If ... AWS::NoValue) as its statement."""
    for statement in as_list(statements):
        if "Fn::If" in statement:
            _condition, *branches = statement["Fn::If"]
            yield from (b for b in branches if b != {"Ref": "AWS::NoValue"})
        else:
            yield statement


def resource_name(value: Any) -> str:
    """The logical id a Ref/GetAtt/"${X.Arn}" names, else the Sub text or the literal."""
    if isinstance(value, Mapping):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return str(att[0] if isinstance(att, list) else att.split(".")[0])
        if "Fn::Sub" in value:
            text = value["Fn::Sub"]
            text = text[0] if isinstance(text, list) else text
            found = re.fullmatch(r"\$\{(\w+)\.Arn\}.*", text)
            return found.group(1) if found else str(text)
    return str(value)


def policy(template: Mapping[str, Any], logical_id: str) -> list[dict[str, Any]]:
    return list(
        flattened(template["Resources"][logical_id]["Properties"]["PolicyDocument"]["Statement"])
    )


def granted(statements: list[dict[str, Any]]) -> set[str]:
    actions: set[str] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow" and "NotAction" not in statement
        actions |= set(as_list(statement["Action"]))
    return actions


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template_file(ROOT / "template.yaml").data


@pytest.fixture(scope="module")
def function_policy(template: dict[str, Any]) -> list[dict[str, Any]]:
    return policy(template, "AuditFunctionPolicy")


@pytest.fixture(scope="module")
def member_policy() -> list[dict[str, Any]]:
    member = load_template_file(ROOT / "member" / "member-role.yaml").data
    (document,) = member["Resources"]["MemberRole"]["Properties"]["Policies"]
    return list(flattened(document["PolicyDocument"]["Statement"]))


def test_generated_live_reads_are_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_permissions.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("which", ["function", "member"])
def test_live_reads_are_exactly_the_collectors_actions(
    which: str, function_policy: list[dict[str, Any]], member_policy: list[dict[str, Any]]
) -> None:
    statements = function_policy if which == "function" else member_policy
    live = [s for s in statements if s.get("Sid") in LIVE_SIDS]
    assert granted(live) == set(required_actions())
    for statement in live:
        actions = as_list(statement["Action"])
        assert actions == sorted(actions)
        if statement["Resource"] == "*":
            assert not [a for a in actions if supports_resource_level(a)]
        else:  # the account's own resources of each service, never "*"
            assert "*" not in as_list(statement["Resource"])
            assert all(
                "${AWS::AccountId}" in r or ":s3:::" in r or "::aws:policy/" in r or "::/*" in r
                for r in map(resource_name, as_list(statement["Resource"]))
            )


def test_function_policy_grants_exactly_the_live_reads_and_the_pipeline(
    function_policy: list[dict[str, Any]],
) -> None:
    assert granted(function_policy) == set(required_actions()) | PIPELINE_READS | set(
        PIPELINE_WRITES
    )


def test_writes_go_only_to_the_auditors_own_resources(
    function_policy: list[dict[str, Any]],
) -> None:
    for statement in function_policy:
        writes = [a for a in as_list(statement["Action"]) if not is_read(a)]
        resources = {resource_name(r) for r in as_list(statement["Resource"])}
        for action in writes:
            assert action in PIPELINE_WRITES, f"{statement.get('Sid')}: unexpected write {action}"
            assert resources <= PIPELINE_WRITES[action], (statement.get("Sid"), action, resources)


def test_stack_reads_are_scoped_to_stacks_where_iam_allows(
    function_policy: list[dict[str, Any]], member_policy: list[dict[str, Any]]
) -> None:
    for statements in (function_policy, member_policy):
        for statement in statements:
            for action in set(as_list(statement["Action"])) & STACK_READS:
                expected = (
                    "*"
                    if action == "cloudformation:ListStacks"  # no resource-level permissions
                    else "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}"
                    ":stack/*"
                )
                assert resource_name(statement["Resource"]) == expected, action


def test_member_role_reads_stacks_and_live_state_and_writes_nothing(
    member_policy: list[dict[str, Any]],
) -> None:
    actions = granted(member_policy)
    assert actions == set(required_actions()) | STACK_READS
    assert [a for a in actions if not is_read(a)] == []
    member = load_template_file(ROOT / "member" / "member-role.yaml").data
    role = member["Resources"]["MemberRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Ref": "AuditorRoleArn"}}
    assert trust["Action"] == "sts:AssumeRole" and "Condition" not in trust
    assert role["RoleName"] == {"Fn::Sub": "${MemberRoleName}-${EnvironmentSuffix}"}


def test_member_role_name_is_the_one_the_functions_assume(template: dict[str, Any]) -> None:
    for function in ("AuditFunction", "SweepFunction"):
        env = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert env["MEMBER_ROLE_NAME"] == {"Fn::Sub": "${MemberRoleName}-${EnvironmentSuffix}"}
    member = load_template_file(ROOT / "member" / "member-role.yaml").data
    ours, theirs = template["Parameters"]["MemberRoleName"], member["Parameters"]["MemberRoleName"]
    assert ours["Default"] == theirs["Default"] == "stack-auditor-member"
    assert ours["AllowedPattern"] == theirs["AllowedPattern"]


def test_the_other_roles_do_one_thing(template: dict[str, Any]) -> None:
    role = template["Resources"]["SweepScheduleRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    (document,) = role["Policies"]
    grants = {
        (action, resource_name(s["Resource"]))
        for s in flattened(document["PolicyDocument"]["Statement"])
        for action in as_list(s["Action"])
    }
    assert grants == {
        ("lambda:InvokeFunction", "SweepFunction"),
        ("sqs:SendMessage", "DeadLetterQueue"),
        ("kms:GenerateDataKey", "MessagingKey"),
        ("kms:Decrypt", "MessagingKey"),
    }
    forwarding = load_template_file(ROOT / "member" / "forwarding-rule.yaml").data
    (document,) = forwarding["Resources"]["ForwardingRole"]["Properties"]["Policies"]
    (put,) = document["PolicyDocument"]["Statement"]
    assert put["Action"] == ["events:PutEvents"]
    assert resource_name(put["Resource"]).endswith(":${AuditorAccountId}:event-bus/default")


def test_the_event_bus_accepts_only_cloudformation_events_from_members(
    template: dict[str, Any],
) -> None:
    policies = {
        k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Events::EventBusPolicy"
    }
    assert {k: v["Condition"] for k, v in policies.items()} == {
        "MemberAccountsEventBusPolicy": "HasMemberAccounts",
        "MemberOrganizationEventBusPolicy": "HasMemberOrganization",
    }
    for resource in policies.values():
        statement = resource["Properties"]["Statement"]
        assert statement["Action"] == "events:PutEvents"
        assert statement["Condition"]["ForAllValues:StringEquals"] == {
            "events:source": ["aws.cloudformation"]
        }
    accounts = policies["MemberAccountsEventBusPolicy"]["Properties"]["Statement"]
    assert accounts["Principal"] == {"AWS": {"Ref": "MemberAccountIds"}}
    organization = policies["MemberOrganizationEventBusPolicy"]["Properties"]["Statement"]
    assert organization["Condition"]["StringEquals"] == {
        "aws:PrincipalOrgID": {"Ref": "MemberOrganizationId"}
    }

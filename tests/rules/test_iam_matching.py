"""The IAM statement helpers the IAM and Lambda X rules share (rules/_iam.py)."""

from __future__ import annotations

from typing import Any

from stack_auditor.model import Unresolved, freeze
from stack_auditor.rules._iam import (
    Access,
    access,
    covers_action,
    parse_document,
    supports_resource_level,
)

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"


def _statements(*raw: dict[str, Any]) -> tuple[Any, ...]:
    statements, problem = parse_document(freeze({"Statement": list(raw)}), "Role", "p", "inline")
    assert problem is None
    return statements


def test_allow_with_wildcards_grants() -> None:
    st = _statements(
        {"Effect": "Allow", "Action": "dynamodb:Get*", "Resource": "arn:aws:dynamodb:*:*:table/*"}
    )
    assert access(st, "dynamodb:GetItem", [TABLE]) is Access.ALLOWED
    assert access(st, "dynamodb:PutItem", [TABLE]) is Access.NOT_ALLOWED


def test_actions_compare_case_insensitively_resources_do_not() -> None:
    st = _statements({"Effect": "Allow", "Action": "DynamoDB:getitem", "Resource": TABLE.upper()})
    assert covers_action(st[0], "dynamodb:GetItem")
    assert access(st, "dynamodb:GetItem", [TABLE]) is Access.NOT_ALLOWED


def test_unconditional_deny_wins_conditional_deny_does_not() -> None:
    allow = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "dynamodb:*", "Resource": TABLE}
    assert access(_statements(allow, deny), "dynamodb:GetItem", [TABLE]) is Access.NOT_ALLOWED
    conditional = {**deny, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert access(_statements(allow, conditional), "dynamodb:GetItem", [TABLE]) is Access.ALLOWED


def test_not_action_and_not_resource() -> None:
    st = _statements(
        {"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"}
    )
    assert access(st, "dynamodb:GetItem", [TABLE]) is Access.ALLOWED
    assert access(st, "iam:PassRole", ["*"]) is Access.NOT_ALLOWED
    assert access(st, "s3:GetObject", ["arn:aws:s3:::secret/x"]) is Access.NOT_ALLOWED


def test_unresolved_resource_or_unreadable_policy_is_unknown() -> None:
    st = _statements(
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": Unresolved("import")}
    )
    assert access(st, "dynamodb:GetItem", [TABLE]) is Access.UNKNOWN
    assert access((), "dynamodb:GetItem", [TABLE], complete=False) is Access.UNKNOWN


def test_policy_document_as_json_string() -> None:
    doc = '{"Statement": {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}}'
    statements, problem = parse_document(doc, "Queue", "p", "resource-policy")
    assert problem is None and access(statements, "sqs:SendMessage", ["arn:x"]) is Access.ALLOWED


def test_resource_level_support_from_data() -> None:
    assert supports_resource_level("s3:GetObject")
    assert supports_resource_level("s3:Get*")
    assert not supports_resource_level("xray:PutTraceSegments")
    assert not supports_resource_level("cloudwatch:PutMetricData")  # the catalog's example
    assert not supports_resource_level("ec2:Describe*")  # ~17 of ~190 take resources
    assert supports_resource_level("newservice:DoThing")  # unknown: worth a look

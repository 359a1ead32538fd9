"""Multi-account: an event from a member account is audited through the member role there.

Two accounts in moto (in-process): the auditor (123456789012) holds the findings table; the
member (222222222222) holds the stack, deployed with member/member-role.yaml beside it. The
audit function gets events/member/create_complete.json pointed at the member's stack.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from lambda_world import (
    AUDITOR,
    MEMBER,
    MEMBER_ROLE,
    REGION,
    ROOT,
    Auditor,
    Context,
    deploy,
    load_handler,
    member_session,
    provision_auditor,
    stack_event,
)
from moto import mock_aws
from sample_stacks import BROKEN_PAYMENTS
from stack_auditor.accounts import MemberAccessError

STACK = "sample-payments"
ROLE_ARN = f"arn:aws:iam::{MEMBER}:role/{MEMBER_ROLE}"
AUDITOR_ROLE_ARN = f"arn:aws:iam::{AUDITOR}:role/stack-auditor-dev-AuditFunctionRole"


@pytest.fixture
def auditor(monkeypatch: pytest.MonkeyPatch) -> Iterator[Auditor]:
    with mock_aws():
        yield provision_auditor(monkeypatch)


@pytest.fixture
def app(auditor: Auditor) -> ModuleType:
    return load_handler("functions/audit/app.py", "audit_app_multi_account")


@pytest.fixture
def member(auditor: Auditor) -> boto3.session.Session:
    """The member account, with member/member-role.yaml deployed as a StackSet would."""
    session = member_session()
    session.client("cloudformation").create_stack(
        StackName="stack-auditor-member",
        TemplateBody=(ROOT / "member" / "member-role.yaml").read_text(),
        Parameters=[
            {
                "ParameterKey": "AuditorRoleArn",
                "ParameterValue": AUDITOR_ROLE_ARN,
            },
            {"ParameterKey": "EnvironmentSuffix", "ParameterValue": "dev"},
        ],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    return session


def assume_role_calls(app: ModuleType) -> list[str]:
    """The RoleArn of every AssumeRole the handler's own clients make, recorded as they go."""
    calls: list[str] = []
    sts = app._clients()["accounts"].own_clients(REGION)("sts")
    sts.meta.events.register(
        "before-parameter-build.sts.AssumeRole", lambda params, **_: calls.append(params["RoleArn"])
    )
    return calls


def deny_assume_role(app: ModuleType) -> None:
    """STS refuses the member role (it is missing, or does not trust the auditor)."""

    def deny(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not authorized to perform"}},
            "AssumeRole",
        )

    app._clients()["accounts"].own_clients(REGION)("sts").meta.events.register(
        "before-call.sts.AssumeRole", deny
    )


def test_member_role_template_deploys_the_role_the_auditor_assumes(
    member: boto3.session.Session,
) -> None:
    role = member.client("iam").get_role(RoleName=MEMBER_ROLE)["Role"]
    assert role["Arn"] == ROLE_ARN
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": AUDITOR_ROLE_ARN}


def test_member_event_is_audited_with_the_member_accounts_resources(
    app: ModuleType, auditor: Auditor, member: boto3.session.Session
) -> None:
    stack_id = deploy(member, STACK, BROKEN_PAYMENTS)
    assert stack_id.split(":")[4] == MEMBER
    # Only live in the member account: its queue's encryption turned off after deployment.
    sqs = member.client("sqs")
    url = sqs.get_queue_url(QueueName="payments-queue")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"SqsManagedSseEnabled": "false"})
    calls = assume_role_calls(app)

    summary = app.lambda_handler(stack_event("member/create_complete.json", stack_id), Context())

    assert (summary["status"], summary["account"], summary["stack"]) == ("audited", MEMBER, STACK)
    assert calls == [ROLE_ARN]
    stored = auditor.findings(STACK, account=MEMBER)
    assert {
        ("iam-admin-access", "PaymentsRole"),
        ("required-tags-missing", "PaymentsQueue"),
        ("sqs-queue-unencrypted", "PaymentsQueue"),
    } <= set(stored)
    assert auditor.findings(STACK, account=AUDITOR) == {}
    # The auditor account has no such stack: everything was read in the member account.
    with pytest.raises(ClientError, match="does not exist"):
        auditor.session.client("cloudformation").describe_stacks(StackName=STACK)

    # A second event reuses the member's clients (credentials cached per container).
    again = stack_event("member/create_complete.json", stack_id)
    again["id"], again["detail"]["status-details"]["status"] = "second", "UPDATE_COMPLETE"
    assert app.lambda_handler(again, Context())["status"] == "audited"
    assert calls == [ROLE_ARN]


def test_own_account_event_assumes_no_role(app: ModuleType, auditor: Auditor) -> None:
    stack_id = deploy(auditor.session, STACK, BROKEN_PAYMENTS)
    calls = assume_role_calls(app)
    summary = app.lambda_handler(stack_event("create_complete.json", stack_id), Context())
    assert (summary["status"], summary["account"]) == ("audited", AUDITOR)
    assert calls == []
    assert ("iam-admin-access", "PaymentsRole") in auditor.findings(STACK)


def test_denied_member_role_is_recorded_and_raised_for_retry(
    app: ModuleType, auditor: Auditor, member: boto3.session.Session
) -> None:
    stack_id = deploy(member, STACK, BROKEN_PAYMENTS)
    deny_assume_role(app)
    event = stack_event("member/create_complete.json", stack_id)
    with pytest.raises(MemberAccessError) as raised:
        app.lambda_handler(event, Context())
    assert str(raised.value).startswith(
        f"cannot assume {ROLE_ARN} to read account {MEMBER}: AccessDenied: not authorized"
    )
    (record,) = auditor.items(STACK, "AUDIT#", account=MEMBER)
    assert record["outcome"] == "failed" and record["audit_id"] == event["id"]
    assert record["reason"] == str(raised.value)
    assert auditor.findings(STACK, account=MEMBER) == {}


def test_delete_event_resolves_even_when_the_member_role_fails(
    app: ModuleType, auditor: Auditor, member: boto3.session.Session
) -> None:
    stack_id = deploy(member, STACK, BROKEN_PAYMENTS)
    app.lambda_handler(stack_event("member/create_complete.json", stack_id), Context())
    assert set(auditor.findings(STACK, account=MEMBER).values()) == {"OPEN"}
    member.client("cloudformation").delete_stack(StackName=STACK)
    app._clients.cache_clear()  # a new container: no cached member credentials
    deny_assume_role(app)

    delete = json.loads((ROOT / "events" / "delete_complete.json").read_text())
    delete.update(account=MEMBER, resources=[stack_id], time="2030-01-01T00:00:00Z")
    delete["detail"]["stack-id"] = stack_id
    summary = app.lambda_handler(delete, Context())

    assert summary["status"] == "deleted" and summary["resolved"] >= 3
    assert set(auditor.findings(STACK, account=MEMBER).values()) == {"RESOLVED"}

"""The Lambda handlers in moto, in-process (imported as ``lambda_world``; used inside mock_aws).

``Auditor`` provisions the auditor's findings table and alert topic from template.yaml in the
auditor account (moto's default, 123456789012), loads a handler module from functions/ with
the environment the template gives it, and reads back what was stored. ``member_session``
gives a session in another account: moto files the calls made with credentials of a role
assumed in that account under that account (its multi-account support), as AWS would.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from stack_auditor.collect.clients import Clients
from stack_auditor.emulator import provision_from_template
from stack_auditor.emulator_fixups import repair_deployment

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
REGION = "us-east-1"
AUDITOR = "123456789012"  # moto's default account
MEMBER = "222222222222"
MEMBER_ROLE = "stack-auditor-member-dev"  # MemberRoleName-EnvironmentSuffix


@dataclass
class Context:
    """The attributes Powertools and the handlers read from the Lambda context object."""

    function_name: str = "stack-auditor-dev-audit"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        f"arn:aws:lambda:{REGION}:{AUDITOR}:function:stack-auditor-dev-audit"
    )
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    remaining_millis: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


def load_handler(relative: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def member_session(account: str = MEMBER) -> boto3.session.Session:
    """A session acting in ``account`` (through an assumed role, as an operator would)."""
    sts = boto3.session.Session(region_name=REGION).client("sts")
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="test-setup",
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


def deploy(session: boto3.session.Session, name: str, template: Mapping[str, Any]) -> str:
    cfn = session.client("cloudformation")
    created = cfn.create_stack(
        StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"]
    )
    # moto stores role inline policies as Python text and skips stack tags (emulator_fixups)
    repair_deployment(Clients(session), name)
    return str(created["StackId"])


def named_queue_stack(template: Mapping[str, Any]) -> dict[str, Any]:
    """``template`` with its queue named after the stack, so several copies can be deployed."""
    copy = json.loads(json.dumps(template))
    copy["Resources"]["PaymentsQueue"]["Properties"]["QueueName"] = {
        "Fn::Sub": "${AWS::StackName}-queue"
    }
    return copy


def stack_event(relative: str, stack_id: str) -> dict[str, Any]:
    """An events/ file pointed at a stack moto deployed (as the real event would be)."""
    raw = json.loads((EVENTS / relative).read_text())
    raw["detail"]["stack-id"] = stack_id
    raw["resources"] = [stack_id]
    raw["account"] = stack_id.split(":")[4]
    # after the deployment, in whole seconds, as CloudFormation stamps its events: an event
    # older than the stack's deployment is about a replaced deployment (audit.py)
    raw["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return raw


@dataclass
class Auditor:
    session: boto3.session.Session
    table_name: str
    topic_arn: str
    handlers: dict[str, ModuleType] = field(default_factory=dict)

    @property
    def table(self) -> Any:
        return self.session.resource("dynamodb").Table(self.table_name)

    def items(self, stack: str, prefix: str, account: str = AUDITOR) -> list[dict[str, Any]]:
        got = self.table.query(
            KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            ExpressionAttributeValues={":p": f"STACK#{account}#{REGION}#{stack}", ":s": prefix},
        )
        return list(got["Items"])

    def findings(self, stack: str, account: str = AUDITOR) -> dict[tuple[str, str | None], str]:
        return {
            (i["rule_id"], i.get("logical_id")): i["status"]
            for i in self.items(stack, "FINDING#", account)
        }


def provision_auditor(monkeypatch: pytest.MonkeyPatch) -> Auditor:
    """The auditor's table and topic, and the environment template.yaml gives its functions."""
    for key, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": "stack-auditor",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "StackAuditor",
        "MEMBER_ROLE_NAME": MEMBER_ROLE,
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("ALERT_MIN_SEVERITY", "REQUIRED_TAGS", "MEMBER_ACCOUNT_IDS", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    session = boto3.session.Session(region_name=REGION)
    provisioned = provision_from_template(
        ROOT / "template.yaml", session, names={"FindingsTable": "findings"}
    )
    monkeypatch.setenv("FINDINGS_TABLE", provisioned.table_name)
    monkeypatch.setenv("ALERT_TOPIC_ARN", provisioned.topic_arn)
    return Auditor(session, provisioned.table_name, provisioned.topic_arn)

"""run_audit end to end in moto (in-process): each events/ file against a deployed
`sample-payments` stack; the findings table and alert topic come from template.yaml through
the emulator; alerts are read from an SQS queue subscribed to the topic (real delivery)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sample_stacks import BROKEN_PAYMENTS
from stack_auditor.audit import AuditStatus, run_audit
from stack_auditor.collect.clients import Clients
from stack_auditor.config import AuditConfig
from stack_auditor.emulator import provision_from_template
from stack_auditor.emulator_fixups import repair_deployment
from stack_auditor.event import EventAction, parse_event
from stack_auditor.model import FindingStatus, Severity, StackRef
from stack_auditor.store import FindingsStore

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
STACK = "sample-payments"

# The same stack, fixed.
GOOD_TEMPLATE = {
    "Resources": {
        "PaymentsQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": {"Fn::Sub": "${AWS::StackName}-queue"},
                "Tags": [{"Key": "iac-rlhf-amazon", "Value": "true"}],
            },
        },
        "PaymentsRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": BROKEN_PAYMENTS["Resources"]["PaymentsRole"][
                    "Properties"
                ]["AssumeRolePolicyDocument"],
                "Policies": [
                    {
                        "PolicyName": "send",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "sqs:SendMessage",
                                    "Resource": {"Fn::GetAtt": ["PaymentsQueue", "Arn"]},
                                }
                            ],
                        },
                    }
                ],
                "Tags": [{"Key": "iac-rlhf-amazon", "Value": "true"}],
            },
        },
    }
}


@dataclass
class World:
    cfn: Any
    sns: Any
    sqs: Any
    store: FindingsStore
    topic_arn: str
    queue_url: str

    def deploy(self, template: dict[str, Any]) -> str:
        try:
            self.cfn.describe_stacks(StackName=STACK)
        except self.cfn.exceptions.ClientError:
            stack_id = self.cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(template))
        else:
            stack_id = self.cfn.update_stack(StackName=STACK, TemplateBody=json.dumps(template))
        # moto stores role inline policies as Python text and skips stack tags (emulator_fixups)
        repair_deployment(Clients(region="us-east-1"), STACK)
        return str(stack_id["StackId"])

    def alerts(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        out = []
        for msg in messages.get("Messages", []):
            out.append(json.loads(msg["Body"]))
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=msg["ReceiptHandle"])
        return out

    def stored(self) -> dict[str, FindingStatus]:
        return {
            f"{f.rule_id}:{f.logical_id}": f.status
            for f in self.store.findings_for_stack("123456789012", "us-east-1", STACK)
        }

    def run(self, ref: StackRef, config: AuditConfig | None = None) -> Any:
        return run_audit(
            ref,
            cfn_client=self.cfn,
            store=self.store,
            sns_client=self.sns,
            topic_arn=self.topic_arn,
            config=config or AuditConfig(),
        )


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        provisioned = provision_from_template(
            ROOT / "template.yaml", session, names={"FindingsTable": "findings"}
        )
        sqs = session.client("sqs")
        queue_url = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns = session.client("sns")
        sns.subscribe(TopicArn=provisioned.topic_arn, Protocol="sqs", Endpoint=queue_arn)
        yield World(
            cfn=session.client("cloudformation"),
            sns=sns,
            sqs=sqs,
            store=FindingsStore(session.resource("dynamodb").Table(provisioned.table_name)),
            topic_arn=provisioned.topic_arn,
            queue_url=queue_url,
        )


def event_ref(name: str, stack_id: str, *, time: datetime | None = None) -> StackRef:
    """The events/ file, pointed at the stack moto deployed (as the real event would be)."""
    raw = json.loads((EVENTS / name).read_text())
    raw["detail"]["stack-id"] = stack_id
    raw["resources"] = [stack_id]
    # Event times have whole seconds, like CloudFormation's.
    raw["time"] = (time or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    parsed = parse_event(raw)
    assert parsed.action is EventAction.AUDIT and parsed.ref is not None
    return parsed.ref


EXPECTED_BAD = {"iam-admin-access:PaymentsRole", "required-tags-missing:PaymentsQueue"}


@pytest.mark.parametrize(
    "name",
    [
        "create_complete.json",
        "update_complete.json",
        "import_complete.json",
        "update_rollback_complete.json",
    ],
)
def test_each_audit_event_stores_findings_and_alerts_once(world: World, name: str) -> None:
    stack_id = world.deploy(BROKEN_PAYMENTS)
    result = world.run(event_ref(name, stack_id))
    assert result.status is AuditStatus.AUDITED
    stored = world.stored()
    assert set(stored) >= EXPECTED_BAD
    assert all(s is FindingStatus.OPEN for s in stored.values())

    (alert,) = world.alerts()
    assert alert["Subject"].startswith("[CRITICAL] sample-payments: ")
    assert "iam-admin-access on PaymentsRole" in alert["Message"]
    assert alert["MessageAttributes"]["stack_name"]["Value"] == STACK
    assert alert["MessageId"] == result.message_id

    audits = world.store.audits_for_stack("123456789012", "us-east-1", STACK)
    assert audits[0]["stack_status"] == name.removesuffix(".json").upper()
    assert audits[0]["outcome"] == "ok" and "alert_pending" not in audits[0]
    assert audits[0]["counts"]["new"] == len(stored)

    # the same event again (EventBridge delivers at least once): nothing new, no alert
    again = world.run(event_ref(name, stack_id))
    assert again.changes is not None and not again.changes.new
    assert again.alert is None and world.alerts() == []


def test_delete_event_resolves_everything_and_alerts(world: World) -> None:
    stack_id = world.deploy(BROKEN_PAYMENTS)
    world.run(event_ref("create_complete.json", stack_id))
    world.alerts()
    world.cfn.delete_stack(StackName=STACK)
    result = world.run(event_ref("delete_complete.json", stack_id))
    assert result.status is AuditStatus.DELETED
    assert set(world.stored().values()) == {FindingStatus.RESOLVED}
    (alert,) = world.alerts()
    assert alert["Subject"].startswith("[RESOLVED] sample-payments: ")
    assert alert["MessageAttributes"]["new_count"]["Value"] == "0"


def test_fix_then_update_resolves_and_alerts_resolved(world: World) -> None:
    stack_id = world.deploy(BROKEN_PAYMENTS)
    world.run(event_ref("create_complete.json", stack_id))
    first = world.stored()
    world.alerts()
    world.deploy(GOOD_TEMPLATE)
    result = world.run(event_ref("update_complete.json", stack_id))
    assert result.changes is not None
    resolved = {f"{f.rule_id}:{f.logical_id}" for f in result.changes.resolved}
    assert resolved >= EXPECTED_BAD
    stored = world.stored()
    assert stored["iam-admin-access:PaymentsRole"] is FindingStatus.RESOLVED
    assert set(first) <= set(stored)  # nothing deleted, history kept
    (alert,) = world.alerts()
    assert "resolved" in alert["Subject"] and "iam-admin-access" in alert["Message"]


def test_below_threshold_is_stored_but_not_alerted(world: World) -> None:
    stack_id = world.deploy(BROKEN_PAYMENTS)
    result = world.run(
        event_ref("create_complete.json", stack_id),
        AuditConfig(
            alert_min_severity=Severity.CRITICAL, disabled_rules=frozenset({"iam-admin-access"})
        ),
    )
    assert result.status is AuditStatus.AUDITED and result.alert is None
    assert world.stored() and world.alerts() == []


def test_stack_gone_ends_cleanly_without_resolving(world: World) -> None:
    stack_id = world.deploy(BROKEN_PAYMENTS)
    world.run(event_ref("create_complete.json", stack_id))
    world.alerts()
    world.cfn.delete_stack(StackName=STACK)
    result = world.run(event_ref("update_complete.json", stack_id))
    assert result.status is AuditStatus.STACK_GONE
    assert set(world.stored().values()) == {FindingStatus.OPEN}
    assert world.alerts() == []


def test_late_delete_of_an_older_deployment_is_stale(world: World) -> None:
    stack_id = world.deploy(BROKEN_PAYMENTS)
    world.run(event_ref("create_complete.json", stack_id))
    world.alerts()
    result = world.run(
        event_ref("delete_complete.json", stack_id, time=datetime(2020, 1, 1, tzinfo=UTC))
    )
    assert result.status is AuditStatus.STALE
    assert set(world.stored().values()) == {FindingStatus.OPEN}
    assert world.alerts() == []


def test_failed_publish_is_announced_on_retry(world: World) -> None:
    stack_id = world.deploy(BROKEN_PAYMENTS)
    ref = event_ref("create_complete.json", stack_id)
    with pytest.raises(Exception, match=r"NotFound|does not exist"):
        run_audit(
            ref,
            cfn_client=world.cfn,
            store=world.store,
            sns_client=world.sns,
            topic_arn=world.topic_arn + "-missing",
            config=AuditConfig(),
        )
    assert world.alerts() == []
    retry = world.run(ref)
    assert retry.alert is not None
    (alert,) = world.alerts()
    assert alert["Subject"].startswith("[CRITICAL] sample-payments")


def test_collect_error_is_recorded_and_raised(world: World) -> None:
    from stack_auditor.collect.cloudformation import CollectError

    # CloudFormation (and moto) keep the last of two duplicate keys; our loader refuses the
    # template, the way it would refuse any template it cannot read.
    body = (
        "Resources:\n"
        "  PaymentsQueue:\n"
        "    Type: AWS::SQS::Queue\n"
        "    Properties:\n"
        "      VisibilityTimeout: 30\n"
        "      VisibilityTimeout: 60\n"
    )
    stack_id = world.cfn.create_stack(StackName=STACK, TemplateBody=body)["StackId"]
    with pytest.raises(CollectError, match="duplicate"):
        world.run(event_ref("create_complete.json", stack_id))
    (audit,) = world.store.audits_for_stack("123456789012", "us-east-1", STACK)
    assert audit["outcome"] == "failed" and "duplicate" in audit["reason"]
    assert world.stored() == {}
    assert world.store.stack_state("123456789012", "us-east-1", STACK) is None


def test_events_out_of_order_audit_each_deployment_once(world: World) -> None:
    stack_id = world.deploy(BROKEN_PAYMENTS)
    created = world.cfn.describe_stacks(StackName=STACK)["Stacks"][0]["CreationTime"]
    world.deploy(GOOD_TEMPLATE)
    # moto never sets LastUpdatedTime on an update, which orders a stack's deployments: it is
    # added to DescribeStacks' real response, one second after the creation
    updated = created + timedelta(seconds=1, milliseconds=400)

    def add_last_updated(parsed: dict[str, Any], **_: Any) -> None:
        for stack in parsed.get("Stacks", []):
            stack["LastUpdatedTime"] = updated

    world.cfn.meta.events.register("after-call.cloudformation.DescribeStacks", add_last_updated)
    update = event_ref("update_complete.json", stack_id, time=updated + timedelta(seconds=2))
    late_create = event_ref("create_complete.json", stack_id, time=created)

    first = world.run(update)
    stored = world.stored()
    announced = world.alerts()
    late = world.run(late_create)

    assert first.status is AuditStatus.AUDITED and late.status is AuditStatus.STALE
    assert "replaced" in late.detail
    audits = world.store.audits_for_stack("123456789012", "us-east-1", STACK)
    assert [a["outcome"] for a in audits] == ["ok"]  # one audit, of the update
    assert "iam-admin-access:PaymentsRole" not in stored  # the update's state, not the create's
    assert world.stored() == stored and world.alerts() == []
    assert len(announced) == (1 if first.alert else 0)

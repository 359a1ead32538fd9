"""A fresh moto world for fault injection: a deployed sample stack, its findings table, alert
topic and an SQS inbox subscribed to the topic, and an ``Injector`` that makes one AWS call fail.

Every boto3 client the audit uses (CloudFormation, DynamoDB through the store, SNS, and the
collectors' ``Clients``) is created from one session whose event system carries the injector,
so a fault is raised by botocore's own ``before-call`` / ``after-call`` events on the real
clients: no fake of boto3. An error raised from ``before-call`` is not retried by botocore,
which is what a caller sees once adaptive retries give up. A ``LostResponse`` fault raises
from ``after-call``: the request reached the service (the write happened) and the caller
still sees an error. A ``DeleteStack`` fault deletes the stack (through a client of another
session) just before the call and lets the call go on.

The sample stack (``sample_template``) has a queue, table, topic, bucket, key, role with an
inline policy, function and log group. ``change`` moves it from its first state to its
second: a stack update (the role loses ``Action: *``) and live changes the template does not
show (one queue is encrypted again, another loses its encryption, a third stays unencrypted),
so the second audit creates, keeps and resolves findings from both the template and the live
side. What moto's CloudFormation does not deploy faithfully (a role's inline policy, a KMS
key policy's text) is set through the service API, so the clean result is the same whichever
collectors are registered.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws
from stack_auditor.audit import AuditResult, run_audit
from stack_auditor.collect.clients import CallCounter, Clients
from stack_auditor.config import AuditConfig
from stack_auditor.model import FindingStatus, Severity, StackRef
from stack_auditor.store import FindingsStore
from stack_auditor.store_schema import (
    ATTRIBUTE_DEFINITIONS,
    AUDIT_PREFIX,
    FINDING_PREFIX,
    GLOBAL_SECONDARY_INDEXES,
    KEY_SCHEMA,
    stack_pk,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
STACK = "fault-sample"
TABLE = "findings"
# every finding is alerted, so the alerts account for every change
CONFIG = AuditConfig(alert_min_severity=Severity.INFORMATIONAL)

WRITE_OPERATIONS = frozenset(
    {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:TransactWriteItems",
    }
)
ERROR_KINDS = ("Throttling", "AccessDenied", "NotFound", "InternalError")
LOST_RESPONSE = "LostResponse"  # the call took effect, its answer was lost
DELETE_STACK = "DeleteStack"  # the stack is deleted just before the call

State = dict[str, tuple[str, str | None, FindingStatus]]  # finding id -> (rule, logical id, status)

_ROOT = "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
_TAGS = [{"Key": "iac-rlhf-amazon", "Value": "true"}]
_ASSUME = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }
    ],
}


def sample_template(version: int) -> dict[str, Any]:
    """The sample stack; version 2 narrows the role's inline policy."""
    statement: dict[str, Any] = (
        {"Effect": "Allow", "Action": "*", "Resource": "*"}
        if version == 1
        else {
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["OrdersQueue", "Arn"]},
        }
    )
    return {
        "Resources": {
            "OrdersQueue": {"Type": "AWS::SQS::Queue", "Properties": {"Tags": _TAGS}},
            "JobsQueue": {"Type": "AWS::SQS::Queue", "Properties": {"Tags": _TAGS}},
            "AuditQueue": {"Type": "AWS::SQS::Queue", "Properties": {"Tags": _TAGS}},
            "OrdersTable": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "Tags": _TAGS,
                },
            },
            "EventsTopic": {"Type": "AWS::SNS::Topic", "Properties": {"Tags": _TAGS}},
            "DataBucket": {"Type": "AWS::S3::Bucket", "Properties": {"Tags": _TAGS}},
            # no Tags: moto's CloudFormation cannot tag a KMS key
            "DataKey": {
                "Type": "AWS::KMS::Key",
                "Properties": {
                    "EnableKeyRotation": True,
                    "KeyPolicy": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": {"Fn::Sub": _ROOT}},
                                "Action": "kms:*",
                                "Resource": "*",
                            }
                        ],
                    },
                },
            },
            "WorkerRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": _ASSUME,
                    "Policies": [
                        {
                            "PolicyName": "work",
                            "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
                        }
                    ],
                    "Tags": _TAGS,
                },
            },
            "WorkerFunction": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["WorkerRole", "Arn"]},
                    "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
                    "Tags": _TAGS,
                },
            },
            # left as it is by the update: moto's update of a log group loses its physical id
            "WorkerLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {"Tags": _TAGS}},
        }
    }


@dataclass(frozen=True, slots=True)
class Fault:
    """Which calls fail and how: ``kind`` on the ``occurrence``-th call (counted over all of
    ``operations``, "service:Operation"), or on every call when ``occurrence`` is None."""

    operations: frozenset[str]
    kind: str
    occurrence: int | None = 1

    @property
    def label(self) -> str:
        when = "every" if self.occurrence is None else f"#{self.occurrence}"
        return f"{'+'.join(sorted(self.operations))} {self.kind} {when}"


def _error(kind: str, protocol: str, operation: str) -> ClientError:
    # JSON-protocol services (DynamoDB, Lambda, Logs, KMS...) spell their codes "...Exception"
    json_api = protocol in ("json", "rest-json", "smithy-rpc-v2-cbor")
    code, status = {
        "Throttling": ("ThrottlingException" if json_api else "Throttling", 400),
        "AccessDenied": ("AccessDeniedException" if json_api else "AccessDenied", 403),
        "NotFound": ("ResourceNotFoundException", 404),
        "InternalError": ("InternalFailure" if json_api else "InternalError", 500),
        LOST_RESPONSE: ("RequestTimeout", 408),
    }[kind]
    response: Any = {
        "Error": {"Code": code, "Message": f"injected {kind}"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


class Injector:
    """Raises the armed ``Fault`` from botocore's call events; counts what it did."""

    def __init__(self, delete_stack: Callable[[], None]) -> None:
        self._delete_stack = delete_stack
        self._lock = threading.Lock()
        self.fault: Fault | None = None
        self.seen = 0
        self.fired = 0

    def arm(self, fault: Fault) -> None:
        with self._lock:
            self.fault, self.seen, self.fired = fault, 0, 0

    def disarm(self) -> None:
        with self._lock:
            self.fault = None

    def _hits(self, model: Any, stage: str) -> bool:
        fault = self.fault
        key = f"{model.service_model.service_name}:{model.name}"
        if fault is None or key not in fault.operations:
            return False
        if (fault.kind == LOST_RESPONSE) != (stage == "after"):
            return False
        with self._lock:
            self.seen += 1
            hit = fault.occurrence is None or self.seen == fault.occurrence
            self.fired += hit
        return hit

    def before_call(self, model: Any, **_: Any) -> None:
        if not self._hits(model, "before"):
            return
        assert self.fault is not None
        if self.fault.kind == DELETE_STACK:
            self._delete_stack()
            return
        raise _error(self.fault.kind, model.service_model.protocol, model.name)

    def after_call(self, model: Any, **_: Any) -> None:
        if self._hits(model, "after"):
            raise _error(LOST_RESPONSE, model.service_model.protocol, model.name)


@dataclass(frozen=True, slots=True)
class Alerts:
    """What the alerts delivered to the inbox announced: (rule id, logical id) -> times."""

    messages: int = 0
    new: Counter[tuple[str, str | None]] = field(default_factory=Counter)
    resolved: Counter[tuple[str, str | None]] = field(default_factory=Counter)

    def __add__(self, other: Alerts) -> Alerts:
        return Alerts(
            self.messages + other.messages, self.new + other.new, self.resolved + other.resolved
        )


_LISTED = re.compile(r"^- (\S+) on (\S+)")


def _announced(message: str) -> tuple[Counter[tuple[str, str | None]], ...]:
    new: Counter[tuple[str, str | None]] = Counter()
    resolved: Counter[tuple[str, str | None]] = Counter()
    section = new
    for line in message.splitlines():
        if line.startswith("New findings ("):
            section = new
        elif line.startswith("Resolved findings ("):
            section = resolved
        elif match := _LISTED.match(line):
            logical_id = None if match[2] == "(template)" else match[2]
            section[(match[1], logical_id)] += 1
    return new, resolved


@dataclass
class World:
    session: Any
    admin: Any  # a session without the injector: setup, inbox, the DeleteStack fault
    store: FindingsStore
    topic_arn: str
    inbox_url: str
    counter: CallCounter
    injector: Injector
    clients: Clients
    cfn: Any
    sns: Any
    stack_id: str = ""
    baseline: State = field(default_factory=dict)  # after the first audit
    event_times: dict[str, str] = field(default_factory=dict)

    def ref(
        self, event_id: str, status: str = "UPDATE_COMPLETE", trigger: str = "event"
    ) -> StackRef:
        """The event ``event_id``; its redelivery (a retry) carries the same time, as in AWS."""
        when = self.event_times.setdefault(
            event_id, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        )
        return StackRef(
            STACK,
            ACCOUNT,
            REGION,
            stack_id=self.stack_id,
            status=status,
            trigger=trigger,
            event_id=event_id,
            event_time=when,
        )

    def audit(self, ref: StackRef) -> AuditResult:
        return run_audit(
            ref,
            cfn_client=self.cfn,
            store=self.store,
            sns_client=self.sns,
            topic_arn=self.topic_arn,
            config=CONFIG,
            clients=self.clients,
        )

    def _items(self, prefix: str, attributes: str) -> list[dict[str, Any]]:
        # Projected reads through the uninstrumented session: the assertions neither count as
        # the audit's calls nor pay for moto serialising whole findings
        table = self.admin.resource("dynamodb").Table(TABLE)
        names = {f"#{a}": a for a in attributes.split()}
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": stack_pk(ACCOUNT, REGION, STACK),
                ":prefix": prefix,
            },
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": names,
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        while True:
            page = table.query(**kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def findings(self) -> State:
        """finding id -> (rule id, logical id, status), as stored now."""
        return {
            str(i["finding_id"]): (
                str(i["rule_id"]),
                str(i["logical_id"]) if i.get("logical_id") else None,
                FindingStatus(i["status"]),
            )
            for i in self._items(FINDING_PREFIX, "finding_id rule_id logical_id status")
        }

    def audit_items(self, audit_id: str) -> list[dict[str, Any]]:
        """The audit items of ``audit_id`` (outcome, gaps, alert_pending)."""
        items = self._items(AUDIT_PREFIX, "audit_id outcome gaps gap_count alert_pending")
        return [i for i in items if i.get("audit_id") == audit_id]

    def alerts(self) -> Alerts:
        """The alerts delivered since the last call (the inbox is emptied)."""
        sqs = self.admin.client("sqs")
        total = Alerts()
        while True:
            messages = sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10)
            batch = messages.get("Messages", [])
            if not batch:
                return total
            for message in batch:
                new, resolved = _announced(json.loads(message["Body"])["Message"])
                total = total + Alerts(1, new, resolved)
                sqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=message["ReceiptHandle"])

    def physical_id(self, logical_id: str) -> str:
        resource = self.admin.client("cloudformation").describe_stack_resource(
            StackName=STACK, LogicalResourceId=logical_id
        )
        return str(resource["StackResourceDetail"]["PhysicalResourceId"])

    def set_queue_encryption(self, logical_id: str, enabled: bool) -> None:
        # a live change the template does not show (drift), made through the SQS API
        self.admin.client("sqs").set_queue_attributes(
            QueueUrl=self.physical_id(logical_id),
            Attributes={"SqsManagedSseEnabled": "true" if enabled else "false"},
        )

    def put_role_policy(self, statement: dict[str, Any]) -> None:
        # moto's CloudFormation stores an inline policy document as Python's repr of it (no
        # JSON reader parses it): the template's documents are put through the IAM API
        self.admin.client("iam").put_role_policy(
            RoleName=self.physical_id("WorkerRole"),
            PolicyName="work",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )

    def fix_key_policy(self) -> None:
        # moto's CloudFormation keeps KeyPolicy as an object and GetKeyPolicy then answers an
        # object; KMS answers the policy's JSON text: set it through the KMS API
        key_id = self.physical_id("DataKey")
        policy = sample_template(1)["Resources"]["DataKey"]["Properties"]["KeyPolicy"]
        statement = dict(policy["Statement"][0], Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
        self.admin.client("kms").put_key_policy(
            KeyId=key_id,
            PolicyName="default",
            Policy=json.dumps(dict(policy, Statement=[statement])),
        )

    def change(self) -> None:
        """The sample stack's second state (see the module docstring)."""
        self.admin.client("cloudformation").update_stack(
            StackName=STACK,
            TemplateBody=json.dumps(sample_template(2)),
            Capabilities=["CAPABILITY_IAM"],
        )
        queue_arn = self.admin.client("sqs").get_queue_attributes(
            QueueUrl=self.physical_id("OrdersQueue"), AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.put_role_policy(
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}
        )
        self.set_queue_encryption("JobsQueue", True)
        self.set_queue_encryption("OrdersQueue", False)

    def delete_stack(self) -> None:
        self.admin.client("cloudformation").delete_stack(StackName=self.stack_id or STACK)


def _inbox(admin: Any, topic_arn: str) -> str:
    sqs = admin.client("sqs")
    url = str(sqs.create_queue(QueueName="alert-inbox")["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    admin.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


@contextmanager
def fresh_world() -> Iterator[World]:
    """A new moto account with the sample stack deployed, audited once (event ``e1``; its
    alert drained), and changed to its second state; nothing armed."""
    with mock_aws():
        admin = boto3.session.Session(region_name=REGION)
        session = boto3.session.Session(region_name=REGION)
        dynamodb: Any = admin.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=list(KEY_SCHEMA),
            AttributeDefinitions=list(ATTRIBUTE_DEFINITIONS),
            GlobalSecondaryIndexes=list(GLOBAL_SECONDARY_INDEXES),
            BillingMode="PAY_PER_REQUEST",
        )
        topic_arn = str(admin.client("sns").create_topic(Name="alerts")["TopicArn"])
        inbox_url = _inbox(admin, topic_arn)

        injector = Injector(lambda: admin.client("cloudformation").delete_stack(StackName=STACK))
        # registered on the session before any audit client exists: every client inherits it
        session.events.register("before-call", injector.before_call)
        session.events.register("after-call", injector.after_call)
        counter = CallCounter()
        cfn, sns = session.client("cloudformation"), session.client("sns")
        table = session.resource("dynamodb").Table(TABLE)
        for client in (cfn, sns, table.meta.client):
            counter.attach(client)
        world = World(
            session=session,
            admin=admin,
            store=FindingsStore(table),
            topic_arn=topic_arn,
            inbox_url=inbox_url,
            counter=counter,
            injector=injector,
            clients=Clients(session, region=REGION, counter=counter),
            cfn=cfn,
            sns=sns,
        )
        world.stack_id = str(
            admin.client("cloudformation").create_stack(
                StackName=STACK,
                TemplateBody=json.dumps(sample_template(1)),
                Capabilities=["CAPABILITY_IAM"],
            )["StackId"]
        )
        # live state the template does not show: two queues deployed without encryption
        world.set_queue_encryption("JobsQueue", False)
        world.set_queue_encryption("AuditQueue", False)
        world.fix_key_policy()
        world.put_role_policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
        world.audit(world.ref("e1", status="CREATE_COMPLETE"))
        world.alerts()
        world.baseline = world.findings()
        world.change()
        counter.reset()
        yield world

"""The emulator helpers. provision_from_template creates the auditor's table and topic, from
template.yaml, in a moto server (the same way the end-to-end tests and the demo do);
repair_deployment makes a stack deployed through moto's CloudFormation carry what its template
declares, read back through the audit's own collectors."""

from __future__ import annotations

import io
import json
import re
import urllib.request
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer
from stack_auditor.collect.clients import Clients
from stack_auditor.collect.cloudformation import snapshot_from_stack
from stack_auditor.collect.runner import collect_live
from stack_auditor.config import AuditConfig
from stack_auditor.emulator import EmulatorError, provision_from_template
from stack_auditor.emulator_fixups import prepare_deletion, repair_deployment
from stack_auditor.evaluate import evaluate
from stack_auditor.model import Outcome, StackRef, StackSnapshot, thaw
from stack_auditor.rules import CATALOG
from stack_auditor.store_schema import (
    ATTRIBUTE_DEFINITIONS,
    GLOBAL_SECONDARY_INDEXES,
    KEY_SCHEMA,
    RULE_INDEX,
    STATUS_SEVERITY_INDEX,
)

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # moto's backends are process-wide: start from an empty account
    reset = f"http://{host}:{port}/moto-api/reset"
    urllib.request.urlopen(urllib.request.Request(reset, method="POST"))
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def session(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> boto3.session.Session:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def _sorted(items: Any, key: str) -> list[Any]:
    return sorted(items, key=lambda i: i[key])


def test_table_and_topic_from_template_yaml(session: boto3.session.Session) -> None:
    provisioned = provision_from_template(
        TEMPLATE, session, names={"FindingsTable": "findings-a", "AlertTopic": "alerts-a"}
    )
    ddb = session.client("dynamodb")
    table = ddb.describe_table(TableName="findings-a")["Table"]
    assert table["KeySchema"] == list(KEY_SCHEMA)
    assert _sorted(table["AttributeDefinitions"], "AttributeName") == _sorted(
        ATTRIBUTE_DEFINITIONS, "AttributeName"
    )
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {STATUS_SEVERITY_INDEX, RULE_INDEX}
    for expected in GLOBAL_SECONDARY_INDEXES:
        got = indexes[expected["IndexName"]]
        assert got["KeySchema"] == expected["KeySchema"]
        assert got["Projection"] == {"ProjectionType": "ALL"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    # the template encrypts with its own key: created in the emulator too
    assert table["SSEDescription"]["KMSMasterKeyArn"] == provisioned.kms_keys["DataKey"]
    backups = ddb.describe_continuous_backups(TableName="findings-a")
    assert (
        backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
            "PointInTimeRecoveryStatus"
        ]
        == "ENABLED"
    )

    attrs = session.client("sns").get_topic_attributes(TopicArn=provisioned.topic_arn)["Attributes"]
    assert provisioned.topic_arn.endswith(":alerts-a")
    assert attrs["KmsMasterKeyId"] == provisioned.kms_keys["MessagingKey"]
    assert provisioned.kms_keys["DataKey"] != provisioned.kms_keys["MessagingKey"]


def test_clients_mapping_and_minimal_template(
    session: boto3.session.Session, tmp_path: Path
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n"
        "  FindingsTable:\n"
        "    Type: AWS::DynamoDB::Table\n"
        "    Properties:\n"
        "      TableName: !Sub '${AWS::StackName}-findings'\n"
        "      BillingMode: PAY_PER_REQUEST\n"
        "      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]\n"
        "      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n"
        "  AlertTopic:\n"
        "    Type: AWS::SNS::Topic\n"
        "    Properties: {KmsMasterKeyId: alias/aws/sns}\n"
    )
    clients = {"dynamodb": session.client("dynamodb"), "sns": session.client("sns")}
    provisioned = provision_from_template(
        path, clients, names={"FindingsTable": "findings-b", "AlertTopic": "alerts-b"}
    )
    assert provisioned.table_name == "findings-b" and provisioned.kms_keys == {}
    attrs = clients["sns"].get_topic_attributes(TopicArn=provisioned.topic_arn)["Attributes"]
    assert attrs["KmsMasterKeyId"] == "alias/aws/sns"


def test_missing_resource_is_an_error(session: boto3.session.Session, tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("Resources:\n  Other:\n    Type: AWS::SNS::Topic\n")
    with pytest.raises(EmulatorError, match="FindingsTable"):
        provision_from_template(path, session)


# -- emulator_fixups: a stack deployed through moto's CloudFormation, repaired, read live ----
# In-process moto (mock_aws). Each test deploys through moto's CloudFormation, runs
# repair_deployment and reads the stack back through the audit's collectors: the exact live
# values are the template's, and a second repair writes nothing.

SAMPLE_CLEAN = Path(__file__).resolve().parents[1] / "demo" / "stacks" / "sample-clean.yaml"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
REQUIRED = {"iac-rlhf-amazon": "true"}
KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}
ASSUME = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _client(service: str) -> Any:
    return boto3.session.Session().client(service, region_name=REGION)  # type: ignore[call-overload]


def _deploy(name: str, template: Mapping[str, Any] | str, **kwargs: Any) -> None:
    body = template if isinstance(template, str) else json.dumps(template)
    _client("cloudformation").create_stack(
        StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"], **kwargs
    )


def _repair(name: str) -> int:
    return repair_deployment(Clients(region=REGION), name, account=ACCOUNT, region=REGION)


def _read(name: str) -> StackSnapshot:
    """The stack as an audit reads it: template, physical ids and every collector's live state."""
    clients = Clients(region=REGION)
    snapshot = snapshot_from_stack(
        clients("cloudformation"), StackRef(name, account=ACCOUNT, region=REGION)
    )
    return collect_live(snapshot, clients, CATALOG)


def _failed(snapshot: StackSnapshot) -> set[tuple[str, str | None]]:
    return {
        (v.rule_id, v.logical_id)
        for v in evaluate(snapshot, AuditConfig())
        if v.outcome in (Outcome.FAIL, Outcome.UNKNOWN)
    }


def test_clean_sample_carries_every_declared_setting_live(aws: None) -> None:
    _deploy(
        "sample-clean",
        SAMPLE_CLEAN.read_text(encoding="utf-8"),
        Parameters=[{"ParameterKey": "EnvironmentSuffix", "ParameterValue": "dev"}],
        Tags=[{"Key": "iac-rlhf-amazon", "Value": "true"}],
    )
    assert _repair("sample-clean") > 0
    assert _repair("sample-clean") == 0  # only what differs is written

    snapshot = _read("sample-clean")
    live = {lid: thaw(r.live) for lid, r in snapshot.resources.items()}
    key_id = snapshot.resources["DataKey"].physical_id
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
    ops_topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:order-ops-alerts-dev"
    assert snapshot.gaps == ()
    # KMS: the policy is JSON again (moto's DescribeKey failed on it), the stack tag propagated
    assert live["DataKey"]["KeyPolicy"] == thaw(snapshot.resources["DataKey"].prop("KeyPolicy"))
    assert live["DataKey"]["KeyRotationEnabled"] is True
    assert live["DataKey"]["Tags"] == REQUIRED
    # DynamoDB: re-created with the declared key, point-in-time recovery on, tags kept
    assert live["OrdersTable"]["SSEDescription"] == {
        "Status": "ENABLED",
        "SSEType": "KMS",
        "KMSMasterKeyArn": key_arn,
    }
    backups = live["OrdersTable"]["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert live["OrdersTable"]["Tags"] == REQUIRED
    # Lambda: re-created with active tracing, its configuration and its tags
    function = live["OrderProcessorFunction"]
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert (function["Timeout"], function["MemorySize"], function["Runtime"]) == (
        30,
        256,
        "python3.12",
    )
    assert function["Environment"] == {
        "Variables": {
            "ORDERS_TABLE": "orders-dev",
            "ORDER_EVENTS_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:order-events-dev",
        }
    }
    assert function["Tags"] == REQUIRED
    # CloudWatch Logs: re-created with the key, retention and tags
    group = live["OrderProcessorLogGroup"]
    assert (group["kmsKeyId"], group["retentionInDays"], group["Tags"]) == (key_arn, 30, REQUIRED)
    # SNS: moto kept the key; the topics' own tags were applied
    for topic in ("OrderEventsTopic", "OpsAlertsTopic"):
        assert live[topic]["Attributes"]["KmsMasterKeyId"] == key_id
        assert live[topic]["Tags"] == REQUIRED
    # CloudWatch: the alarm exists under its name, which the stack now lists as physical id
    assert snapshot.resources["OrderProcessorErrorsAlarm"].physical_id == (
        "order-processor-errors-dev"
    )
    alarm = live["OrderProcessorErrorsAlarm"]
    assert alarm["AlarmActions"] == [ops_topic]
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": "order-processor-dev"}]
    assert (alarm["Threshold"], alarm["Period"], alarm["TreatMissingData"]) == (
        1.0,
        300,
        "notBreaching",
    )
    assert alarm["Tags"] == REQUIRED
    # IAM: the inline policy is the template's document, not moto's Python text
    role = snapshot.resources["OrderProcessorRole"]
    (policy,) = thaw(role.prop("Policies"))
    assert live["OrderProcessorRole"]["InlinePolicies"] == {
        "order-processing": policy["PolicyDocument"]
    }
    assert _failed(snapshot) == set()


def test_an_alarm_without_a_name_gets_cloudformations_and_goes_with_the_stack(aws: None) -> None:
    _deploy(
        "alarms",
        {
            "Resources": {
                "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts"}},
                "Errors": {
                    "Type": "AWS::CloudWatch::Alarm",
                    "Properties": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Errors",
                        "Statistic": "Sum",
                        "Period": "60",
                        "EvaluationPeriods": 1,
                        "Threshold": 1,
                        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                        "AlarmActions": [{"Ref": "Topic"}],
                    },
                },
            }
        },
    )
    cfn = _client("cloudformation")
    # moto's CloudFormation lists the unsupported alarm without logical or physical id
    assert {
        (s["LogicalResourceId"], s["PhysicalResourceId"])
        for s in cfn.list_stack_resources(StackName="alarms")["StackResourceSummaries"]
    } == {("Topic", f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"), ("", "")}
    assert _repair("alarms") == 1
    assert _repair("alarms") == 0

    snapshot = _read("alarms")
    name = str(snapshot.resources["Errors"].physical_id)
    assert re.fullmatch(r"alarms-Errors-[A-Z0-9]{12}", name)
    alarm = thaw(snapshot.resources["Errors"].live)
    assert (alarm["AlarmName"], alarm["AlarmActions"], alarm["Period"]) == (
        name,
        [f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"],
        60,
    )
    assert snapshot.gaps == ()

    cfn.delete_stack(StackName="alarms")
    assert _client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"] == []


def test_bucket_public_access_block_and_policy(aws: None) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [
                    {"Fn::GetAtt": ["Bucket", "Arn"]},
                    {"Fn::Sub": "${Bucket.Arn}/*"},
                ],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    _deploy(
        "buckets",
        {
            "Resources": {
                "Bucket": {
                    "Type": "AWS::S3::Bucket",
                    "Properties": {
                        "BucketName": "emulated-receipts",
                        # the two left out are false, as CloudFormation sets them
                        "PublicAccessBlockConfiguration": {
                            "BlockPublicAcls": True,
                            "BlockPublicPolicy": "true",
                        },
                    },
                },
                "BucketPolicy": {
                    "Type": "AWS::S3::BucketPolicy",
                    "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": document},
                },
            }
        },
    )
    assert _repair("buckets") == 2
    assert _repair("buckets") == 0
    live = thaw(_read("buckets").resources["Bucket"].live)
    assert live["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": False,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": False,
    }
    arn = "arn:aws:s3:::emulated-receipts"
    assert live["Policy"]["Statement"][0]["Resource"] == [arn, f"{arn}/*"]
    assert live["Policy"]["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_queue_and_topic_keep_their_settings_and_get_the_stack_tags(aws: None) -> None:
    _deploy(
        "messaging",
        {
            "Resources": {
                "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": KEY_POLICY}},
                "Queue": {
                    "Type": "AWS::SQS::Queue",
                    "Properties": {
                        "QueueName": "work",
                        "MessageRetentionPeriod": 1209600,
                        "VisibilityTimeout": 180,
                        "KmsMasterKeyId": {"Ref": "Key"},
                        "Tags": [{"Key": "team", "Value": "payments"}],
                    },
                },
                "Topic": {
                    "Type": "AWS::SNS::Topic",
                    "Properties": {"TopicName": "events", "KmsMasterKeyId": {"Ref": "Key"}},
                },
            }
        },
        Tags=[{"Key": "iac-rlhf-amazon", "Value": "true"}],
    )
    # the key policy as JSON; the stack tag on key, queue and topic
    assert _repair("messaging") == 4
    assert _repair("messaging") == 0
    snapshot = _read("messaging")
    key_id = snapshot.resources["Key"].physical_id
    queue = thaw(snapshot.resources["Queue"].live)
    attributes = queue["Attributes"]
    assert (
        attributes["MessageRetentionPeriod"],
        attributes["VisibilityTimeout"],
        attributes["KmsMasterKeyId"],
    ) == ("1209600", "180", key_id)
    assert queue["Tags"] == {"team": "payments", **REQUIRED}  # moto's TagQueue, not TagResources
    topic = thaw(snapshot.resources["Topic"].live)
    assert (topic["Attributes"]["KmsMasterKeyId"], topic["Tags"]) == (key_id, REQUIRED)


def test_an_update_reaches_re_created_resources_and_dates_the_stack(aws: None) -> None:
    def template(timeout: int) -> dict[str, Any]:
        return {
            "Resources": {
                "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": KEY_POLICY}},
                "Table": {
                    "Type": "AWS::DynamoDB::Table",
                    "Properties": {
                        "TableName": "metrics",
                        "BillingMode": "PROVISIONED",
                        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 3},
                        "AttributeDefinitions": [
                            {"AttributeName": "pk", "AttributeType": "S"},
                            {"AttributeName": "day", "AttributeType": "S"},
                        ],
                        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                        "GlobalSecondaryIndexes": [
                            {
                                "IndexName": "by-day",
                                "KeySchema": [{"AttributeName": "day", "KeyType": "HASH"}],
                                "Projection": {"ProjectionType": "KEYS_ONLY"},
                                "ProvisionedThroughput": {
                                    "ReadCapacityUnits": 2,
                                    "WriteCapacityUnits": 1,
                                },
                            }
                        ],
                        "SSESpecification": {
                            "SSEEnabled": True,
                            "SSEType": "KMS",
                            "KMSMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]},
                        },
                        "Tags": [{"Key": "iac-rlhf-amazon", "Value": "true"}],
                    },
                },
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {"RoleName": "worker", "AssumeRolePolicyDocument": ASSUME},
                },
                "Worker": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "FunctionName": "worker",
                        "Runtime": "python3.12",
                        "Handler": "index.handler",
                        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                        "Timeout": timeout,
                        "TracingConfig": {"Mode": "Active"},
                        # moto's CloudFormation cannot update a function with inline code
                        "Code": {"S3Bucket": "artifacts", "S3Key": "worker.zip"},
                    },
                },
            }
        }

    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    _client("s3").create_bucket(Bucket="artifacts")
    _client("s3").put_object(Bucket="artifacts", Key="worker.zip", Body=package.getvalue())
    _deploy("worker", template(30))
    # the key policy as JSON, the table and the function each deleted and created again
    assert _repair("worker") == 5
    assert _repair("worker") == 0
    table = _client("dynamodb").describe_table(TableName="metrics")["Table"]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 3
    (index,) = table["GlobalSecondaryIndexes"]
    assert (index["IndexName"], index["Projection"]) == ("by-day", {"ProjectionType": "KEYS_ONLY"})

    # moto applies the update to the function object its CloudFormation made, which the
    # re-created function is not: the repair brings the live function to the template
    _client("cloudformation").update_stack(
        StackName="worker", TemplateBody=json.dumps(template(60)), Capabilities=["CAPABILITY_IAM"]
    )
    assert _repair("worker") == 2
    # moto's UpdateStack sets no LastUpdatedTime, the time an audit orders deployments by: it
    # is the update's start, as in CloudFormation
    cfn = _client("cloudformation")
    started = next(
        e["Timestamp"]
        for e in cfn.describe_stack_events(StackName="worker")["StackEvents"]
        if (e["ResourceType"], e["ResourceStatus"])
        == ("AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS")
    )
    stack = cfn.describe_stacks(StackName="worker")["Stacks"][0]
    assert stack["LastUpdatedTime"] == started > stack["CreationTime"]
    snapshot = _read("worker")
    worker = thaw(snapshot.resources["Worker"].live)
    assert (worker["Timeout"], worker["TracingConfig"]) == (60, {"Mode": "Active"})
    key_arn = snapshot.resources["Key"].attributes["Arn"]
    assert thaw(snapshot.resources["Table"].live)["SSEDescription"] == {
        "Status": "ENABLED",
        "SSEType": "KMS",
        "KMSMasterKeyArn": key_arn,
    }


def test_role_policies_are_repaired_and_released_before_deletion(aws: None) -> None:
    iam = _client("iam")
    managed = iam.create_policy(
        PolicyName="read-config",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    inline = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
    }
    _deploy(
        "roles",
        {
            "Resources": {
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "RoleName": "sender",
                        "AssumeRolePolicyDocument": ASSUME,
                        "Policies": [{"PolicyName": "send", "PolicyDocument": inline}],
                        "ManagedPolicyArns": [managed],
                    },
                }
            }
        },
    )
    assert _repair("roles") == 2  # the inline policy as JSON, the managed policy attached
    assert _repair("roles") == 0
    live = thaw(_read("roles").resources["Role"].live)
    assert live["InlinePolicies"] == {"send": inline}
    assert [p["PolicyArn"] for p in live["AttachedPolicies"]] == [managed]

    # moto's CloudFormation would not detach it, and moto's IAM refuses to delete the role
    assert prepare_deletion(Clients(region=REGION), "roles", account=ACCOUNT) == 1
    cfn = _client("cloudformation")
    stack_id = cfn.describe_stacks(StackName="roles")["Stacks"][0]["StackId"]
    cfn.delete_stack(StackName="roles")
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == (
        "DELETE_COMPLETE"
    )

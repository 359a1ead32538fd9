"""End to end in a Lambda container: `sam local invoke AuditFunction` against a moto server.

What runs is what deploys: the `sam build` output of template.yaml (engine layer + handler) in
the python3.13 Lambda image, invoked with events/update_complete.json. The auditor's table and
topic are created in moto from template.yaml itself (stack_auditor.emulator), a sample stack
with obvious problems is deployed into moto's CloudFormation, and an SQS queue subscribed to
the alert topic catches the alert. Inside the container 127.0.0.1 is the host's loopback (the
sam-local runtime's host networking), so AWS_ENDPOINT_URL points the function at moto.
The last test invokes SweepFunction the same way with events/scheduled/sweep.json.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from stack_auditor.collect.clients import Clients
from stack_auditor.emulator import provision_from_template
from stack_auditor.emulator_fixups import repair_deployment

ROOT = Path(__file__).resolve().parents[2]
EVENT = ROOT / "events" / "update_complete.json"
SWEEP_EVENT = ROOT / "events" / "scheduled" / "sweep.json"
ACCOUNT, REGION, STACK = "123456789012", "us-east-1", "sample-payments"

# Two problems any reviewer sees: an untagged table, and a role allowed every DynamoDB action
# on every table.
SAMPLE_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Description: sample-payments, deployed into moto for the sam local invoke test.
Resources:
  PaymentsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: paymentId
          AttributeType: S
      KeySchema:
        - AttributeName: paymentId
          KeyType: HASH
  PaymentsRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: lambda.amazonaws.com
            Action: sts:AssumeRole
      Policies:
        - PolicyName: payments-everything
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: dynamodb:*
                Resource: "*"
      Tags:
        - Key: iac-rlhf-amazon
          Value: "true"
"""


def _session() -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id="dummy", aws_secret_access_key="dummy", region_name=REGION
    )


@pytest.fixture(scope="module")
def world(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The auditor's table/topic, an alert catcher queue and the deployed sample stack."""
    session = _session()

    def client(name: str) -> Any:
        return session.client(name, endpoint_url=moto_endpoint)

    provisioned = provision_from_template(
        ROOT / "template.yaml",
        {"dynamodb": client("dynamodb"), "sns": client("sns"), "kms": client("kms")},
        names={
            "FindingsTable": "stack-auditor-local-findings",
            "AlertTopic": "stack-auditor-local",
        },
    )
    sqs = client("sqs")
    queue_url = sqs.create_queue(QueueName="alert-catcher")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    client("sns").subscribe(TopicArn=provisioned.topic_arn, Protocol="sqs", Endpoint=queue_arn)

    cfn = client("cloudformation")
    cfn.create_stack(
        StackName=STACK,
        TemplateBody=SAMPLE_TEMPLATE,
        Capabilities=["CAPABILITY_IAM"],
    )
    cfn.get_waiter("stack_create_complete").wait(
        StackName=STACK, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    # moto stores the role's inline policy as Python text, not JSON (emulator_fixups)
    repair_deployment(Clients(session, endpoint_url=moto_endpoint, region=REGION), STACK)
    stack_id = cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackId"]

    # events/update_complete.json as is, except the stack ARN (its UUID is the one moto gave
    # the stack: the handler reads the stack by ARN, as it must in AWS where names are reused)
    # and the time.
    event = json.loads(EVENT.read_text())
    assert event["detail"]["stack-id"].split("/")[1] == STACK
    event["detail"]["stack-id"] = stack_id
    event["resources"] = [stack_id]
    # and its time: the stack was deployed just now, the file's event is from days ago
    event["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    work = tmp_path_factory.mktemp("invoke")
    event_file = work / "update_complete.json"
    event_file.write_text(json.dumps(event))

    env_file = work / "env.json"
    function_env = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "FINDINGS_TABLE": provisioned.table_name,
        "ALERT_TOPIC_ARN": provisioned.topic_arn,
        "ALERT_MIN_SEVERITY": "HIGH",
        "REQUIRED_TAGS": "iac-rlhf-amazon",
    }
    env_file.write_text(json.dumps({"AuditFunction": function_env, "SweepFunction": function_env}))
    return {
        "session": session,
        "client": client,
        "endpoint": moto_endpoint,
        "table_name": provisioned.table_name,
        "queue_url": queue_url,
        "event_file": event_file,
        "env_file": env_file,
    }


def sam_local_invoke(
    function: str,
    event_file: Path,
    world: dict[str, Any],
    samw: Path,
    sam_env: dict[str, str],
    built_template: Path,
) -> dict[str, Any]:
    started = time.monotonic()
    result = subprocess.run(
        [
            str(samw),
            "local",
            "invoke",
            function,
            "--template",
            str(built_template),
            "--event",
            str(event_file),
            "--env-vars",
            str(world["env_file"]),
            "--skip-pull-image",
        ],
        cwd=ROOT,
        env=sam_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    elapsed = time.monotonic() - started
    print(f"sam local invoke {function} took {elapsed:.1f} s")
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines, f"no function output\n{result.stderr}"
    return {"response": json.loads(lines[-1]), "logs": result.stderr, "seconds": elapsed}


@pytest.fixture(scope="module")
def invocation(
    world: dict[str, Any], samw: Path, sam_env: dict[str, str], built_template: Path
) -> dict[str, Any]:
    return sam_local_invoke(
        "AuditFunction", world["event_file"], world, samw, sam_env, built_template
    )


def test_function_reports_the_stack_audited(invocation: dict[str, Any]) -> None:
    response = invocation["response"]
    assert "errorMessage" not in response, invocation["logs"]
    assert response["status"] == "audited", response
    assert response["stack"] == STACK
    assert (response["account"], response["region"]) == (ACCOUNT, REGION)
    assert response["stack_status"] == "UPDATE_COMPLETE"


def test_findings_landed_in_the_stack_partition(
    world: dict[str, Any], invocation: dict[str, Any]
) -> None:
    table = (
        world["session"]
        .resource("dynamodb", endpoint_url=world["client"]("sts").meta.endpoint_url)
        .Table(world["table_name"])
    )
    items = table.query(
        KeyConditionExpression=Key("pk").eq(f"STACK#{ACCOUNT}#{REGION}#{STACK}")
        & Key("sk").begins_with("FINDING#")
    )["Items"]
    found = {(item["rule_id"], item.get("logical_id")) for item in items}
    expected = {("required-tags-missing", "PaymentsTable"), ("iam-wildcard-action", "PaymentsRole")}
    assert expected <= found, (found, invocation["logs"])


def test_one_alert_arrived_in_the_subscribed_queue(
    world: dict[str, Any], invocation: dict[str, Any]
) -> None:
    sqs = world["client"]("sqs")
    messages = sqs.receive_message(
        QueueUrl=world["queue_url"], MaxNumberOfMessages=10, WaitTimeSeconds=2
    ).get("Messages", [])
    assert len(messages) == 1, (messages, invocation["logs"])
    envelope = json.loads(messages[0]["Body"])
    assert envelope["TopicArn"].endswith(":stack-auditor-local")
    assert STACK in envelope["Subject"] + envelope["Message"]


def test_sweep_function_audits_the_deployed_stack(
    world: dict[str, Any],
    invocation: dict[str, Any],
    samw: Path,
    sam_env: dict[str, str],
    built_template: Path,
) -> None:
    swept = sam_local_invoke("SweepFunction", SWEEP_EVENT, world, samw, sam_env, built_template)
    response = swept["response"]
    assert "errorMessage" not in response, swept["logs"]
    assert (response["status"], response["accounts"]) == ("swept", [ACCOUNT]), response
    assert (response["stacks"], response["audited"], response["failed"]) == (1, 1, 0), response

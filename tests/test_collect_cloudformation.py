"""Snapshot of a deployed stack, read through moto's in-process CloudFormation.

Where moto differs from CloudFormation (noted per test): it does not mask NoEcho values in
DescribeStacks, ignores TemplateStage (the Processed stage is the Original text), never
paginates ListStackResources, and cannot deploy SAM resources.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import enable_iam_authentication
from stack_auditor.collect.cloudformation import CollectError, StackGone, snapshot_from_stack
from stack_auditor.model import StackRef, Unresolved

FIXTURES = Path(__file__).parent / "fixtures" / "snapshot"
REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture
def cfn() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudformation", region_name=REGION)


def deploy(cfn: Any, name: str = "shop", body: str | None = None, **kw: Any) -> str:
    body = body if body is not None else (FIXTURES / "deployed.yaml").read_text()
    stack_id: str = cfn.create_stack(StackName=name, TemplateBody=body, **kw)["StackId"]
    return stack_id


def ref(name: str = "shop") -> StackRef:
    return StackRef(stack_name=name, account=ACCOUNT, region=REGION, trigger="audit")


def test_resolves_against_physical_ids(cfn: Any) -> None:
    stack_id = deploy(
        cfn,
        Parameters=[{"ParameterKey": "ApiKey", "ParameterValue": "s3cret"}],
        Tags=[{"Key": "team", "Value": "payments"}],
    )
    physical = {
        s["LogicalResourceId"]: s["PhysicalResourceId"]
        for s in cfn.list_stack_resources(StackName="shop")["StackResourceSummaries"]
    }
    snap = snapshot_from_stack(cfn, ref())

    assert snap.ref.stack_id == stack_id
    assert snap.ref.status == "CREATE_COMPLETE"
    assert snap.ref.trigger == "audit"
    assert snap.gaps == ()
    assert not snap.live_read
    assert snap.tags == {"team": "payments"}
    assert snap.parameters["Env"] == "dev"
    assert snap.no_echo == frozenset({"ApiKey"})
    assert snap.last_updated is not None and snap.last_updated.startswith("20")

    table = snap.resources["Table"]
    assert table.physical_id == physical["Table"]
    assert table.attributes["Ref"] == physical["Table"]
    assert not table.synthetic_ids
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{physical['Table']}"
    assert table.attributes["Arn"] == table_arn

    queue = snap.resources["Queue"]
    assert queue.attributes["Ref"] == physical["Queue"]  # the physical id is the URL
    queue_name = physical["Queue"].rsplit("/", 1)[1]
    assert queue.attributes["QueueName"] == queue_name
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}"
    assert queue.attributes["Arn"] == queue_arn
    # the real queue has that ARN
    sqs = boto3.client("sqs", region_name=REGION)
    real = sqs.get_queue_attributes(QueueUrl=physical["Queue"], AttributeNames=["QueueArn"])
    assert real["Attributes"]["QueueArn"] == queue_arn

    topic = snap.resources["Topic"]
    assert (
        topic.attributes["Ref"] == physical["Topic"] == f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts-dev"
    )
    assert topic.attributes["TopicName"] == "alerts-dev"

    statement = snap.resources["Role"].prop("Policies", 0, "PolicyDocument", "Statement", 0)
    assert statement["Resource"] == (table_arn, queue_arn)
    role_arn = boto3.client("iam").get_role(RoleName=physical["Role"])["Role"]["Arn"]
    assert snap.resources["Role"].attributes["Arn"] == role_arn

    assert snap.resources["Logs"].attributes["Ref"] == "/app/shop"
    assert snap.outputs["QueueUrl"] == physical["Queue"]
    assert snap.owner_of(queue_arn) is queue
    assert snap.owner_of(physical["Bucket"]) is snap.resources["Bucket"]


def test_masked_no_echo_parameter_is_unresolved(cfn: Any) -> None:
    deploy(cfn, Parameters=[{"ParameterKey": "ApiKey", "ParameterValue": "s3cret"}])
    snap = snapshot_from_stack(cfn, ref())
    # moto returns the NoEcho value in clear; CloudFormation returns "****", which the
    # build_snapshot tests in test_resolve.py cover. Either way the output built from it:
    value = snap.outputs["Key"]
    assert value == "key-s3cret" or isinstance(value, Unresolved)
    assert "ApiKey" in snap.no_echo


def test_by_stack_id_and_deleted_stack_is_gone(cfn: Any) -> None:
    stack_id = deploy(cfn, Parameters=[{"ParameterKey": "ApiKey", "ParameterValue": "k"}])
    snap = snapshot_from_stack(cfn, StackRef("shop", ACCOUNT, REGION, stack_id=stack_id))
    assert snap.ref.stack_id == stack_id
    cfn.delete_stack(StackName="shop")
    # by id, DescribeStacks still returns the stack (DELETE_COMPLETE); by name it does not
    with pytest.raises(StackGone):
        snapshot_from_stack(cfn, StackRef("shop", ACCOUNT, REGION, stack_id=stack_id))
    with pytest.raises(StackGone):
        snapshot_from_stack(cfn, ref())


def test_unknown_stack_is_gone(cfn: Any) -> None:
    with pytest.raises(StackGone):
        snapshot_from_stack(cfn, ref("never-existed"))


def test_more_than_a_page_of_resources(cfn: Any) -> None:
    # ListStackResources pages at 100 in CloudFormation; moto returns one page, so this proves
    # the paginator is used and every resource comes back, not moto's paging itself
    resources = {f"Topic{i:03d}": {"Type": "AWS::SNS::Topic"} for i in range(130)}
    deploy(cfn, "big", json.dumps({"Resources": resources}))
    snap = snapshot_from_stack(cfn, ref("big"))
    assert len(snap.resources) == 130
    assert all(
        r.physical_id and r.physical_id.startswith("arn:aws:sns:") for r in snap.resources.values()
    )
    assert (
        snap.resources["Topic129"].attributes["TopicArn"] == snap.resources["Topic129"].physical_id
    )


def test_transform_without_processed_stage_is_expanded_locally(cfn: Any) -> None:
    # moto cannot deploy SAM resources, and answers the Processed stage with the Original
    # text (Transform still declared): the collector then expands the template itself
    body = (
        (FIXTURES / "deployed.yaml")
        .read_text()
        .replace(
            'AWSTemplateFormatVersion: "2010-09-09"',
            'AWSTemplateFormatVersion: "2010-09-09"\nTransform: AWS::Serverless-2016-10-31',
        )
    )
    deploy(cfn, body=body, Parameters=[{"ParameterKey": "ApiKey", "ParameterValue": "k"}])
    snap = snapshot_from_stack(cfn, ref())
    assert snap.transforms == ("AWS::Serverless-2016-10-31",)
    assert "Transform" not in snap.processed
    assert snap.gaps == ()
    assert snap.resources["Table"].physical_id is not None


def test_list_resources_denied_is_a_gap(cfn: Any) -> None:
    deploy(cfn, Parameters=[{"ParameterKey": "ApiKey", "ParameterValue": "k"}])
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="auditor")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "cloudformation:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "cloudformation:ListStackResources", "Resource": "*"},
        ],
    }
    iam.put_user_policy(UserName="auditor", PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    limited = boto3.client(
        "cloudformation",
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    with enable_iam_authentication():
        snap = snapshot_from_stack(limited, ref())
    (gap,) = snap.gaps
    assert (gap.scope, gap.what) == ("stack", "cloudformation:ListStackResources")
    assert "AccessDenied" in gap.reason
    table = snap.resources["Table"]
    assert table.physical_id is None and table.synthetic_ids  # names fall back to synthetic


def test_template_unreadable_is_collect_error(cfn: Any) -> None:
    deploy(cfn, Parameters=[{"ParameterKey": "ApiKey", "ParameterValue": "k"}])
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="nogettemplate")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "cloudformation:DescribeStacks", "Resource": "*"},
        ],
    }
    iam.put_user_policy(UserName="nogettemplate", PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="nogettemplate")["AccessKey"]
    limited = boto3.client(
        "cloudformation",
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    with enable_iam_authentication(), pytest.raises(CollectError, match="GetTemplate"):
        snapshot_from_stack(limited, ref())

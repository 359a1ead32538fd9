"""Deterministic benchmark templates: a serverless application of N resources.

    .venv/bin/python benchmarks/generate.py 100 > app-100.yaml
    .venv/bin/python benchmarks/generate.py 100 --sam > sam-100.yaml

A template is made of "services", each the resources one queue-driven function needs, in an
order where every reference points backwards (so cutting the last service short still gives
a valid template): a KMS key, a DynamoDB table, a dead-letter queue and a work queue, an SNS
topic, an S3 bucket, then the function's role, its policy, the function, its log group, an
errors alarm and the queue's event source mapping. Plain CloudFormation has 12 resources per
service; the SAM variant has 9 (an AWS::Serverless::Function with policy templates and an
SQS event replaces role, policy, function and mapping), and the SAM transform expands each
function into its role and mapping again. N counts the resources as written.

Settings vary with the service number (rotation, point-in-time recovery, tracing, retention,
tags, inline code) so every rule sees both compliant and non-compliant resources. Nothing is
random: the same N always gives the same text.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

CFN_PER_SERVICE = 12
SAM_PER_SERVICE = 9

Resource = tuple[str, dict[str, Any]]


def _ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def _arn(name: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [name, "Arn"]}


def _tags(i: int) -> list[dict[str, Any]]:
    tags = [{"Key": "Environment", "Value": _ref("EnvironmentSuffix")}]
    if i % 4 != 3:  # every fourth service forgets the required tag
        tags.append({"Key": "iac-rlhf-amazon", "Value": "true"})
    return tags


def _data_resources(i: int, p: str) -> Iterator[Resource]:
    """Key, table, queues, topic and bucket of service i (prefix p)."""
    yield (
        f"{p}Key",
        {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "Description": f"Data key of service {i}",
                "EnableKeyRotation": i % 3 != 0,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministers",
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}
                            },
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ],
                },
                "Tags": _tags(i),
            },
        },
    )
    yield (
        f"{p}Table",
        {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain" if i % 2 else "Delete",
            "UpdateReplacePolicy": "Retain" if i % 2 else "Delete",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": i % 2 == 1},
                "SSESpecification": {
                    "SSEEnabled": True,
                    "SSEType": "KMS",
                    "KMSMasterKeyId": _arn(f"{p}Key"),
                },
                "Tags": _tags(i),
            },
        },
    )
    yield (
        f"{p}DeadLetterQueue",
        {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "MessageRetentionPeriod": 1209600,
                "KmsMasterKeyId": _ref(f"{p}Key"),
                "Tags": _tags(i),
            },
        },
    )
    queue: dict[str, Any] = {
        "VisibilityTimeout": 180 if i % 5 else 20,  # every fifth is shorter than the function
        "KmsMasterKeyId": _ref(f"{p}Key"),
        "Tags": _tags(i),
    }
    if i % 6 != 5:
        queue["RedrivePolicy"] = {
            "deadLetterTargetArn": _arn(f"{p}DeadLetterQueue"),
            "maxReceiveCount": 5,
        }
    yield f"{p}Queue", {"Type": "AWS::SQS::Queue", "Properties": queue}
    topic: dict[str, Any] = {"Tags": _tags(i)}
    if i % 3 != 2:
        topic["KmsMasterKeyId"] = _ref(f"{p}Key")
    yield f"{p}Topic", {"Type": "AWS::SNS::Topic", "Properties": topic}
    bucket: dict[str, Any] = {
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {
                    "ServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": _arn(f"{p}Key"),
                    }
                }
            ]
        },
        "VersioningConfiguration": {"Status": "Enabled" if i % 2 else "Suspended"},
        "Tags": _tags(i),
    }
    if i % 4 != 1:
        bucket["PublicAccessBlockConfiguration"] = {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
    yield f"{p}Bucket", {"Type": "AWS::S3::Bucket", "Properties": bucket}


def _environment(p: str) -> dict[str, Any]:
    return {
        "Variables": {
            "TABLE_NAME": _ref(f"{p}Table"),
            "QUEUE_URL": _ref(f"{p}Queue"),
            "TOPIC_ARN": _ref(f"{p}Topic"),
            "BUCKET_NAME": _ref(f"{p}Bucket"),
            "LOG_LEVEL": "INFO",
        }
    }


INLINE_HANDLER = (
    "import json\n"
    "def handler(event, context):\n"
    "    for record in event['Records']:\n"
    "        print(json.dumps(record['body']))\n"
)


def _observability_resources(i: int, p: str, function: str) -> Iterator[Resource]:
    """Log group and errors alarm of a function."""
    group: dict[str, Any] = {
        "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{{function}}}"},
        "Tags": _tags(i),
    }
    if i % 4 != 2:
        group["RetentionInDays"] = 30
        group["KmsKeyId"] = _arn(f"{p}Key")
    yield f"{p}LogGroup", {"Type": "AWS::Logs::LogGroup", "Properties": group}
    dimensions = [{"Name": "FunctionName", "Value": _ref(function)}] if i % 7 != 6 else []
    yield (
        f"{p}ErrorsAlarm",
        {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": f"Errors of service {i}",
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Dimensions": dimensions,
                "Statistic": "Sum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [_ref(f"{p}Topic")],
            },
        },
    )


def _cfn_service(i: int) -> Iterator[Resource]:
    p = f"Svc{i:03d}"
    yield from _data_resources(i, p)
    yield (
        f"{p}Role",
        {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": [
                    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
                ],
                "Policies": [
                    {
                        "PolicyName": "publish",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "sns:Publish",
                                    "Resource": _ref(f"{p}Topic"),
                                }
                            ],
                        },
                    }
                ],
                "Tags": _tags(i),
            },
        },
    )
    table_actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
    if i % 8 == 7:  # over-broad grant now and then
        table_actions = ["dynamodb:*"]
    yield (
        f"{p}Policy",
        {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": f"service-{i}",
                "Roles": [_ref(f"{p}Role")],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": table_actions, "Resource": _arn(f"{p}Table")},
                        {
                            "Effect": "Allow",
                            "Action": [
                                "sqs:ReceiveMessage",
                                "sqs:DeleteMessage",
                                "sqs:GetQueueAttributes",
                            ],
                            "Resource": _arn(f"{p}Queue"),
                        },
                        {
                            "Effect": "Allow",
                            "Action": ["s3:GetObject"],
                            "Resource": {"Fn::Sub": f"${{{p}Bucket.Arn}}/*"},
                        },
                        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": _arn(f"{p}Key")},
                    ],
                },
            },
        },
    )
    code: dict[str, Any] = (
        {"ZipFile": INLINE_HANDLER}
        if i % 5 == 4
        else {"S3Bucket": "artifacts-bucket", "S3Key": f"service-{i}.zip"}
    )
    function: dict[str, Any] = {
        "Runtime": "python3.12" if i % 9 != 8 else "python3.8",
        "Handler": "index.handler" if "ZipFile" in code else "app.handler",
        "Code": code,
        "Role": _arn(f"{p}Role"),
        "MemorySize": 256,
        "Timeout": 30,
        "Environment": _environment(p),
        "Tags": _tags(i),
    }
    if i % 2 == 0:
        function["TracingConfig"] = {"Mode": "Active"}
    yield (
        f"{p}Function",
        {"Type": "AWS::Lambda::Function", "DependsOn": f"{p}Policy", "Properties": function},
    )
    yield from _observability_resources(i, p, f"{p}Function")
    yield (
        f"{p}QueueMapping",
        {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": _arn(f"{p}Queue"),
                "FunctionName": _ref(f"{p}Function"),
                "BatchSize": 10,
            },
        },
    )


def _sam_service(i: int) -> Iterator[Resource]:
    p = f"Svc{i:03d}"
    yield from _data_resources(i, p)
    function: dict[str, Any] = {
        "Runtime": "python3.12" if i % 9 != 8 else "python3.8",
        "Handler": "app.handler",
        "CodeUri": f"s3://artifacts-bucket/service-{i}.zip",
        "MemorySize": 256,
        "Timeout": 30,
        "Environment": _environment(p),
        "Policies": [
            {"DynamoDBCrudPolicy": {"TableName": _ref(f"{p}Table")}},
            {"SNSPublishMessagePolicy": {"TopicName": {"Fn::GetAtt": [f"{p}Topic", "TopicName"]}}},
            {"S3ReadPolicy": {"BucketName": _ref(f"{p}Bucket")}},
            {"KMSDecryptPolicy": {"KeyId": _ref(f"{p}Key")}},
        ],
        "Events": {
            "Work": {
                "Type": "SQS",
                "Properties": {"Queue": _arn(f"{p}Queue"), "BatchSize": 10},
            }
        },
        "Tags": {"Environment": _ref("EnvironmentSuffix"), "iac-rlhf-amazon": "true"},
    }
    if i % 2 == 0:
        function["Tracing"] = "Active"
    yield f"{p}Function", {"Type": "AWS::Serverless::Function", "Properties": function}
    yield from _observability_resources(i, p, f"{p}Function")


def generate(resource_count: int, *, sam: bool = False) -> dict[str, Any]:
    """A template with exactly ``resource_count`` resources as written (at least 1)."""
    if resource_count < 1:
        raise ValueError("a template needs at least one resource")
    service = _sam_service if sam else _cfn_service
    resources: dict[str, Any] = {}
    i = 0
    while len(resources) < resource_count:
        for logical_id, body in service(i):
            if len(resources) == resource_count:
                break
            resources[logical_id] = body
        i += 1
    template: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09"}
    if sam:
        template["Transform"] = "AWS::Serverless-2016-10-31"
    template["Description"] = f"Benchmark application, {resource_count} resources"
    template["Parameters"] = {
        "EnvironmentSuffix": {
            "Type": "String",
            "Default": "dev",
            "AllowedValues": ["dev", "staging", "prod"],
        }
    }
    template["Resources"] = resources
    return template


def render(template: dict[str, Any]) -> str:
    """YAML text, the way most templates are written (long-form intrinsics)."""
    text: str = yaml.safe_dump(template, sort_keys=False, width=100)
    return text


def write(directory: Path, resource_count: int, *, sam: bool = False) -> Path:
    """Write the template to ``directory`` and return its path."""
    path = directory / f"{'sam' if sam else 'cfn'}-{resource_count}.yaml"
    path.write_text(render(generate(resource_count, sam=sam)), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("resources", type=int, help="number of resources as written")
    parser.add_argument("--sam", action="store_true", help="SAM variant (Transform)")
    args = parser.parse_args(argv)
    sys.stdout.write(render(generate(args.resources, sam=args.sam)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

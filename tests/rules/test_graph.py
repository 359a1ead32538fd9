"""The delivery graph helpers (rules/_graph.py) over small templates."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from stack_auditor.model import Resource, StackSnapshot, Unresolved
from stack_auditor.rules._graph import (
    DeadLetterReferrer,
    SourceMapping,
    as_seconds,
    async_invokers,
    dead_letter_targets,
    event_source_mappings,
    failure_destinations_removed_live,
    function_failure_destination,
    function_for_target,
    live_value,
)
from stack_auditor.rules._observed import NOT_READ
from stack_auditor.snapshot import snapshot_from_file

_CODE = '{ZipFile: "def handler(event, context):\\n    return event\\n"}'
_ROLE = """
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
"""


def _function(logical_id: str, extra: str = "") -> str:
    return f"""
  {logical_id}:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code: {_CODE}{extra}
"""


def _scan(tmp_path: Path, body: str, *, sam: bool = False, **parameters: str) -> StackSnapshot:
    header = 'AWSTemplateFormatVersion: "2010-09-09"\n'
    if sam:
        header += "Transform: AWS::Serverless-2016-10-31\n"
    path = tmp_path / "stack.yaml"
    path.write_text(header + body)
    return snapshot_from_file(path, parameters=parameters)


def _kinds(snapshot: StackSnapshot, function: str) -> set[str]:
    return {invoker.kind for invoker in async_invokers(snapshot).get(function, ())}


def test_sam_event_sources_expand_into_async_invokers(tmp_path: Path) -> None:
    snapshot = _scan(
        tmp_path,
        """
Resources:
  Topic: {Type: AWS::SNS::Topic}
  Bucket: {Type: AWS::S3::Bucket}
  Queue: {Type: AWS::SQS::Queue}
  Async:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: x
      Events:
        Sns: {Type: SNS, Properties: {Topic: !Ref Topic}}
        Rule: {Type: EventBridgeRule, Properties: {Pattern: {source: [x]}}}
        Cron: {Type: Schedule, Properties: {Schedule: rate(1 hour)}}
        Scheduler: {Type: ScheduleV2, Properties: {ScheduleExpression: rate(1 hour)}}
        Upload: {Type: S3, Properties: {Bucket: !Ref Bucket, Events: "s3:ObjectCreated:*"}}
  Sync:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: x
      Events:
        Get: {Type: Api, Properties: {Path: /, Method: get}}
        Work: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn}}
""",
        sam=True,
    )
    assert _kinds(snapshot, "Async") == {
        "SNS subscription",
        "EventBridge rule target",
        "EventBridge Scheduler target",
        "S3 bucket notification",
        "invoke permission for sns.amazonaws.com",
        "invoke permission for events.amazonaws.com",
        "invoke permission for s3.amazonaws.com",
    }
    assert "Sync" not in async_invokers(snapshot)
    assert async_invokers(snapshot) is async_invokers(snapshot)  # built once per snapshot


def test_plain_invokers_logs_iot_topic_property_and_invoke_config(tmp_path: Path) -> None:
    snapshot = _scan(
        tmp_path,
        "Resources:"
        + _ROLE
        + _function("Fn")
        + """
  Logs: {Type: AWS::Logs::LogGroup}
  Filter:
    Type: AWS::Logs::SubscriptionFilter
    Properties: {LogGroupName: !Ref Logs, FilterPattern: "", DestinationArn: !GetAtt Fn.Arn}
  Iot:
    Type: AWS::IoT::TopicRule
    Properties:
      TopicRulePayload:
        Sql: SELECT * FROM 't'
        Actions: [{Lambda: {FunctionArn: !GetAtt Fn.Arn}}]
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      Subscription: [{Protocol: lambda, Endpoint: !GetAtt Fn.Arn}]
  Config:
    Type: AWS::Lambda::EventInvokeConfig
    Properties: {FunctionName: !Ref Fn, Qualifier: $LATEST, MaximumRetryAttempts: 0}
  LogsPermission:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Ref Fn
      Principal: !Sub logs.${AWS::Region}.amazonaws.com
""",
    )
    assert _kinds(snapshot, "Fn") == {
        "CloudWatch Logs subscription filter",
        "IoT topic rule",
        "SNS topic subscription",
        "EventInvokeConfig",
        "invoke permission for logs.us-east-1.amazonaws.com",
    }


@pytest.fixture
def aliased(tmp_path: Path) -> StackSnapshot:
    return _scan(
        tmp_path,
        "Parameters:\n  Other: {Type: String}\nResources:"
        + _ROLE
        + _function("Fn")
        + """
  Version:
    Type: AWS::Lambda::Version
    Properties: {FunctionName: !Ref Fn}
  Alias:
    Type: AWS::Lambda::Alias
    Properties: {FunctionName: !Ref Fn, FunctionVersion: !GetAtt Version.Version, Name: live}
""",
        Other="someone-elses-function",
    )


def test_function_for_target_follows_names_arns_aliases_and_versions(
    aliased: StackSnapshot,
) -> None:
    fn = aliased.resources["Fn"]
    name, arn = fn.attributes["Ref"], fn.attributes["Arn"]
    alias_arn = aliased.resources["Alias"].attributes["AliasArn"]
    version = aliased.resources["Version"].attributes["Ref"]
    assert isinstance(version, Unresolved)  # the version number is assigned at deployment
    found = [
        function_for_target(aliased, name),
        function_for_target(aliased, arn),
        function_for_target(aliased, alias_arn),
        function_for_target(aliased, f"{arn}:prod"),  # qualifier with no alias resource
        function_for_target(aliased, f"{name}:7"),  # name:version
        function_for_target(aliased, f"123456789012:function:{name}"),  # partial ARN
        function_for_target(aliased, version, {"Ref": "Version"}),  # via the written Ref
    ]
    assert all(f is fn for f in found)
    assert function_for_target(aliased, aliased.parameters["Other"]) is None
    assert function_for_target(aliased, version) is None
    assert function_for_target(aliased, aliased.resources["Role"].attributes["Arn"]) is None


def test_dead_letter_targets_from_every_referrer(tmp_path: Path) -> None:
    snapshot = _scan(
        tmp_path,
        "Resources:"
        + _ROLE
        + _function("Fn", "\n      DeadLetterConfig: {TargetArn: !GetAtt FnDlq.Arn}")
        + """
  FnDlq: {Type: AWS::SQS::Queue}
  RedriveDlq: {Type: AWS::SQS::Queue}
  JsonDlq: {Type: AWS::SQS::Queue}
  OnFailureTopic: {Type: AWS::SNS::Topic}
  RuleDlq: {Type: AWS::SQS::Queue}
  ScheduleDlq: {Type: AWS::SQS::Queue}
  SubscriptionDlq: {Type: AWS::SQS::Queue}
  Stream: {Type: AWS::Kinesis::Stream, Properties: {ShardCount: 1}}
  StreamFailures: {Type: AWS::SQS::Queue}
  Work:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt RedriveDlq.Arn, maxReceiveCount: 3}
  JsonWork:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: !Sub '{"deadLetterTargetArn": "${JsonDlq.Arn}", "maxReceiveCount": 3}'
  Config:
    Type: AWS::Lambda::EventInvokeConfig
    Properties:
      FunctionName: !Ref Fn
      Qualifier: $LATEST
      DestinationConfig: {OnFailure: {Destination: !Ref OnFailureTopic}}
  Rule:
    Type: AWS::Events::Rule
    Properties:
      ScheduleExpression: rate(1 hour)
      Targets: [{Id: a, Arn: !GetAtt Fn.Arn, DeadLetterConfig: {Arn: !GetAtt RuleDlq.Arn}}]
  Schedule:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: rate(1 hour)
      FlexibleTimeWindow: {Mode: "OFF"}
      Target:
        Arn: !GetAtt Fn.Arn
        RoleArn: !GetAtt Role.Arn
        DeadLetterConfig: {Arn: !GetAtt ScheduleDlq.Arn}
  Topic: {Type: AWS::SNS::Topic}
  Subscription:
    Type: AWS::SNS::Subscription
    Properties:
      Protocol: lambda
      TopicArn: !Ref Topic
      Endpoint: !GetAtt Fn.Arn
      RedrivePolicy: {deadLetterTargetArn: !GetAtt SubscriptionDlq.Arn}
  StreamMapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      EventSourceArn: !GetAtt Stream.Arn
      FunctionName: !Ref Fn
      StartingPosition: LATEST
      DestinationConfig: {OnFailure: {Destination: !GetAtt StreamFailures.Arn}}
""",
    )
    assert dead_letter_targets(snapshot) == {
        "FnDlq": (DeadLetterReferrer("Fn", "Properties.DeadLetterConfig.TargetArn"),),
        "RedriveDlq": (DeadLetterReferrer("Work", "Properties.RedrivePolicy.deadLetterTargetArn"),),
        "JsonDlq": (
            DeadLetterReferrer("JsonWork", "Properties.RedrivePolicy.deadLetterTargetArn"),
        ),
        "OnFailureTopic": (
            DeadLetterReferrer("Config", "Properties.DestinationConfig.OnFailure.Destination"),
        ),
        "RuleDlq": (DeadLetterReferrer("Rule", "Properties.Targets[0].DeadLetterConfig.Arn"),),
        "ScheduleDlq": (DeadLetterReferrer("Schedule", "Properties.Target.DeadLetterConfig.Arn"),),
        "SubscriptionDlq": (
            DeadLetterReferrer("Subscription", "Properties.RedrivePolicy.deadLetterTargetArn"),
        ),
        "StreamFailures": (
            DeadLetterReferrer(
                "StreamMapping", "Properties.DestinationConfig.OnFailure.Destination"
            ),
        ),
    }


def test_event_source_mappings_of_sam_events_and_outside_functions(tmp_path: Path) -> None:
    snapshot = _scan(
        tmp_path,
        """
Parameters:
  ExternalFunction: {Type: String}
Resources:
  Queue: {Type: AWS::SQS::Queue}
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: x
      AutoPublishAlias: live
      Events:
        Work: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn}}
  External:
    Type: AWS::Lambda::EventSourceMapping
    Properties: {EventSourceArn: !GetAtt Queue.Arn, FunctionName: !Ref ExternalFunction}
  OutsideQueue:
    Type: AWS::Lambda::EventSourceMapping
    Properties: {EventSourceArn: arn:aws:sqs:us-east-1:123456789012:shared, FunctionName: x}
""",
        sam=True,
        ExternalFunction="billing",
    )
    assert set(event_source_mappings(snapshot)) == {
        SourceMapping("ConsumerWork", "Queue", "Consumer"),  # through the alias SAM targets
        SourceMapping("External", "Queue", None),
        SourceMapping("OutsideQueue", None, None),
    }


def test_failure_destination_counts_qualified_invoke_configs(tmp_path: Path) -> None:
    snapshot = _scan(
        tmp_path,
        "Resources:"
        + _ROLE
        + _function("Fn")
        + _function("WithDlq", "\n      DeadLetterConfig: {TargetArn: !GetAtt Dlq.Arn}")
        + """
  Dlq: {Type: AWS::SQS::Queue}
  Version:
    Type: AWS::Lambda::Version
    Properties: {FunctionName: !Ref Fn}
  Alias:
    Type: AWS::Lambda::Alias
    Properties: {FunctionName: !Ref Fn, FunctionVersion: !GetAtt Version.Version, Name: live}
  AliasConfig:
    Type: AWS::Lambda::EventInvokeConfig
    Properties:
      FunctionName: !Ref Fn
      Qualifier: live
      DestinationConfig: {OnFailure: {Destination: !GetAtt Dlq.Arn}}
""",
    )
    dlq_arn = snapshot.resources["Dlq"].attributes["Arn"]
    (on_failure,) = function_failure_destination(snapshot, snapshot.resources["Fn"])
    assert (on_failure.referrer, on_failure.target) == ("AliasConfig", dlq_arn)
    (own,) = function_failure_destination(snapshot, snapshot.resources["WithDlq"])
    assert (own.referrer, own.path, own.source) == (
        "WithDlq",
        "Properties.DeadLetterConfig.TargetArn",
        "resolved",
    )


def _with_live(snapshot: StackSnapshot, logical_id: str, live: dict[str, Any]) -> Resource:
    resource = dataclasses.replace(snapshot.resources[logical_id], live=MappingProxyType(live))
    return resource


def test_live_values_win_and_report_drift(tmp_path: Path) -> None:
    snapshot = _scan(
        tmp_path,
        "Resources:"
        + _ROLE
        + _function("Fn", "\n      DeadLetterConfig: {TargetArn: !GetAtt Dlq.Arn}")
        + "\n  Dlq: {Type: AWS::SQS::Queue, Properties: {MessageRetentionPeriod: 60}}\n",
    )
    queue = snapshot.resources["Dlq"]
    assert live_value(queue, "MessageRetentionPeriod") is NOT_READ
    live_queue = _with_live(snapshot, "Dlq", {"Attributes": {"MessageRetentionPeriod": "120"}})
    assert as_seconds(live_value(live_queue, "MessageRetentionPeriod")) == 120
    assert live_value(live_queue, "VisibilityTimeout") is None  # read, and unset
    moved = "arn:aws:sqs:us-east-1:123456789012:moved"
    live_fn = _with_live(snapshot, "Fn", {"DeadLetterConfig": {"TargetArn": moved}})
    (own,) = function_failure_destination(snapshot, live_fn)
    assert (own.target, own.source) == (moved, "live")
    assert "differs from the template" in own.drift_note


def test_a_functions_unread_setting_is_not_read(tmp_path: Path) -> None:
    snapshot = _scan(tmp_path, "Resources:" + _ROLE + _function("Fn"))
    # another collector's keys (tags) do not mean the configuration was read
    tagged = _with_live(snapshot, "Fn", {"Tags": {"team": "orders"}})
    assert live_value(tagged, "Timeout") is NOT_READ
    read = _with_live(snapshot, "Fn", {"Timeout": 30, "DeadLetterConfig": None})
    assert live_value(read, "Timeout") == 30
    assert live_value(read, "DeadLetterConfig", "TargetArn") is None  # read, and unset


def test_deployed_invoke_configs_of_any_qualifier_are_judged(tmp_path: Path) -> None:
    snapshot = _scan(
        tmp_path,
        "Resources:"
        + _ROLE
        + _function("Fn")
        + """
  Dlq: {Type: AWS::SQS::Queue}
  Other: {Type: AWS::SQS::Queue}
  AliasConfig:
    Type: AWS::Lambda::EventInvokeConfig
    Properties:
      FunctionName: !Ref Fn
      Qualifier: live
      DestinationConfig: {OnFailure: {Destination: !GetAtt Dlq.Arn}}
""",
    )
    dlq_arn = snapshot.resources["Dlq"].attributes["Arn"]
    other_arn = snapshot.resources["Other"].attributes["Arn"]
    function_arn = snapshot.resources["Fn"].attributes["Arn"]

    def deployed(*configs: tuple[str, str]) -> Resource:
        return _with_live(
            snapshot,
            "Fn",
            {
                "DeadLetterConfig": None,
                "EventInvokeConfigs": tuple(
                    {
                        "FunctionArn": f"{function_arn}:{qualifier}",
                        "DestinationConfig": {"OnFailure": {"Destination": target}},
                    }
                    for qualifier, target in configs
                ),
            },
        )

    as_written = deployed(("live", dlq_arn))
    (found,) = function_failure_destination(snapshot, as_written)
    assert (found.referrer, found.target, found.source, found.drift_note) == (
        "AliasConfig",
        dlq_arn,
        "live",
        "",
    )
    assert failure_destinations_removed_live(snapshot, as_written) == ()

    moved = deployed(("live", other_arn))
    (found,) = function_failure_destination(snapshot, moved)
    assert (found.referrer, found.path, found.target, found.source) == (
        "Fn",
        "EventInvokeConfig(live).DestinationConfig.OnFailure.Destination",
        other_arn,
        "live",
    )
    assert "added outside CloudFormation" in found.drift_note
    (removed,) = failure_destinations_removed_live(snapshot, moved)
    assert (removed.referrer, removed.target) == ("AliasConfig", dlq_arn)

    none = deployed()
    assert function_failure_destination(snapshot, none) == ()
    assert [d.referrer for d in failure_destinations_removed_live(snapshot, none)] == [
        "AliasConfig"
    ]
    # not read: the template's destinations stand, nothing is claimed removed
    (written,) = function_failure_destination(snapshot, snapshot.resources["Fn"])
    assert (written.referrer, written.source) == ("AliasConfig", "resolved")
    assert failure_destinations_removed_live(snapshot, snapshot.resources["Fn"]) == ()


def test_as_seconds() -> None:
    assert [as_seconds(v) for v in (30, "30", " 45 ", None, True, "1.5", "abc")] == [
        30,
        30,
        45,
        None,
        None,
        None,
        None,
    ]
    unresolved = Unresolved("x")
    assert as_seconds(unresolved) is unresolved

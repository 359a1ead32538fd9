"""Scan entry point: local templates (plain and SAM) become resolved, frozen snapshots."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest
from stack_auditor.model import StackSnapshot, Unresolved
from stack_auditor.snapshot import snapshot_from_file
from stack_auditor.template.loader import TemplateError

FIXTURES = Path(__file__).parent / "fixtures" / "snapshot"
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def sam_snapshot() -> StackSnapshot:
    return snapshot_from_file(FIXTURES / "sam_app.yaml", stack_name="app")


def test_sam_expands_into_cloudformation(sam_snapshot: StackSnapshot) -> None:
    snap = sam_snapshot
    assert snap.transforms == ("AWS::Serverless-2016-10-31",)
    assert snap.gaps == ()
    types = {r.logical_id: r.type for r in snap.resources.values()}
    assert types == {
        "OrdersTable": "AWS::DynamoDB::Table",
        "Topic": "AWS::SNS::Topic",
        "Queue": "AWS::SQS::Queue",
        "DeadLetters": "AWS::SQS::Queue",
        "Worker": "AWS::Lambda::Function",
        "WorkerRole": "AWS::IAM::Role",
        "WorkerFromQueue": "AWS::Lambda::EventSourceMapping",
        "WorkerFromTopic": "AWS::SNS::Subscription",
        "WorkerFromTopicPermission": "AWS::Lambda::Permission",
        "WorkerNightly": "AWS::Events::Rule",
        "WorkerNightlyPermission": "AWS::Lambda::Permission",
    }
    # the template as written is kept next to the processed one
    assert snap.template["Resources"]["Worker"]["Type"] == "AWS::Serverless::Function"
    assert "Transform" not in snap.processed


def test_generated_resources_point_at_their_sam_resource(sam_snapshot: StackSnapshot) -> None:
    resources = sam_snapshot.resources
    for logical_id in ("Worker", "WorkerRole", "WorkerFromQueue", "WorkerNightlyPermission"):
        assert resources[logical_id].source_logical_id == "Worker"
        assert resources[logical_id].line == 28
    assert resources["OrdersTable"].source_logical_id is None
    assert resources["OrdersTable"].line == 13
    assert resources["Topic"].line == 22


def test_function_and_role_are_resolved(sam_snapshot: StackSnapshot) -> None:
    fn = sam_snapshot.resources["Worker"]
    assert fn.prop("TracingConfig", "Mode") == "Active"
    assert fn.prop("Runtime") == "python3.12"  # from Globals
    assert fn.prop("Environment", "Variables", "TABLE") == "orders-dev"
    queue = sam_snapshot.resources["Queue"]
    assert fn.prop("Environment", "Variables", "QUEUE_URL") == queue.attributes["QueueUrl"]
    dlq = sam_snapshot.resources["DeadLetters"]
    assert fn.prop("DeadLetterConfig", "TargetArn") == dlq.attributes["Arn"]

    role = sam_snapshot.resources["WorkerRole"]
    managed = role.prop("ManagedPolicyArns")
    assert "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess" in managed
    assert "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess" in managed
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole" in managed
    documents = {p["PolicyName"]: p["PolicyDocument"] for p in role.prop("Policies")}
    crud = documents["WorkerRolePolicy0"]["Statement"][0]
    assert crud["Resource"][0] == f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders-dev"
    dlq_statement = documents["DeadLetterQueuePolicy"]["Statement"][0]
    assert dlq_statement["Resource"] == dlq.attributes["Arn"]
    # the role's raw properties keep the intrinsics as the translator wrote them
    assert role.raw_properties["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"] == {
        "Fn::GetAtt": ("DeadLetters", "Arn")
    }
    assert sam_snapshot.outputs["WorkerArn"] == fn.attributes["Arn"]


def test_parameters_flow_into_sam_and_names(tmp_path: Path) -> None:
    snap = snapshot_from_file(
        FIXTURES / "sam_app.yaml", parameters={"Env": "prod"}, region="cn-north-1"
    )
    table = snap.resources["OrdersTable"]
    assert table.attributes["Ref"] == "orders-prod"
    assert table.attributes["Arn"] == f"arn:aws-cn:dynamodb:cn-north-1:{ACCOUNT}:table/orders-prod"
    assert snap.ref.stack_name == "sam_app"
    assert snap.ref.trigger == "scan"


def test_identifiers_and_owner_of(sam_snapshot: StackSnapshot) -> None:
    snap = sam_snapshot
    queue = snap.resources["Queue"]
    assert queue.synthetic_ids
    assert queue.attributes["QueueName"].startswith("app-Queue-")
    assert len(queue.attributes["QueueName"].rsplit("-", 1)[1]) == 13
    for attribute in ("Ref", "Arn", "QueueName", "QueueUrl"):
        assert snap.owner_of(queue.attributes[attribute]) is queue
    assert snap.owner_of("orders-dev") is snap.resources["OrdersTable"]
    assert snap.owner_of(f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders-dev").logical_id == (
        "OrdersTable"
    )
    assert snap.owner_of("something-else") is None
    assert snap.owner_of(None) is None
    assert not any(isinstance(k, Unresolved) for k in snap.identifiers)
    # StreamArn is not known before deployment: present as Unresolved, not indexed
    assert isinstance(snap.resources["OrdersTable"].attributes["StreamArn"], Unresolved)


def test_shared_values_are_not_identifiers(tmp_path: Path) -> None:
    """A CIDR block or an AZ is not a name: it must not trace back to the VPC or subnet."""
    path = tmp_path / "vpc.yaml"
    path.write_text(
        "Resources:\n"
        "  Vpc:\n"
        "    Type: AWS::EC2::VPC\n"
        "    Properties: {CidrBlock: 10.0.0.0/16}\n"
        "  Table:\n"
        "    Type: AWS::DynamoDB::Table\n"
        "    Properties: {TableName: orders}\n"
    )
    snap = snapshot_from_file(path)
    assert snap.owner_of("10.0.0.0/16") is None
    table = snap.owner_of("orders")
    assert table is not None and table.logical_id == "Table"


def test_names_shared_across_types_trace_to_each_owner(tmp_path: Path) -> None:
    """A function and its role both named "orders": type-aware lookups find each one."""
    path = tmp_path / "shared.yaml"
    path.write_text(
        "Resources:\n"
        "  Role:\n"
        "    Type: AWS::IAM::Role\n"
        "    Properties: {RoleName: orders, AssumeRolePolicyDocument: {}}\n"
        "  Function:\n"
        "    Type: AWS::Lambda::Function\n"
        "    Properties: {FunctionName: orders, Role: !GetAtt Role.Arn, Code: {}}\n"
    )
    snap = snapshot_from_file(path)
    assert [r.logical_id for r in snap.owners_of("orders")] == ["Role", "Function"]
    function = snap.owner_of("orders", "AWS::Lambda::Function")
    assert function is not None and function.logical_id == "Function"
    role = snap.owner_of("orders", "AWS::IAM::Role")
    assert role is not None and role.logical_id == "Role"
    assert snap.owner_of("orders", "AWS::SQS::Queue") is None


def test_snapshot_is_frozen(sam_snapshot: StackSnapshot) -> None:
    fn = sam_snapshot.resources["Worker"]
    assert isinstance(fn.properties, MappingProxyType)
    assert isinstance(sam_snapshot.template, MappingProxyType)
    assert isinstance(fn.prop("Layers", default=()), tuple)
    with pytest.raises(TypeError):
        fn.properties["Handler"] = "x"  # type: ignore[index]


def test_synthetic_names_are_deterministic() -> None:
    first = snapshot_from_file(FIXTURES / "sam_app.yaml", stack_name="app")
    second = snapshot_from_file(FIXTURES / "sam_app.yaml", stack_name="app")
    assert first.resources["Topic"].attributes == second.resources["Topic"].attributes


def test_unknown_transform_is_a_gap() -> None:
    snap = snapshot_from_file(FIXTURES / "unknown_macro.yaml")
    assert [(g.what, g.reason, g.detail) for g in snap.gaps] == [
        ("Transform", "unsupported transform", "MyCompany::Magic")
    ]
    assert set(snap.resources) == {"Bucket", "Fn", "FnRole"}


def test_sam_translation_failure_keeps_plain_resources() -> None:
    snap = snapshot_from_file(FIXTURES / "sam_broken.yaml")
    assert list(snap.resources) == ["Bucket"]
    (gap,) = snap.gaps
    assert (gap.scope, gap.what, gap.reason) == ("stack", "Transform", "SAM translation failed")
    assert "Broken" in gap.detail


def test_plain_template_conditions_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(
        """\
Parameters:
  Env: {Type: String, Default: dev}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub /app/${Env}
      RetentionInDays: !If [IsProd, 365, 7]
  Backup:
    Type: AWS::S3::Bucket
    Condition: IsProd
    DeletionPolicy: Retain
"""
    )
    snap = snapshot_from_file(path)
    assert list(snap.resources) == ["Logs"]
    logs = snap.resources["Logs"]
    assert logs.line == 6
    assert logs.prop("RetentionInDays") == 7
    assert logs.attributes["Arn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/app/dev:*"
    prod = snapshot_from_file(path, parameters={"Env": "prod"})
    assert prod.resources["Backup"].deletion_policy == "Retain"
    assert prod.resources["Backup"].attributes["Ref"].startswith("plain-backup-")
    assert prod.conditions == {"IsProd": True}


def test_unreadable_file_raises_template_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError):
        snapshot_from_file(tmp_path / "nope.yaml")


MALFORMED = [
    "Resources:\n  A: {Type: AWS::SNS::Topic, Properties: [1, 2]}\n",
    "Resources:\n  A: {Properties: {}}\n",
    "Conditions: [x]\nOutputs: [y]\nParameters: [z]\nMappings: 3\n"
    "Resources:\n  A: {Type: AWS::SQS::Queue, Condition: [x], DependsOn: {a: b}}\n",
    "Parameters: {P: {Type: CommaDelimitedList, Default: [a, b]}, Q: [1]}\n"
    "Resources:\n  A: {Type: AWS::S3::Bucket, Properties: {BucketName: !Select [0, !Ref P]}}\n",
    "Transform: {Name: AWS::Include}\nResources:\n  A: {Type: AWS::SNS::Topic}\n",
    "Transform: AWS::Serverless-2016-10-31\n"
    "Resources:\n  F: {Type: AWS::Serverless::Function, Properties: [1]}\n",
    "Transform: AWS::Serverless-2016-10-31\nGlobals: 3\n"
    "Resources:\n  F: {Type: AWS::Serverless::Function, Properties: {Events: [1]}}\n",
    "Resources:\n  A: {Type: AWS::SNS::Topic, Properties: {TopicName: {Fn::GetAtt: 5}}}\n"
    "  B: {Type: AWS::SNS::Topic, Properties: {TopicName: {Fn::Sub: [1, 2, 3]}}}\n"
    "  C: {Type: AWS::SNS::Topic, Properties: {TopicName: {Fn::Join: [[], 3]}}}\n"
    "  D: {Type: AWS::SNS::Topic, Properties: {TopicName: {Fn::If: [[], 1, 2]}}}\n"
    "  E: {Type: AWS::SNS::Topic, Properties: {TopicName: {Fn::Cidr: [x, y, z]}}}\n"
    "  G: {Type: AWS::SNS::Topic, Properties: {TopicName: {Fn::FindInMap: [{}, 1, 2]}}}\n"
    "  H: {Type: AWS::SNS::Topic, Properties: {TopicName: {Ref: [A]}}}\n",
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_shapes_never_crash(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    snap = snapshot_from_file(path)
    assert snap.resources is not None


def test_unknown_yaml_tags_are_unresolved_and_a_transform_gap(tmp_path: Path) -> None:
    path = tmp_path / "rain.yaml"
    path.write_text(
        "Resources:\n"
        "  Fn:\n"
        "    Type: AWS::Lambda::Function\n"
        "    Properties:\n"
        "      Code: {ZipFile: !Rain::Embed handler.py}\n"
        "      Runtime: python3.13\n"
    )
    snapshot = snapshot_from_file(path)
    code = snapshot.resources["Fn"].properties["Code"]["ZipFile"]
    assert isinstance(code, Unresolved) and "!Rain::Embed" in code.reason
    assert snapshot.resources["Fn"].properties["Runtime"] == "python3.13"
    (gap,) = snapshot.gaps
    assert (gap.scope, gap.what, gap.reason) == ("stack", "Transform", "unknown YAML tag")
    assert gap.detail == "YAML tag !Rain::Embed at line 5"

"""Intrinsic resolution: each function, conditions, pseudo parameters and Unresolved cases."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stack_auditor.model import StackRef, Unresolved, contains_unresolved
from stack_auditor.resolve import NO_VALUE, Resolver, StackContext
from stack_auditor.snapshot import build_snapshot
from stack_auditor.template.loader import load_template_text

TEMPLATE = """\
Parameters:
  Env: {Type: String, Default: dev}
  Subnets: {Type: CommaDelimitedList, Default: "subnet-1,subnet-2"}
  Ids: {Type: "List<AWS::EC2::Subnet::Id>"}
  Secret: {Type: String, NoEcho: true}
  Ami: {Type: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>", Default: /aws/ami}
  NoDefault: {Type: String}
Mappings:
  RegionMap:
    us-east-1: {Ami: ami-111, Size: 10}
    cn-north-1: {Ami: ami-222}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  DevAndEast: !And [!Condition IsDev, !Equals [!Ref "AWS::Region", us-east-1]]
  ProdOrEast: !Or [!Condition IsProd, !Equals [!Ref "AWS::Region", us-east-1]]
  Unknown: !Equals [!Ref NoDefault, x]
  FalseAndUnknown: !And [!Condition IsProd, !Condition Unknown]
  TrueOrUnknown: !Or [!Condition IsDev, !Condition Unknown]
  Loop1: !Condition Loop2
  Loop2: !Not [!Condition Loop1]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${Env}-orders"
  Queue:
    Type: AWS::SQS::Queue
  ProdOnly:
    Type: AWS::SNS::Topic
    Condition: IsProd
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-fn"
  CycleA:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !GetAtt CycleB.TopicName
  CycleB:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !GetAtt CycleA.TopicName
"""


def make(region: str = "us-east-1", given: dict[str, str] | None = None, **kw: Any) -> Resolver:
    from stack_auditor.snapshot import effective_parameters

    data = load_template_text(TEMPLATE).data
    params = effective_parameters(data, given or {"Ids": "subnet-a,subnet-b"}, **kw)
    return Resolver(
        data,
        StackContext(stack_name="st", account="111122223333", region=region),
        params,
        {},
    )


def y(expr: str) -> Any:
    """The long form of a YAML expression with short tags."""
    return load_template_text(f"V: {expr}\nResources: {{X: {{Type: T}}}}\n").data["V"]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("!Ref Env", "dev"),
        ("!Ref Subnets", ("subnet-1", "subnet-2")),
        ("!Ref Ids", ("subnet-a", "subnet-b")),
        ("!Ref AWS::AccountId", "111122223333"),
        ("!Ref AWS::Region", "us-east-1"),
        ("!Ref AWS::StackName", "st"),
        ("!Ref AWS::Partition", "aws"),
        ("!Ref AWS::URLSuffix", "amazonaws.com"),
        ("!Ref Table", "dev-orders"),
        ("!GetAtt Table.Arn", "arn:aws:dynamodb:us-east-1:111122223333:table/dev-orders"),
        ("!GetAtt [Fn, Arn]", "arn:aws:lambda:us-east-1:111122223333:function:st-fn"),
        ("!Sub '${Env}-${AWS::Region}'", "dev-us-east-1"),
        (
            "!Sub '${Table.Arn}/index/*'",
            "arn:aws:dynamodb:us-east-1:111122223333:table/dev-orders/index/*",
        ),
        ("!Sub '${!Literal}-${Env}'", "${Literal}-dev"),
        ("!Sub ['${A}-${Env}', {A: !Ref Table}]", "dev-orders-dev"),
        ("!Join ['-', [a, !Ref Env, 3]]", "a-dev-3"),
        ("!Join [',', !Ref Subnets]", "subnet-1,subnet-2"),
        ("!Select [1, !Ref Subnets]", "subnet-2"),
        ("!Select ['0', [x, y]]", "x"),
        ("!Split [',', 'a,b,c']", ["a", "b", "c"]),
        ("!Select [2, !GetAZs '']", "us-east-1c"),
        ("!GetAZs eu-west-1", ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
        ("!If [IsProd, big, small]", "small"),
        ("!If [IsDev, !Ref Env, other]", "dev"),
        ("!FindInMap [RegionMap, !Ref 'AWS::Region', Ami]", "ami-111"),
        ("!FindInMap [RegionMap, us-east-1, Size]", 10),
        ("!FindInMap [RegionMap, eu-west-9, Ami, {DefaultValue: ami-def}]", "ami-def"),
        ("!Base64 hello", base64.b64encode(b"hello").decode()),
        ("!Cidr ['10.0.0.0/16', 3, 8]", ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]),
        ("[a, !Ref AWS::NoValue, b]", ["a", "b"]),
        ("{K: !Ref AWS::NoValue, L: 1}", {"L": 1}),
        ("{K: !If [IsProd, x, !Ref AWS::NoValue]}", {}),
        ("{Fn::Length: [a, b, c]}", 3),
        ("{Fn::ToJsonString: {a: !Ref Env}}", '{"a":"dev"}'),
    ],
)
def test_intrinsics(expr: str, expected: Any) -> None:
    assert make().resolve(y(expr)) == expected


def test_no_value_at_the_top() -> None:
    assert make().resolve({"Ref": "AWS::NoValue"}) is NO_VALUE


@pytest.mark.parametrize(
    ("region", "partition", "suffix"),
    [
        ("us-east-1", "aws", "amazonaws.com"),
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
    ],
)
def test_partition_from_region(region: str, partition: str, suffix: str) -> None:
    r = make(region)
    assert r.resolve({"Ref": "AWS::Partition"}) == partition
    assert r.resolve({"Ref": "AWS::URLSuffix"}) == suffix
    assert r.resolve({"Fn::GetAtt": ["Queue", "Arn"]}).startswith(f"arn:{partition}:sqs:")
    stack_id = r.resolve({"Ref": "AWS::StackId"})
    assert stack_id.startswith(f"arn:{partition}:cloudformation:{region}:111122223333:stack/st/")


def test_conditions() -> None:
    conditions = make().all_conditions()
    assert conditions["IsProd"] is False
    assert conditions["IsDev"] is True
    assert conditions["DevAndEast"] is True
    assert conditions["ProdOrEast"] is True
    assert isinstance(conditions["Unknown"], Unresolved)
    # three-valued logic: a known operand can decide despite an unknown one
    assert conditions["FalseAndUnknown"] is False
    assert conditions["TrueOrUnknown"] is True
    assert isinstance(conditions["Loop1"], Unresolved)
    assert make(given={"Env": "prod", "Ids": ""}).all_conditions()["IsProd"] is True


def test_condition_key_in_properties_is_not_an_intrinsic() -> None:
    statement = {"Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert make().resolve(statement) == statement


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("!ImportValue SharedVpc", "Fn::ImportValue SharedVpc"),
        ("!GetAtt Table.NoSuchThing", "attribute NoSuchThing of Table"),
        ("!GetAtt Table.StreamArn", "StreamArn of Table"),
        ("!GetAtt Missing.Arn", "unknown resource"),
        ("!Ref NoDefault", "parameter NoDefault has no value"),
        ("!Ref Secret", "parameter Secret has no value"),
        ("!Ref Ami", "read from SSM"),
        ("!Ref Nothing", "Ref to unknown name Nothing"),
        ("!Ref ProdOnly", "condition is false"),
        ("!If [Unknown, a, b]", "Fn::If"),
        ("!Select [5, [a]]", "out of range"),
        ("{Fn::Transform: {Name: AWS::Include}}", "Fn::Transform"),
        ("!GetAtt CycleA.TopicName", "cycle"),
    ],
)
def test_unresolved(expr: str, reason: str) -> None:
    value = make().resolve(y(expr))
    assert isinstance(value, Unresolved)
    assert reason in value.reason


@pytest.mark.parametrize(
    "expr",
    [
        "!Sub 'prefix-${NoDefault}'",
        "!Sub ['${X}-a', {X: !ImportValue Other}]",
        "!Join ['-', [a, !ImportValue Other]]",
        "!Join [',', !Ref Ami]",
        "{Fn::Base64: !Ref NoDefault}",
        "!Select [0, !Split [',', !ImportValue Other]]",
        "!Equals [!Ref NoDefault, a]",
    ],
)
def test_unresolved_propagates_through_strings(expr: str) -> None:
    assert isinstance(make().resolve(y(expr)), Unresolved)


def test_unresolved_inside_structures_stays_in_place() -> None:
    value = make().resolve(y("{A: !Ref Env, B: [!ImportValue X, ok]}"))
    assert value["A"] == "dev"
    assert isinstance(value["B"][0], Unresolved)
    assert value["B"][1] == "ok"
    assert contains_unresolved(value)


def test_no_echo_masked_value_is_unresolved_and_given_value_is_used() -> None:
    masked = make(given={"Secret": "****", "Ids": ""}, no_echo=frozenset({"Secret"}))
    value = masked.resolve({"Ref": "Secret"})
    assert isinstance(value, Unresolved) and "NoEcho" in value.reason
    assert make(given={"Secret": "s3cr3t", "Ids": ""}).resolve({"Ref": "Secret"}) == "s3cr3t"


def test_ssm_parameter_resolved_value_is_used_when_marked() -> None:
    r = make(given={"Ami": "ami-999", "Ids": ""}, resolved_ssm=frozenset({"Ami"}))
    assert r.resolve({"Ref": "Ami"}) == "ami-999"


def test_snapshot_conditions_outputs_and_cycles() -> None:
    data = load_template_text(
        TEMPLATE
        + """\
Outputs:
  TableArn: {Value: !GetAtt Table.Arn}
  ProdTopic: {Value: !Ref ProdOnly, Condition: IsProd}
  Imported: {Value: !Sub "${AWS::StackName}-${Other}", }
"""
    ).data
    snap = build_snapshot(
        StackRef("st", "111122223333", "us-east-1"), data, parameters={"Ids": "s-1"}
    )
    assert "ProdOnly" not in snap.resources
    assert list(snap.resources) == ["Table", "Queue", "Fn", "CycleA", "CycleB"]
    assert snap.conditions["IsProd"] is False
    assert set(snap.outputs) == {"TableArn", "Imported"}
    assert isinstance(snap.outputs["Imported"], Unresolved)
    assert isinstance(snap.resources["CycleA"].properties["TopicName"], Unresolved)
    assert snap.parameters["Ids"] == ("s-1",)
    assert snap.no_echo == frozenset({"Secret"})


_KEYS = st.sampled_from(
    ["Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::If",
     "Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Condition", "Fn::FindInMap",
     "Fn::Base64", "Fn::GetAZs", "Fn::Cidr", "Fn::ImportValue", "Fn::Length",
     "Fn::ToJsonString", "Table", "Env", "IsProd", "Subnets", "AWS::NoValue"]
)  # fmt: skip
_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 300), _KEYS, st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, min_size=1, max_size=2)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_arbitrary_expressions_never_raise(value: Any) -> None:
    resolver = make()
    resolver.resolve(value)
    resolver.condition_value(value)

"""Template loading: short tags, JSON, line numbers, and the errors a person can act on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from stack_auditor.template.loader import (
    UNKNOWN_TAG,
    TemplateError,
    load_template_file,
    load_template_text,
)

SHORT_TAGS = """\
AWSTemplateFormatVersion: 2010-09-09
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Or [!Condition NotProd, !Condition IsProd]]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-data"
      Tags:
        - Key: arn
          Value: !GetAtt Table.Arn
        - Key: endpoint
          Value: !GetAtt Db.Endpoint.Address
        - Key: joined
          Value: !Join ["-", [!Ref Env, !Select [0, !GetAZs ""]]]
        - Key: mapped
          Value: !FindInMap [M, !Ref "AWS::Region", Key]
        - Key: split
          Value: !Select [1, !Split [",", "a,b"]]
        - Key: imported
          Value: !ImportValue Shared
        - Key: b64
          Value: !Base64 hello
        - Key: cidr
          Value: !Select [0, !Cidr ["10.0.0.0/16", 2, 8]]
        - Key: iffy
          Value: !If [IsProd, yes-prod, !Ref "AWS::NoValue"]
  Table:
    Type: AWS::DynamoDB::Table
"""


def test_short_tags_become_long_form() -> None:
    data = load_template_text(SHORT_TAGS).data
    assert data["AWSTemplateFormatVersion"] == "2010-09-09"  # a string, not a date
    assert data["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Env"}, "prod"]}
    assert data["Conditions"]["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    tags = {t["Key"]: t["Value"] for t in data["Resources"]["Bucket"]["Properties"]["Tags"]}
    assert data["Resources"]["Bucket"]["Properties"]["BucketName"] == {
        "Fn::Sub": "${AWS::StackName}-data"
    }
    assert tags["arn"] == {"Fn::GetAtt": ["Table", "Arn"]}
    assert tags["endpoint"] == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}
    assert tags["joined"] == {
        "Fn::Join": ["-", [{"Ref": "Env"}, {"Fn::Select": [0, {"Fn::GetAZs": ""}]}]]
    }
    assert tags["mapped"] == {"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "Key"]}
    assert tags["split"] == {"Fn::Select": [1, {"Fn::Split": [",", "a,b"]}]}
    assert tags["imported"] == {"Fn::ImportValue": "Shared"}
    assert tags["b64"] == {"Fn::Base64": "hello"}
    assert tags["cidr"] == {"Fn::Select": [0, {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}]}
    assert tags["iffy"] == {"Fn::If": ["IsProd", "yes-prod", {"Ref": "AWS::NoValue"}]}


def test_getatt_list_form_and_policy_version_stays_text() -> None:
    text = """\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: 2012-10-17
        Statement: []
      Description: !GetAtt [Other, Arn]
"""
    props = load_template_text(text).data["Resources"]["Role"]["Properties"]
    assert props["AssumeRolePolicyDocument"]["Version"] == "2012-10-17"
    assert props["Description"] == {"Fn::GetAtt": ["Other", "Arn"]}


def test_line_numbers_of_resources() -> None:
    loaded = load_template_text(SHORT_TAGS)
    assert loaded.lines == {"Bucket": 7, "Table": 30}


def test_json_template_with_lines() -> None:
    text = (
        '{\n  "Resources": {\n    "Queue": {"Type": "AWS::SQS::Queue"},\n'
        '    "Topic": {\n      "Type": "AWS::SNS::Topic"\n    }\n  }\n}\n'
    )
    loaded = load_template_text(text)
    assert loaded.data["Resources"]["Queue"] == {"Type": "AWS::SQS::Queue"}
    assert loaded.lines == {"Queue": 3, "Topic": 4}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("- a\n- b\n", "not a mapping"),
        ("just text", "not a mapping"),
        ("", "not a mapping"),
        ("Parameters: {}\n", "no Resources"),
        ("Resources: {}\n", "no Resources"),
        ("Resources: [a]\n", "no Resources"),
        ("Resources:\n  A: [1]\n", "is not a mapping"),
        ("Resources:\n  A:\n    Type: x\n   bad: indent\n", "not valid YAML"),
        ("Resources:\n  A: {Type: x}\n  A: {Type: y}\n", "duplicate key 'A' at line 3"),
        ('{"Resources": {"A": {"Type": "x"}, "A": {"Type": "y"}}}', "duplicate key 'A'"),
    ],
)
def test_unusable_templates_raise_template_error(text: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as info:
        load_template_text(text, "t.yaml")
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert message.startswith("t.yaml: ")


def test_billion_laughs_is_rejected_quickly() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines.append("Resources:\n  X: {Type: AWS::SNS::Topic, Properties: {Tags: *a9}}")
    started = time.perf_counter()
    with pytest.raises(TemplateError, match="alias bomb"):
        load_template_text("\n".join(lines))
    assert time.perf_counter() - started < 1.0


def test_recursive_alias_is_rejected() -> None:
    with pytest.raises(TemplateError, match="recursive"):
        load_template_text("Resources:\n  X: &x {Type: T, Properties: {Self: *x}}\n")


def test_deep_nesting_is_rejected() -> None:
    deep = "[" * 5000 + "]" * 5000
    with pytest.raises(TemplateError, match="nest"):
        load_template_text(f"Resources:\n  X: {{Type: T, Properties: {{P: {deep}}}}}\n")
    with pytest.raises(TemplateError, match="nest"):
        load_template_text('{"Resources": {"X": {"Type": "T", "P": ' + deep + "}}}")


def test_absurd_size_is_rejected() -> None:
    with pytest.raises(TemplateError, match="larger than"):
        load_template_text("Resources: {}\n" + "#" * (21 * 1024 * 1024))


def test_files(tmp_path: Path) -> None:
    good = tmp_path / "t.json"
    good.write_text('{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}')
    assert load_template_file(good).lines == {"T": 1}
    with pytest.raises(TemplateError, match="cannot read file"):
        load_template_file(tmp_path / "missing.yaml")
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TemplateError):
        load_template_file(binary)


def test_unknown_tags_load_as_markers_and_are_recorded() -> None:
    text = (
        "Resources:\n"
        "  Mod:\n"
        "    Type: !Rain::Module ./bucket.yml\n"
        "  Fn:\n"
        "    Type: AWS::Lambda::Function\n"
        "    Properties:\n"
        "      Code: {ZipFile: !Rain::Embed handler.py}\n"
        "      Layers: [!Rain::Embed other.py, !ValueOf [Subnets, VpcId]]\n"
    )
    loaded = load_template_text(text)
    props = loaded.data["Resources"]["Fn"]["Properties"]
    assert props["Code"]["ZipFile"] == {UNKNOWN_TAG: {"Tag": "!Rain::Embed", "Value": "handler.py"}}
    assert props["Layers"][1] == {UNKNOWN_TAG: {"Tag": "!ValueOf", "Value": ["Subnets", "VpcId"]}}
    assert dict(loaded.unknown_tags) == {"!Rain::Module": 3, "!Rain::Embed": 7, "!ValueOf": 8}
    assert dict(load_template_text(SHORT_TAGS).unknown_tags) == {}

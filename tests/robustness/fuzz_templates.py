"""Hypothesis strategies for template texts (imported as ``fuzz_templates``).

``cases`` yields ``(family, text)``. Families:

- ``structured``: templates the way people write them (resources of the types the rules read,
  parameters, conditions, outputs, SAM), with property values drawn from plausible values,
  intrinsic functions of right and wrong arity, and junk of every JSON/YAML type; rendered as
  JSON, long-form YAML or short-form YAML (``!Ref``, ``!Sub [..]``, ``!GetAtt a.b``, unknown
  tags such as ``!Rain::Embed``).
- ``wrong types``: a structured template with one section, resource, Type or Properties
  replaced by a value of the wrong type (Resources as a list, Properties as a string, ...).
- ``mutated text``: a structured template's text with bytes deleted, duplicated or inserted
  (YAML indicators, tabs, NUL, bidi and line-separator characters).
- ``yaml bomb``: billion laughs of random width and depth, recursive aliases, merge-key
  bombs, an alias of a deep node placed deep.
- ``deep nesting``: flow, block, compact (``- - -``) and JSON nesting up to 20,000 levels.
- ``huge``: strings up to 4 MB, huge keys, thousands of resources, 5,000-digit numbers.
- ``yaml oddities``: python/binary/set/omap/timestamp tags, complex and null keys, several
  documents, directives, BOM, CRLF.
- ``random text``: any text at all.
"""

from __future__ import annotations

import json
import random
from typing import Any

import fuzz_stats
import yaml
from hypothesis import strategies as st

RESOURCE_TYPES = (
    "AWS::Lambda::Function",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::DynamoDB::Table",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::Events::Rule",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::RestApi",
    "AWS::CloudWatch::Alarm",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Lambda::Permission",
    "AWS::SecretsManager::Secret",
    "AWS::Serverless::Function",
    "AWS::Serverless::Api",
    "AWS::Serverless::SimpleTable",
    "AWS::CloudFormation::Stack",
    "Custom::Thing",
    "AWS::EC2::Instance",
    "Not::A::Type",
)
PROPERTY_NAMES = (
    "Runtime", "Handler", "Role", "Code", "Environment", "Variables", "TracingConfig", "Mode",
    "Timeout", "MemorySize", "DeadLetterConfig", "TargetArn", "VpcConfig", "Layers",
    "AssumeRolePolicyDocument", "Policies", "PolicyDocument", "PolicyName", "Statement",
    "Effect", "Action", "Resource", "Principal", "Condition", "ManagedPolicyArns", "Roles",
    "QueueName", "VisibilityTimeout", "RedrivePolicy", "KmsMasterKeyId", "MessageRetentionPeriod",
    "TopicName", "BucketName", "BucketEncryption", "PublicAccessBlockConfiguration", "Bucket",
    "TableName", "BillingMode", "PointInTimeRecoverySpecification", "SSESpecification",
    "KeySchema", "AttributeDefinitions", "Engine", "StorageEncrypted", "PubliclyAccessible",
    "DBSubnetGroupName", "MasterUserPassword", "EnablePerformanceInsights", "DBInstanceClass",
    "EnableKeyRotation", "KeyPolicy", "RetentionInDays", "LogGroupName", "Targets", "Arn",
    "EventPattern", "AccessLogSetting", "MethodSettings", "StageName", "RestApiId",
    "AlarmActions", "MetricName", "Namespace", "Dimensions", "EventSourceArn", "FunctionName",
    "DestinationConfig", "OnFailure", "Destination", "Tags", "Key", "Value", "CodeUri", "Events",
    "Type", "Properties", "Queue", "Path", "Method", "ZipFile", "SecretString", "Name",
)  # fmt: skip
INTRINSICS = (
    "Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::If", "Fn::Select", "Fn::Split",
    "Fn::FindInMap", "Fn::ImportValue", "Fn::Base64", "Fn::Cidr", "Fn::GetAZs", "Fn::Equals",
    "Fn::And", "Fn::Or", "Fn::Not", "Condition", "Fn::Transform", "Fn::Length",
    "Fn::ToJsonString", "Fn::ForEach::Loop", "Fn::Unknown",
)  # fmt: skip
PSEUDO = ("AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::NoValue", "AWS::Partition")
SCALARS = (
    "*", "s3:*", "sqs:SendMessage", "arn:aws:s3:::bucket/*", "python3.7", "python3.12",
    "nodejs20.x", "Active", "PassThrough", "2012-10-17", "Allow", "Deny", "true", "false", "",
    "${AWS::StackName}-${Missing}", "${!Literal}", "${", "{{resolve:ssm:/a}}", "us-east-1",
    "123456789012", "arn:aws:iam::aws:policy/AdministratorAccess", "lambda.amazonaws.com",
    "index.handler", "PAY_PER_REQUEST", "postgres", "-1", "1e400", "0x1F", "~", "null",
)  # fmt: skip
UNKNOWN_TAGS = ("!Rain::Embed", "!Rain::Module", "!ValueOf", "!Foo", "!")
NASTY_INSERTS = (
    ":", "- ", "[", "]", "{", "}", "&a ", "*a", "!", "|", ">", "'", '"', "#", "\t", "\n",
    "%", "@", "`", "? ", "<<: ", "\x00", "\u202e", "\u2028", "\r", "\ufeff", "---\n", "...\n",
)  # fmt: skip


class Tagged:
    """A short-form YAML tag around a value, for the short-form renderer."""

    def __init__(self, tag: str, value: Any) -> None:
        self.tag, self.value = tag, value


_CDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _ShortFormDumper(_CDumper):  # type: ignore[misc]
    pass


def _represent_tagged(dumper: Any, data: Tagged) -> yaml.Node:
    value = data.value
    if isinstance(value, dict):
        return dumper.represent_mapping(data.tag, value)
    if isinstance(value, list):
        return dumper.represent_sequence(data.tag, value)
    return dumper.represent_scalar(data.tag, "" if value is None else str(value))


_ShortFormDumper.add_representer(Tagged, _represent_tagged)


def _short_form(value: Any, rng: random.Random) -> Any:
    """Long-form intrinsics -> Tagged short forms (some of them), unknown tags sprinkled in."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, arg),) = value.items()
            if isinstance(key, str) and key in INTRINSICS and rng.random() < 0.7:
                short = key.removeprefix("Fn::")
                if short == "GetAtt" and isinstance(arg, list) and rng.random() < 0.5:
                    arg = ".".join(str(a) for a in arg)
                return Tagged(f"!{short}", _short_form(arg, rng))
        if rng.random() < 0.03:
            return Tagged(
                rng.choice(UNKNOWN_TAGS), {k: _short_form(v, rng) for k, v in value.items()}
            )
        return {k: _short_form(v, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [_short_form(v, rng) for v in value]
    return value


def render(template: Any, style: str, seed: int) -> str:
    if style == "json":
        return json.dumps(template, indent=1, default=str)
    if style == "yaml":
        return yaml.dump(template, Dumper=_CDumper, sort_keys=False, allow_unicode=True)
    return yaml.dump(
        _short_form(template, random.Random(seed)),
        Dumper=_ShortFormDumper,
        sort_keys=False,
        allow_unicode=True,
    )


# ----------------------------------------------------------------------------- values

# Names come from one pool, so references (Ref, GetAtt, DependsOn, conditions) often hit a
# declared resource, parameter or condition, and the value strategies are built once (a
# strategy built inside each draw made generation ten times slower).
NAMES = (
    "Fn", "Role", "Queue", "Dlq", "Topic", "Bucket", "Table", "Key", "Db", "Api", "Alarm",
    "Rule", "Logs", "Stage", "Env", "Vpc", "IsProd", "HasVpc", "Missing", "x", "A1",
)  # fmt: skip
identifiers = st.sampled_from(NAMES)
short_text = st.text(max_size=20)
scalars = st.one_of(
    st.sampled_from(SCALARS),
    short_text,
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)


def intrinsic(
    inner: st.SearchStrategy[Any], names: st.SearchStrategy[str]
) -> st.SearchStrategy[Any]:
    """An intrinsic function call, right or wrong: arguments of any arity and type."""
    arguments = st.one_of(
        names,
        st.sampled_from(PSEUDO),
        st.lists(st.one_of(names, inner), max_size=4),
        inner,
        st.dictionaries(names, inner, max_size=2),
    )
    return st.builds(lambda key, arg: {key: arg}, st.sampled_from(INTRINSICS), arguments)


values = st.recursive(
    scalars | identifiers,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(PROPERTY_NAMES) | identifiers, inner, max_size=4),
        intrinsic(inner, identifiers),
    ),
    max_leaves=12,
)
parameters = st.fixed_dictionaries(
    {"Type": st.sampled_from(["String", "Number", "CommaDelimitedList", "X"])},
    optional={
        "Default": scalars,
        "NoEcho": st.booleans(),
        "AllowedValues": st.lists(scalars, max_size=3),
        "Description": short_text,
    },
)
mappings = st.dictionaries(
    identifiers,
    st.dictionaries(identifiers, st.dictionaries(identifiers, scalars, max_size=2), max_size=2),
    max_size=2,
)
properties = st.dictionaries(st.sampled_from(PROPERTY_NAMES), values, max_size=6)


@st.composite
def structured(draw: st.DrawFn) -> dict[str, Any]:
    logical_ids = draw(st.lists(identifiers, min_size=1, max_size=6, unique=True))
    parameter_names = draw(st.lists(identifiers, max_size=3, unique=True))
    condition_names = draw(st.lists(identifiers, max_size=2, unique=True))
    template: dict[str, Any] = {}
    if draw(st.booleans()):
        template["AWSTemplateFormatVersion"] = "2010-09-09"
    transform = draw(
        st.sampled_from(
            [None, None, "AWS::Serverless-2016-10-31", "AWS::LanguageExtensions", "Custom::Macro"]
        )
    )
    if transform:
        template["Transform"] = transform
    if parameter_names:
        template["Parameters"] = {name: draw(parameters) for name in parameter_names}
    if condition_names:
        template["Conditions"] = {name: draw(values) for name in condition_names}
    if draw(st.booleans()):
        template["Mappings"] = draw(mappings)
    if transform == "AWS::Serverless-2016-10-31" and draw(st.booleans()):
        template["Globals"] = {"Function": draw(properties)}
    resources: dict[str, Any] = {}
    for logical_id in logical_ids:
        body: dict[str, Any] = {"Type": draw(st.sampled_from(RESOURCE_TYPES))}
        if draw(st.integers(0, 9)):
            body["Properties"] = draw(properties)
        for attribute in ("Condition", "DependsOn", "DeletionPolicy", "Metadata"):
            if draw(st.integers(0, 7)) == 0:
                body[attribute] = draw(values)
        resources[logical_id] = body
    template["Resources"] = resources
    if draw(st.booleans()):
        template["Outputs"] = {
            name: {
                "Value": draw(values),
                **({"Condition": draw(identifiers)} if draw(st.booleans()) else {}),
            }
            for name in draw(st.lists(identifiers, max_size=3, unique=True))
        }
    return template


styles = st.sampled_from(("json", "yaml", "short"))
seeds = st.integers(0, 2**32 - 1)
structured_texts = st.builds(render, structured(), styles, seeds)

WRONG_TYPE_SLOTS = (
    "Resources",
    "resource",
    "Type",
    "Properties",
    "Parameters",
    "Conditions",
    "Outputs",
    "Transform",
    "root",
)


@st.composite
def wrong_types(draw: st.DrawFn) -> str:
    template = draw(structured())
    junk = draw(values)
    slot = draw(st.sampled_from(WRONG_TYPE_SLOTS))
    first = next(iter(template["Resources"]))
    if slot == "root":
        template = junk
    elif slot == "resource":
        template["Resources"][first] = junk
    elif slot in ("Type", "Properties"):
        template["Resources"][first][slot] = junk
    else:
        template[slot] = junk
    return render(template, draw(styles), draw(seeds))


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    text = draw(structured_texts)
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start, min(len(text), start + 40)))
        operation = draw(st.sampled_from(("delete", "duplicate", "insert", "insert")))
        if operation == "delete":
            text = text[:start] + text[end:]
        elif operation == "duplicate":
            text = text[:end] + text[start:end] + text[end:]
        else:
            text = text[:start] + draw(st.sampled_from(NASTY_INSERTS)) + text[start:]
    return text


RESOURCE_TAIL = "\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n"


def billion_laughs(width: int, depth: int, use_in_resource: bool) -> str:
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, depth + 1):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    if use_in_resource:
        return "\n".join(lines) + RESOURCE_TAIL + f"    Properties: {{Tags: *a{depth}}}\n"
    return "\n".join(lines) + RESOURCE_TAIL


def merge_bomb(width: int, depth: int) -> str:
    lines = ["m0: &m0 {k0: v}"]
    for level in range(1, depth + 1):
        merged = ", ".join([f"*m{level - 1}"] * width)
        lines.append(f"m{level}: &m{level} {{<<: [{merged}], k{level}: v}}")
    return "\n".join(lines) + RESOURCE_TAIL


def deep_alias(depth: int) -> str:
    deep = "[" * depth + "x" + "]" * depth
    return f"Deep: &d {deep}{RESOURCE_TAIL}    Properties: {{P: {'[' * depth}*d{']' * depth}}}\n"


yaml_bombs = st.one_of(
    st.builds(billion_laughs, st.integers(2, 12), st.integers(2, 12), st.booleans()),
    st.builds(merge_bomb, st.integers(2, 12), st.integers(2, 12)),
    st.builds(deep_alias, st.integers(50, 190)),
    st.just("Resources: &r\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties: {Self: *r}\n"),
    st.just("a: &a [*a]\n" + RESOURCE_TAIL),
    st.just("Resources: *undefined\n"),
    st.just("a: &a 1\nb: &a 2\n" + RESOURCE_TAIL),
)


# Indented styles grow with the square of the depth: 3,000 levels are ~10 MB of text already
# (20,000 would be 200 MB, built only to be refused by the size limit).
INDENTED_STYLES = ("block", "indentless")
MAX_INDENTED_DEPTH = 3_000


def nested(depth: int, style: str) -> str:
    if style in INDENTED_STYLES:
        depth = min(depth, MAX_INDENTED_DEPTH)
    if style == "flow-list":
        return f"Resources:\n  X: {{Type: T, Properties: {{P: {'[' * depth}{']' * depth}}}}}\n"
    if style == "flow-map":
        return "Resources: " + "{a: " * depth + "1" + "}" * depth + "\n"
    if style == "block":
        return (
            RESOURCE_TAIL
            + "    Properties:\n"
            + "".join(" " * (6 + i) + f"k{i}:\n" for i in range(depth))
            + " " * (6 + depth)
            + "v\n"
        )
    if style == "compact":
        return RESOURCE_TAIL + "    Properties:\n      P:\n" + "      " + "- " * depth + "x\n"
    if style == "indentless":  # a sequence at its mapping's column: two levels per step
        body = "".join(" " * (6 + 2 * i) + f"- k{i}:\n" for i in range(depth))
        return RESOURCE_TAIL + "    Properties:\n      P:\n" + body + " " * (8 + 2 * depth) + "v\n"
    if style == "compact+flow":
        half = depth // 2
        return (
            RESOURCE_TAIL
            + "    Properties:\n      P:\n      "
            + "- " * half
            + "[" * half
            + "]" * half
            + "\n"
        )
    if style == "json-list":
        return (
            '{"Resources": {"X": {"Type": "T", "Properties": {"P": '
            + "[" * depth
            + "]" * depth
            + "}}}}"
        )
    return '{"Resources": ' + '{"a": ' * depth + "1" + "}" * depth + "}"


deep_nesting = st.builds(
    nested,
    st.one_of(st.integers(1, 400), st.integers(400, 20_000)),
    st.sampled_from(
        (
            "flow-list",
            "flow-map",
            "block",
            "compact",
            "indentless",
            "compact+flow",
            "json-list",
            "json-map",
        )
    ),
)


def huge_string(size: int, char: str, where: str) -> str:
    big = char * size
    if where == "value":
        return RESOURCE_TAIL + f"    Properties: {{TopicName: {json.dumps(big)}}}\n"
    if where == "key":
        return RESOURCE_TAIL + f"    Properties: {{{json.dumps(big)}: 1}}\n"
    if where == "logical id":
        return f"Resources:\n  {json.dumps('R' + big)}:\n    Type: AWS::SNS::Topic\n"
    if where == "type":
        return f"Resources:\n  R:\n    Type: {json.dumps(big)}\n"
    return f"{json.dumps(big)}: 1{RESOURCE_TAIL}"


def many_resources(count: int, kind: str) -> str:
    body = {
        "Resources": {
            f"R{i}": {"Type": kind, "Properties": {"Tags": [{"Key": "k", "Value": str(i)}]}}
            for i in range(count)
        }
    }
    return json.dumps(body)


huge = st.one_of(
    st.builds(
        huge_string,
        st.integers(1_000, 4_000_000),
        st.sampled_from(("a", "é", "\u202e", " ", "\\", "漢", "\U0001f600")),
        st.sampled_from(("value", "key", "logical id", "type", "top")),
    ),
    # 500 is CloudFormation's limit per stack; CI stays smaller to fit its time budget.
    st.builds(
        many_resources,
        st.integers(50, 500 if fuzz_stats.FULL else 150),
        st.sampled_from(RESOURCE_TYPES),
    ),
    st.builds(
        lambda digits: RESOURCE_TAIL + f"    Properties: {{N: {'9' * digits}}}\n",
        st.integers(10, 6000),
    ),
)

YAML_ODDITIES = (
    "Resources: !!python/object:os.system {}\n",
    "Resources: !!python/name:os.system\n",
    "Resources: !!binary aGVsbG8=\n",
    "Resources: !!set {a, b}\n",
    "Resources: !!omap [a: {Type: T}]\n",
    "Resources:\n  A: {Type: !!timestamp 2001-12-14}\n",
    "Resources:\n  ? [a, b]\n  : {Type: T}\n",
    "Resources:\n  ? {a: b}\n  : {Type: T}\n",
    "Resources:\n  null: {Type: T}\n",
    "Resources:\n  true: {Type: T}\n  1: {Type: T}\n  1.5: {Type: T}\n",
    "---\nResources: {A: {Type: T}}\n---\nResources: {B: {Type: T}}\n",
    "%YAML 1.1\n---\nResources: {A: {Type: T}}\n",
    "%YAML 9.9\n---\nResources: {A: {Type: T}}\n",
    "%TAG ! tag:example.com,2000:\n---\nResources: {A: {Type: !x T}}\n",
    "\ufeffResources: {A: {Type: T}}\n",
    "Resources:\r\n  A:\r\n    Type: T\r\n",
    "Resources:\n\tA: {Type: T}\n",
    "Resources: {A: {Type: T, Properties: !<tag:yaml.org,2002:str> x}}\n",
    "Resources: {A: {Type: T, Properties: {P: !Ref }}}\n",
    "Resources: {A: {Type: T, Properties: {P: !GetAtt }}}\n",
    "Resources: {A: {Type: T, Properties: {P: !GetAtt [a, b, c, d]}}}\n",
    "Resources: {A: {Type: T, Properties: {P: !Sub [x, y, z]}}}\n",
    "Resources: {A: {Type: T, Properties: {P: !If [c]}}}\n",
    "Resources: {A: {Type: T, Properties: {P: !Select [9, [a]]}}}\n",
    "Resources: {A: {Type: T, Properties: {P: !Select [-1, [a]]}}}\n",
    "Resources: {A: {Type: T, Properties: {P: !Split [',', [a]]}}}\n",
    "Resources: {A: {Type: T, Properties: {P: !Cidr [1, 2]}}}\n",
    "Resources: {A: {Type: T, Properties: {P: !Base64 {a: b}}}}\n",
    "Resources: {A: {Type: T, Properties: {P: !FindInMap [M]}}}\n",
    "Resources: {A: {Type: T, Condition: !Equals [a]}}\n",
    "Resources: {A: {Type: T, Properties: {P: .nan, Q: .inf, R: -.inf}}}\n",
    '{"Resources": {"A": {"Type": "T", "Properties": {"P": NaN, "Q": Infinity}}}}',
    '{"Resources": {"A": {"Type": "T"}}} trailing',
    '{"Resources": {"A": {"Type": "T",}}}',
    "Resources: {A: {Type: T, DependsOn: [A, A, Missing]}}\n",
    "Resources: {A: {Type: T, Condition: A}}\nConditions: {A: {Condition: A}}\n",
    "Resources: {A: {Type: T, Properties: {P: {Ref: A}}}}\n",
    "Resources: {A: {Type: T, Properties: {P: {Fn::GetAtt: [A, Arn]}}}}\n",
    "Resources: {A: {Type: T, Properties: {P: {Fn::Sub: '${A.B.C}${AWS::Region}${!x}${'}}}}\n",
    "Transform: [AWS::Serverless-2016-10-31, AWS::Serverless-2016-10-31]\n"
    "Resources: {A: {Type: AWS::Serverless::Function}}\n",
    "Transform: {Name: AWS::Include, Parameters: {Location: s3://x}}\nResources: {A: {Type: T}}\n",
    '{"Resources": {"' + "L" * 300 + '": {"Type": "T"}}}',  # CloudFormation allows 255
)
yaml_oddities = st.sampled_from(YAML_ODDITIES)
random_text = st.text(max_size=400) | st.lists(
    st.sampled_from((*NASTY_INSERTS, "a", "Resources", " ", "Type: T")), max_size=60
).map("".join)

cases = st.one_of(
    structured_texts.map(lambda t: ("structured", t)),
    wrong_types().map(lambda t: ("wrong types", t)),
    mutated_text().map(lambda t: ("mutated text", t)),
    yaml_bombs.map(lambda t: ("yaml bomb", t)),
    deep_nesting.map(lambda t: ("deep nesting", t)),
    huge.map(lambda t: ("huge", t)),
    yaml_oddities.map(lambda t: ("yaml oddities", t)),
    random_text.map(lambda t: ("random text", t)),
)

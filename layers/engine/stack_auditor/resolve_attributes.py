"""Per-type identifier knowledge: what Ref and Fn::GetAtt return for a resource, and its ARN.

Live (physical id known) the identifiers are derived from the physical id. In scan they are
synthesised the way CloudFormation would name the resource: the explicit name property when
given, else ``<stack>-<LogicalId>-<13 deterministic uppercase chars>``. Anything that only the
service decides (a DynamoDB stream label, a Lambda version number, an RDS endpoint) is
``Unresolved``: never guessed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stack_auditor.model import Unresolved


@dataclass(frozen=True, slots=True)
class IdContext:
    """Everything needed to name one resource."""

    logical_id: str
    type: str
    properties: Mapping[str, Any]  # resolved
    physical_id: str | None
    stack_name: str
    account: str
    region: str
    partition: str
    url_suffix: str

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account if account else ''}:{resource}"
        )

    def suffix(
        self, length: int = 13, *, alphabet: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    ) -> str:
        digest = hashlib.sha256(f"{self.stack_name}/{self.logical_id}".encode()).digest()
        return "".join(alphabet[b % len(alphabet)] for b in digest[:length])

    def synthetic_name(self, max_length: int = 64, *, lower: bool = False) -> str:
        # CloudFormation trims the stack and logical id parts so the whole fits the limit
        suffix = self.suffix()
        room = max(max_length - len(suffix) - 2, 2)
        stack, logical = self.stack_name, self.logical_id
        if len(stack) + len(logical) > room:
            stack = stack[: max(room // 2, room - len(logical))]
            logical = logical[: room - len(stack)]
        name = f"{stack}-{logical}-{suffix}"
        return name.lower() if lower else name

    def prop(self, name: str) -> Any:
        return self.properties.get(name)

    def name(self, prop: str | None, max_length: int = 64, *, lower: bool = False) -> Any:
        """The resource's name: physical id, explicit name property, else a synthetic one."""
        if self.physical_id:
            return self.physical_id
        return self.template_name(prop, max_length, lower=lower)

    def template_name(
        self, prop: str | None, max_length: int = 64, *, lower: bool = False, suffix: str = ""
    ) -> Any:
        """The name the template gives: the explicit name property, else the synthetic name
        CloudFormation would generate (``suffix`` such as ".fifo" fits within max_length)."""
        if prop:
            value = self.properties.get(prop)
            if value is not None:
                return value if isinstance(value, (str, Unresolved)) else str(value)
        return self.synthetic_name(max_length - len(suffix), lower=lower) + suffix


Attributes = dict[str, Any]
_Namer = Callable[[IdContext], Attributes]


def _unknown(ctx: IdContext, what: str) -> Unresolved:
    return Unresolved(f"{what} of {ctx.logical_id} ({ctx.type}) is assigned at deployment")


def _arn_join(ctx: IdContext, name: Any, build: Callable[[str], str]) -> Any:
    return name if isinstance(name, Unresolved) else build(name)


def _last(value: Any, sep: str) -> Any:
    return value.rsplit(sep, 1)[-1] if isinstance(value, str) else value


def _s3_bucket(ctx: IdContext) -> Attributes:
    name = ctx.name("BucketName", 63, lower=True)
    if isinstance(name, Unresolved):
        return {"Ref": name, "Arn": name, "DomainName": name, "RegionalDomainName": name}
    return {
        "Ref": name,
        "Arn": f"arn:{ctx.partition}:s3:::{name}",
        "DomainName": f"{name}.s3.{ctx.url_suffix}",
        "RegionalDomainName": f"{name}.s3.{ctx.region}.{ctx.url_suffix}",
        "DualStackDomainName": f"{name}.s3.dualstack.{ctx.region}.{ctx.url_suffix}",
        "WebsiteURL": f"http://{name}.s3-website-{ctx.region}.{ctx.url_suffix}",
    }


def _dynamodb_table(ctx: IdContext) -> Attributes:
    name = ctx.name("TableName", 255)
    attrs: Attributes = {
        "Ref": name,
        "Arn": _arn_join(ctx, name, lambda n: ctx.arn("dynamodb", f"table/{n}")),
    }
    # the stream label is a timestamp chosen by DynamoDB
    attrs["StreamArn"] = _unknown(ctx, "StreamArn")
    attrs["TableId"] = _unknown(ctx, "TableId")
    return attrs


def _fifo(ctx: IdContext, flag: str) -> str:
    return ".fifo" if ctx.properties.get(flag) in (True, "true", "True") else ""


def _sns_topic(ctx: IdContext) -> Attributes:
    if ctx.physical_id:
        arn: Any = ctx.physical_id
        name: Any = _last(arn, ":")
    else:
        name = ctx.template_name("TopicName", 256, suffix=_fifo(ctx, "FifoTopic"))
        arn = _arn_join(ctx, name, lambda n: ctx.arn("sns", n))
    return {"Ref": arn, "TopicArn": arn, "TopicName": name}


def _sqs_queue(ctx: IdContext) -> Attributes:
    if ctx.physical_id:
        url: Any = ctx.physical_id
        name: Any = _last(url, "/")
    else:
        name = ctx.template_name("QueueName", 80, suffix=_fifo(ctx, "FifoQueue"))
        url = _arn_join(
            ctx, name, lambda n: f"https://sqs.{ctx.region}.{ctx.url_suffix}/{ctx.account}/{n}"
        )
    arn = _arn_join(ctx, name, lambda n: ctx.arn("sqs", n))
    return {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}


def _function_name(ctx: IdContext, prop: str = "FunctionName") -> Any:
    value = ctx.prop(prop)
    # FunctionName may be a name, a partial ARN or a full ARN
    return _last(value, ":") if isinstance(value, str) and value.startswith("arn:") else value


def _lambda_function(ctx: IdContext) -> Attributes:
    name = ctx.name("FunctionName", 64)
    return {
        "Ref": name,
        "Arn": _arn_join(ctx, name, lambda n: ctx.arn("lambda", f"function:{n}")),
    }


def _lambda_alias(ctx: IdContext) -> Attributes:
    if ctx.physical_id:
        arn: Any = ctx.physical_id
    else:
        function, alias = _function_name(ctx), ctx.prop("Name")
        if isinstance(function, Unresolved) or function is None:
            arn = function or _unknown(ctx, "alias ARN")
        elif isinstance(alias, Unresolved) or alias is None:
            arn = alias or _unknown(ctx, "alias ARN")
        else:
            arn = ctx.arn("lambda", f"function:{function}:{alias}")
    return {"Ref": arn, "AliasArn": arn}


def _lambda_version(ctx: IdContext) -> Attributes:
    if ctx.physical_id:
        arn = ctx.physical_id
        return {"Ref": arn, "Version": _last(arn, ":"), "FunctionArn": arn.rsplit(":", 1)[0]}
    version = _unknown(ctx, "version number")
    return {"Ref": version, "Version": version, "FunctionArn": version}


def _lambda_layer_version(ctx: IdContext) -> Attributes:
    if ctx.physical_id:
        return {"Ref": ctx.physical_id, "LayerVersionArn": ctx.physical_id}
    arn = _unknown(ctx, "layer version number")
    return {"Ref": arn, "LayerVersionArn": arn}


def _iam_path(ctx: IdContext) -> str:
    path = ctx.prop("Path")
    return path if isinstance(path, str) and path else "/"


def _iam_named(kind: str, prop: str, *, ref_is_arn: bool = False, arn_attr: str = "Arn") -> _Namer:
    def namer(ctx: IdContext) -> Attributes:
        if ref_is_arn and ctx.physical_id:
            arn: Any = ctx.physical_id
            name: Any = _last(arn, "/")
        else:
            name = ctx.name(prop, 64 if kind != "policy" else 128)
            arn = _arn_join(
                ctx, name, lambda n: ctx.arn("iam", f"{kind}{_iam_path(ctx)}{n}", region=False)
            )
        attrs: Attributes = {"Ref": arn if ref_is_arn else name, arn_attr: arn}
        if kind == "role":
            attrs["RoleId"] = _unknown(ctx, "RoleId")
        return attrs

    return namer


def _iam_policy(ctx: IdContext) -> Attributes:
    ident = ctx.physical_id or ctx.synthetic_name(128)
    return {"Ref": ident, "Id": ident}


def _log_group(ctx: IdContext) -> Attributes:
    name = ctx.name("LogGroupName", 512)
    return {
        "Ref": name,
        "Arn": _arn_join(ctx, name, lambda n: ctx.arn("logs", f"log-group:{n}:*")),
    }


def _kms_key(ctx: IdContext) -> Attributes:
    key_id = ctx.physical_id or str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.stack_name}/{ctx.logical_id}")
    )
    arn = ctx.arn("kms", f"key/{key_id}")
    return {"Ref": key_id, "KeyId": key_id, "Arn": arn}


def _kms_alias(ctx: IdContext) -> Attributes:
    name = ctx.physical_id or ctx.prop("AliasName")
    if name is None:
        name = _unknown(ctx, "alias name")
    return {"Ref": name}


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _secret(ctx: IdContext) -> Attributes:
    if ctx.physical_id:
        arn: Any = ctx.physical_id
    else:
        name = ctx.name("Name", 512)
        # Secrets Manager appends "-" and 6 random characters to the name in the ARN
        arn = _arn_join(
            ctx,
            name,
            lambda n: ctx.arn(
                "secretsmanager",
                f"secret:{n}-{ctx.suffix(6, alphabet=_LETTERS)}",
            ),
        )
    return {"Ref": arn, "Id": arn}


def _state_machine(ctx: IdContext) -> Attributes:
    if ctx.physical_id:
        arn: Any = ctx.physical_id
        name: Any = _last(arn, ":")
    else:
        name = ctx.name("StateMachineName", 80)
        arn = _arn_join(ctx, name, lambda n: ctx.arn("states", f"stateMachine:{n}"))
    return {"Ref": arn, "Arn": arn, "Name": name}


def _events_rule(ctx: IdContext) -> Attributes:
    bus = ctx.prop("EventBusName")
    if isinstance(bus, str) and bus.startswith("arn:"):
        bus = _last(bus, "/")
    custom_bus = isinstance(bus, str) and bus not in ("", "default")
    if ctx.physical_id:
        ref: Any = ctx.physical_id
        name: Any = _last(ref, "|")
    else:
        name = ctx.name("Name", 64)
        # Ref is "bus|rule" for rules on a custom event bus
        ref = f"{bus}|{name}" if custom_bus and isinstance(name, str) else name
    if isinstance(bus, Unresolved):
        arn: Any = bus
    else:
        path = f"rule/{bus}/" if custom_bus else "rule/"
        arn = _arn_join(ctx, name, lambda n: ctx.arn("events", f"{path}{n}"))
    return {"Ref": ref, "Arn": arn}


def _event_bus(ctx: IdContext) -> Attributes:
    name = ctx.name("Name", 256)
    arn = _arn_join(ctx, name, lambda n: ctx.arn("events", f"event-bus/{n}"))
    return {"Ref": name, "Name": name, "Arn": arn}


def _alarm(ctx: IdContext) -> Attributes:
    name = ctx.name("AlarmName", 255)
    return {"Ref": name, "Arn": _arn_join(ctx, name, lambda n: ctx.arn("cloudwatch", f"alarm:{n}"))}


def _rest_api(ctx: IdContext) -> Attributes:
    api_id = ctx.physical_id or ctx.suffix(10, alphabet="abcdefghijklmnopqrstuvwxyz0123456789")
    return {"Ref": api_id, "RestApiId": api_id, "RootResourceId": _unknown(ctx, "RootResourceId")}


def _http_api(ctx: IdContext) -> Attributes:
    api_id = ctx.physical_id or ctx.suffix(10, alphabet="abcdefghijklmnopqrstuvwxyz0123456789")
    endpoint = f"https://{api_id}.execute-api.{ctx.region}.{ctx.url_suffix}"
    return {"Ref": api_id, "ApiId": api_id, "ApiEndpoint": endpoint}


def _kinesis_stream(ctx: IdContext) -> Attributes:
    name = ctx.name("Name", 128)
    return {"Ref": name, "Arn": _arn_join(ctx, name, lambda n: ctx.arn("kinesis", f"stream/{n}"))}


def _db_instance(ctx: IdContext) -> Attributes:
    ident = ctx.name("DBInstanceIdentifier", 63, lower=True)
    if isinstance(ident, str):
        ident = ident.lower()  # RDS stores identifiers in lower case
    arn = _arn_join(ctx, ident, lambda n: ctx.arn("rds", f"db:{n}"))
    port = ctx.prop("Port")
    return {
        "Ref": ident,
        "DBInstanceArn": arn,
        "Endpoint.Address": _unknown(ctx, "Endpoint.Address"),
        "Endpoint.Port": str(port)
        if isinstance(port, (str, int))
        else _unknown(ctx, "Endpoint.Port"),
    }


def _ec2_id(prefix: str, extra: Callable[[IdContext, str], Attributes] | None = None) -> _Namer:
    def namer(ctx: IdContext) -> Attributes:
        ident = ctx.physical_id or f"{prefix}-{ctx.suffix(17, alphabet='0123456789abcdef')}"
        attrs: Attributes = {"Ref": ident}
        if extra:
            attrs.update(extra(ctx, ident))
        return attrs

    return namer


def _ecs_cluster(ctx: IdContext) -> Attributes:
    name = ctx.name("ClusterName", 255)
    if isinstance(name, str) and name.startswith("arn:"):
        name = _last(name, "/")
    return {"Ref": name, "Arn": _arn_join(ctx, name, lambda n: ctx.arn("ecs", f"cluster/{n}"))}


def _ssm_parameter(ctx: IdContext) -> Attributes:
    name = ctx.name("Name", 1011)
    return {"Ref": name, "Type": ctx.prop("Type"), "Value": ctx.prop("Value")}


def _ecr_repository(ctx: IdContext) -> Attributes:
    name = ctx.name("RepositoryName", 256, lower=True)
    arn = _arn_join(ctx, name, lambda n: ctx.arn("ecr", f"repository/{n}"))
    uri = _arn_join(ctx, name, lambda n: f"{ctx.account}.dkr.ecr.{ctx.region}.{ctx.url_suffix}/{n}")
    return {"Ref": name, "Arn": arn, "RepositoryUri": uri}


NAMERS: Mapping[str, _Namer] = {
    "AWS::S3::Bucket": _s3_bucket,
    "AWS::DynamoDB::Table": _dynamodb_table,
    "AWS::DynamoDB::GlobalTable": _dynamodb_table,
    "AWS::SNS::Topic": _sns_topic,
    "AWS::SQS::Queue": _sqs_queue,
    "AWS::Lambda::Function": _lambda_function,
    "AWS::Lambda::Alias": _lambda_alias,
    "AWS::Lambda::Version": _lambda_version,
    "AWS::Lambda::LayerVersion": _lambda_layer_version,
    "AWS::IAM::Role": _iam_named("role", "RoleName"),
    "AWS::IAM::User": _iam_named("user", "UserName"),
    "AWS::IAM::Group": _iam_named("group", "GroupName"),
    "AWS::IAM::InstanceProfile": _iam_named("instance-profile", "InstanceProfileName"),
    "AWS::IAM::ManagedPolicy": _iam_named(
        "policy", "ManagedPolicyName", ref_is_arn=True, arn_attr="PolicyArn"
    ),
    "AWS::IAM::Policy": _iam_policy,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::KMS::Key": _kms_key,
    "AWS::KMS::Alias": _kms_alias,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::StepFunctions::StateMachine": _state_machine,
    "AWS::Events::Rule": _events_rule,
    "AWS::Events::EventBus": _event_bus,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::ApiGateway::RestApi": _rest_api,
    "AWS::ApiGatewayV2::Api": _http_api,
    "AWS::Kinesis::Stream": _kinesis_stream,
    "AWS::RDS::DBInstance": _db_instance,
    "AWS::EC2::VPC": _ec2_id(
        "vpc", lambda ctx, i: {"VpcId": i, "CidrBlock": ctx.prop("CidrBlock")}
    ),
    "AWS::EC2::Subnet": _ec2_id(
        "subnet",
        lambda ctx, i: {
            "SubnetId": i,
            "VpcId": ctx.prop("VpcId"),
            "AvailabilityZone": ctx.prop("AvailabilityZone"),
            "CidrBlock": ctx.prop("CidrBlock"),
        },
    ),
    "AWS::EC2::SecurityGroup": _ec2_id(
        "sg", lambda ctx, i: {"GroupId": i, "VpcId": ctx.prop("VpcId")}
    ),
    **{
        f"AWS::EC2::{kind}": _ec2_id(prefix)
        for kind, prefix in (
            ("InternetGateway", "igw"),
            ("RouteTable", "rtb"),
            ("NatGateway", "nat"),
            ("NetworkAcl", "acl"),
            ("LaunchTemplate", "lt"),
            ("VPCEndpoint", "vpce"),
            ("TransitGateway", "tgw"),
            ("Volume", "vol"),
            ("Instance", "i"),
            ("NetworkInterface", "eni"),
            ("EgressOnlyInternetGateway", "eigw"),
            ("VPNGateway", "vgw"),
            ("CustomerGateway", "cgw"),
            ("DHCPOptions", "dopt"),
            ("PrefixList", "pl"),
        )
    },
    "AWS::ECS::Cluster": _ecs_cluster,
    "AWS::SSM::Parameter": _ssm_parameter,
    "AWS::ECR::Repository": _ecr_repository,
}


def attributes_for(ctx: IdContext) -> tuple[Attributes, bool]:
    """What Ref/GetAtt return for the resource, and whether the identifiers are synthetic."""
    namer = NAMERS.get(ctx.type)
    if namer is None:
        if ctx.physical_id:
            return {"Ref": ctx.physical_id}, False
        return {"Ref": _unknown(ctx, "physical id")}, False
    attrs = {k: v for k, v in namer(ctx).items() if v is not None}
    return attrs, ctx.physical_id is None

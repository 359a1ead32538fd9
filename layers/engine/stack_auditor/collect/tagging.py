"""Tags live: each taggable resource's deployed tags as a key -> value map in ``live["Tags"]``.

``tag:GetResources`` (Resource Groups Tagging API) with a ``ResourceARNList`` of up to 100 of
the stack's ARNs per call. The API answers only for resources that are (or were) tagged, so an
ARN it does not return belongs to a resource without tags: ``Tags`` is ``{}``. It documents no
pagination for an ARN list; a ``PaginationToken`` is followed should one come back (moto pages
by 50). A deleted resource is indistinguishable from an untagged one here: the service's own
collector reports it missing.

Covered: the types of ``ARN_BUILDERS`` below, whose ARN is built from the physical id the way
the tagging API names it (the resolved ``Arn`` attribute where it has that form). IAM roles are
global, and GetResources does not return them (aws/aws-sdk#581): their tags come from
``iam:ListRoleTags``, one call per role. Every other taggable type, and a resource whose ARN
cannot be built (an unresolved API id), gets no live tags and stays judged on the template.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from stack_auditor.collect.live import Collector, LiveContext, Task, arn_of, batches, each
from stack_auditor.model import Resource
from stack_auditor.rules.tagging.required_tags_missing import taggable_types

BATCH = 100  # ARNs per GetResources call: the API's maximum
ROLE = "AWS::IAM::Role"

ArnBuilder = Callable[[Resource, LiveContext], str | None]


def _attribute(resource: Resource, context: LiveContext) -> str | None:
    """The resolved ``Arn``; a log group's trailing ``:*`` is not part of its tagging ARN."""
    arn = arn_of(resource)
    return arn.removesuffix(":*") if arn else None


def _physical_arn(resource: Resource, context: LiveContext) -> str | None:
    physical = resource.physical_id or ""
    return physical if physical.startswith("arn:") else None


def _attribute_named(name: str) -> ArnBuilder:
    def build(resource: Resource, context: LiveContext) -> str | None:
        value = resource.attributes.get(name)
        return value if isinstance(value, str) and value.startswith("arn:") else None

    return build


def _regional(service: str, path: Callable[[Resource], Any]) -> ArnBuilder:
    """arn:<partition>:<service>:<region>:<account>:<path of the resource>."""

    def build(resource: Resource, context: LiveContext) -> str | None:
        tail = path(resource)
        if not isinstance(tail, str) or not tail:
            return None
        return f"arn:{context.partition}:{service}:{context.region}:{context.account}:{tail}"

    return build


def _api_gateway(path: Callable[[Resource], Any]) -> ArnBuilder:
    """API Gateway ARNs have no account: arn:<partition>:apigateway:<region>::/<path>."""

    def build(resource: Resource, context: LiveContext) -> str | None:
        tail = path(resource)
        if not isinstance(tail, str):
            return None
        return f"arn:{context.partition}:apigateway:{context.region}::{tail}"

    return build


def _stage_path(api_property: str, apis: str) -> Callable[[Resource], str | None]:
    """/<apis>/<api id>/stages/<stage name> of a stage (its physical id is the name)."""

    def path(resource: Resource) -> str | None:
        api = resource.prop(api_property)
        if isinstance(api, str) and resource.physical_id:
            return f"/{apis}/{api}/stages/{resource.physical_id}"
        return None

    return path


def _ssm_parameter(resource: Resource) -> str | None:
    name = resource.physical_id
    return f"parameter/{name.lstrip('/')}" if name else None


ARN_BUILDERS: Mapping[str, ArnBuilder] = {
    "AWS::S3::Bucket": _attribute,
    "AWS::DynamoDB::Table": _attribute,
    "AWS::SQS::Queue": _attribute,
    "AWS::SNS::Topic": _physical_arn,
    "AWS::Lambda::Function": _attribute,
    "AWS::Logs::LogGroup": _attribute,
    "AWS::KMS::Key": _attribute,
    "AWS::SecretsManager::Secret": _physical_arn,
    "AWS::StepFunctions::StateMachine": _physical_arn,
    "AWS::Events::Rule": _attribute,
    "AWS::Events::EventBus": _attribute,
    "AWS::CloudWatch::Alarm": _attribute,
    "AWS::Kinesis::Stream": _attribute,
    "AWS::KinesisFirehose::DeliveryStream": _regional(
        "firehose", lambda r: r.physical_id and f"deliverystream/{r.physical_id}"
    ),
    "AWS::ECR::Repository": _attribute,
    "AWS::ECS::Cluster": _attribute,
    "AWS::SSM::Parameter": _regional("ssm", _ssm_parameter),
    "AWS::RDS::DBInstance": _attribute_named("DBInstanceArn"),
    "AWS::RDS::DBCluster": _regional(
        "rds", lambda r: r.physical_id and f"cluster:{r.physical_id.lower()}"
    ),
    "AWS::ApiGateway::RestApi": _api_gateway(lambda r: f"/restapis/{r.physical_id}"),
    "AWS::ApiGateway::Stage": _api_gateway(_stage_path("RestApiId", "restapis")),
    "AWS::ApiGatewayV2::Api": _api_gateway(lambda r: f"/apis/{r.physical_id}"),
    "AWS::ApiGatewayV2::Stage": _api_gateway(_stage_path("ApiId", "apis")),
}


def tagging_arn(resource: Resource, context: LiveContext) -> str | None:
    """The ARN the tagging API knows ``resource`` by, when its type is covered and taggable."""
    build = ARN_BUILDERS.get(resource.type)
    return build(resource, context) if build and resource.type in taggable_types() else None


def _plan(context: LiveContext, resources: Sequence[Resource]) -> Iterable[Task]:
    taggable = taggable_types()
    by_arn: dict[str, Resource] = {}
    for resource in resources:
        arn = tagging_arn(resource, context)
        if arn:
            by_arn[arn] = resource
    arns = list(by_arn)
    for batch in batches(arns, BATCH):
        scopes = tuple(by_arn[arn].logical_id for arn in batch)
        yield Task(scopes, "tag:GetResources", _bind_batch(context, batch, by_arn))
    roles = [r for r in resources if r.type == ROLE and ROLE in taggable]
    yield from each(roles, "iam:ListRoleTags", lambda role: _read_role(context, role))


def _bind_batch(
    context: LiveContext, arns: Sequence[str], by_arn: Mapping[str, Resource]
) -> Callable[[], None]:
    return lambda: _read_batch(context, arns, by_arn)


def _read_batch(context: LiveContext, arns: Sequence[str], by_arn: Mapping[str, Resource]) -> None:
    client = context.client("resourcegroupstaggingapi")
    found: dict[str, dict[str, Any]] = {}
    token = ""
    while True:
        # the token only when one came back: AWS rejects it beside ResourceARNList otherwise
        params: dict[str, Any] = {"ResourceARNList": list(arns)}
        if token:
            params["PaginationToken"] = token
        response = client.get_resources(**params)
        for mapping in response.get("ResourceTagMappingList") or ():
            arn = str(mapping.get("ResourceARN", "")).removesuffix(":*")
            found[arn] = _tag_map(mapping.get("Tags"))
        token = response.get("PaginationToken") or ""
        if not token:
            break
    for arn in arns:
        # not returned: never tagged (GetResources omits untagged resources)
        context.put(by_arn[arn].logical_id, {"Tags": found.get(arn, {})})


def _read_role(context: LiveContext, role: Resource) -> None:
    paginator = context.client("iam").get_paginator("list_role_tags")
    tags: dict[str, Any] = {}
    for page in paginator.paginate(RoleName=role.physical_id):
        tags.update(_tag_map(page.get("Tags")))
    context.put(role.logical_id, {"Tags": tags})


def _tag_map(tags: Any) -> dict[str, Any]:
    return {t["Key"]: t.get("Value") for t in tags or () if isinstance(t, Mapping) and "Key" in t}


COLLECTOR = Collector(
    service="tag",
    types=(*ARN_BUILDERS, ROLE),
    actions=("tag:GetResources", "iam:ListRoleTags"),
    plan=_plan,
    reads="Tags",
)

"""API Gateway live state: each stage's settings (``GetStage``) and, when a deployed stage turns
execution logging on, the account's API Gateway settings (``GetAccount``, once per audit).

A stage is what ``rules/apigateway/_stages.py`` calls one: an ``AWS::ApiGateway::Stage`` (physical
id = stage name, ``RestApiId`` from its resolved properties), an ``AWS::ApiGatewayV2::Stage``
(physical id = stage name, ``ApiId``), or an ``AWS::ApiGateway::Deployment`` that creates the
stage named by its ``StageName`` (SAM's deployment artefacts are skipped). ``live`` holds the
keys the stage rules read, in the API's own case: REST ``stageName``, ``accessLogSettings``,
``methodSettings``; HTTP/WebSocket ``StageName``, ``AccessLogSettings``,
``DefaultRouteSettings``, ``RouteSettings`` (None when the stage has none).

Every API Gateway read is the IAM action ``apigateway:GET``. ``GetAccount`` is skipped when the
stack sets the CloudWatch role itself (``AWS::ApiGateway::Account``); its failure is a gap on
each stage that needed it, from one call (the failure is shared, not retried per stage).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from stack_auditor.collect.live import Collector, LiveContext, Task
from stack_auditor.model import Resource, freeze
from stack_auditor.rules.apigateway._stages import (
    DEPLOYMENT,
    STAGE_TYPES,
    V2_STAGE,
    execution_logging,
    stack_account_role,
    stage_of,
)

ACTION = "apigateway:GET"
_REST_KEYS = ("stageName", "deploymentId", "accessLogSettings", "methodSettings")
_V2_KEYS = ("StageName", "AccessLogSettings", "DefaultRouteSettings", "RouteSettings")


def _stage_id(stage: Resource) -> tuple[Any, Any]:
    """(API id, stage name) of the stage the resource creates."""
    if stage.type == DEPLOYMENT:
        return stage.prop("RestApiId"), stage.prop("StageName")
    if stage.type == V2_STAGE:
        return stage.prop("ApiId"), stage.physical_id
    return stage.prop("RestApiId"), stage.physical_id


def _described(response: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: response.get(key) for key in keys}


def _plan(context: LiveContext, resources: Sequence[Resource]) -> Iterable[Task]:
    snapshot = context.snapshot
    account_in_stack = snapshot is not None and stack_account_role(snapshot) is not None

    def account_settings() -> tuple[dict[str, Any] | None, Exception | None]:
        try:
            response = context.client("apigateway").get_account()
        except Exception as exc:  # shared by every stage that asks: recorded as their gaps
            return None, exc
        response.pop("ResponseMetadata", None)
        return response, None

    def read(res: Resource, rest: bool) -> None:
        api_id, name = _stage_id(res)
        if not isinstance(api_id, str) or not isinstance(name, str):
            context.gap(
                res.logical_id,
                ACTION,
                "unresolved",
                f"the stage's API id ({api_id}) or name ({name}) cannot be resolved",
            )
            return
        if rest:
            response = context.client("apigateway").get_stage(restApiId=api_id, stageName=name)
            live = _described(response, _REST_KEYS)
        else:
            response = context.client("apigatewayv2").get_stage(ApiId=api_id, StageName=name)
            live = _described(response, _V2_KEYS)
        context.put(res.logical_id, live)
        deployed = stage_of(replace(res, live=freeze(live)))
        if account_in_stack or deployed is None or not execution_logging(deployed):
            return  # the account's CloudWatch role is only read for a stage that logs
        account, error = context.cached("apigateway:GetAccount", account_settings)
        if error is not None:
            context.gap(res.logical_id, ACTION, error, "GetAccount (account settings)")
        else:
            context.put_extra("apigateway_account", account)

    for res in resources:
        stage = stage_of(res)
        if stage is not None:  # a SAM deployment artefact creates no stage a rule reads
            yield Task((res.logical_id,), ACTION, _bind(read, res, stage.rest))


def _bind(read: Callable[[Resource, bool], None], res: Resource, rest: bool) -> Callable[[], None]:
    return lambda: read(res, rest)


COLLECTOR = Collector(
    service="apigateway",
    types=STAGE_TYPES,
    actions=(ACTION,),
    plan=_plan,
    reads="Stage settings (access logs, method/route settings); account CloudWatch role",
)

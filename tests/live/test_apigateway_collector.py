"""API Gateway collector: stage settings read live (REST, HTTP, a deployment's stage), the
account's CloudWatch role read once and only for logging stages, and gaps become UNKNOWN.

moto's CloudFormation creates no API Gateway stage, so the APIs and stages are created through
the apigateway/apigatewayv2 APIs and the snapshot is built with their physical ids
(``built_stack``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from built_stack import built_live_read
from faults import refuse
from live_world import REGION, client, outcomes, verdicts
from moto import mock_aws
from stack_auditor.collect import apigateway
from stack_auditor.collect.clients import CallCounter, Clients
from stack_auditor.model import Outcome

LOGS = "arn:aws:logs:us-east-1:123456789012:log-group:api-access"
COLLECTORS = (apigateway.COLLECTOR,)


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def rest_api(stage: str) -> tuple[str, str]:
    """A REST API with one method, deployed to ``stage``: (API id, deployment id)."""
    gateway = client("apigateway")
    api = gateway.create_rest_api(name="orders")["id"]
    root = gateway.get_resources(restApiId=api)["items"][0]["id"]
    gateway.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    gateway.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    deployment = gateway.create_deployment(restApiId=api, stageName=stage)["id"]
    return api, deployment


def patch_stage(api: str, stage: str, *operations: dict[str, str]) -> None:
    client("apigateway").update_stage(
        restApiId=api, stageName=stage, patchOperations=list(operations)
    )


def logged_rest_stage(**stage_properties: Any) -> dict[str, Any]:
    properties = {
        "RestApiId": {"Ref": "Api"},
        "StageName": "prod",
        "DeploymentId": "d",
        "AccessLogSetting": {"DestinationArn": LOGS, "Format": "$context.requestId"},
    }
    return {"Type": "AWS::ApiGateway::Stage", "Properties": {**properties, **stage_properties}}


def test_reads_each_kind_of_stage_once_and_no_account_without_logging() -> None:
    api, deployment = rest_api("prod")
    # the access logs the template sets, applied through the API (moto's CFN makes no stage)
    patch_stage(
        api,
        "prod",
        {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": LOGS},
        {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.requestId"},
    )
    http = client("apigatewayv2").create_api(Name="h", ProtocolType="HTTP")["ApiId"]
    client("apigatewayv2").create_stage(
        ApiId=http, StageName="$default", AccessLogSettings={"DestinationArn": LOGS, "Format": "x"}
    )
    template = {
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "orders"}},
            "Prod": logged_rest_stage(),
            "Http": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "h"}},
            "HttpStage": {
                "Type": "AWS::ApiGatewayV2::Stage",
                "Properties": {
                    "ApiId": {"Ref": "Http"},
                    "StageName": "$default",
                    "AccessLogSettings": {"DestinationArn": LOGS, "Format": "x"},
                },
            },
            # a deployment that names no stage creates none: nothing to read
            "Bare": {"Type": "AWS::ApiGateway::Deployment", "Properties": {"RestApiId": api}},
        }
    }
    ids = {"Api": api, "Prod": "prod", "Http": http, "HttpStage": "$default", "Bare": deployment}
    read = built_live_read(template, ids, collectors=COLLECTORS)

    assert read.counter.calls == {"apigateway:GetStage": 1, "apigatewayv2:GetStage": 1}
    assert read.gaps() == []
    prod, http_stage = read.live("Prod"), read.live("HttpStage")
    assert prod is not None and prod["accessLogSettings"]["destinationArn"] == LOGS
    assert http_stage is not None and http_stage["AccessLogSettings"]["DestinationArn"] == LOGS
    assert read.live("Bare") is None
    assert "apigateway_account" not in read.snapshot.extras
    assert outcomes(read.snapshot, "apigw-stage-no-access-logs") == {
        (Outcome.PASS, "Prod"),
        (Outcome.PASS, "HttpStage"),
    }


def test_access_logs_removed_live_are_found_and_their_fix_resolves() -> None:
    api, _ = rest_api("prod")
    set_logs = {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": LOGS}
    patch_stage(api, "prod", set_logs)
    template = {
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "orders"}},
            "Prod": logged_rest_stage(),
        }
    }
    ids = {"Api": api, "Prod": "prod"}
    patch_stage(api, "prod", {"op": "remove", "path": "/accessLogSettings"})

    snapshot = built_live_read(template, ids, collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, "apigw-stage-no-access-logs") == {(Outcome.FAIL, "Prod")}
    [verdict] = verdicts(snapshot, "apigw-stage-no-access-logs")
    assert verdict.path == "Properties.AccessLogSetting.DestinationArn"
    assert dict(verdict.evidence) == {"source": "live", "value": None, "template": LOGS}
    assert "drift" in verdict.message

    patch_stage(api, "prod", set_logs)
    snapshot = built_live_read(template, ids, collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, "apigw-stage-no-access-logs") == {(Outcome.PASS, "Prod")}


def test_a_deployments_stage_is_read_by_its_stage_name() -> None:
    api, deployment = rest_api("live")
    template = {
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "orders"}},
            "Deployment": {
                "Type": "AWS::ApiGateway::Deployment",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "StageName": "live",
                    "StageDescription": {"AccessLogSetting": {"DestinationArn": LOGS}},
                },
            },
        }
    }
    read = built_live_read(template, {"Api": api, "Deployment": deployment}, collectors=COLLECTORS)
    assert read.counter.calls == {"apigateway:GetStage": 1}
    live = read.live("Deployment")
    assert live is not None and live["stageName"] == "live"
    # moto's deployment made the stage without the template's access logs: live decides
    assert outcomes(read.snapshot, "apigw-stage-no-access-logs") == {(Outcome.FAIL, "Deployment")}


def logging_template(*, account_resource: bool = False) -> dict[str, Any]:
    logging = [{"HttpMethod": "*", "ResourcePath": "/*", "LoggingLevel": "INFO"}]
    resources: dict[str, Any] = {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "orders"}},
        "Prod": logged_rest_stage(MethodSettings=logging),
        "Beta": logged_rest_stage(StageName="beta", MethodSettings=logging),
    }
    if account_resource:
        resources["ApiAccount"] = {
            "Type": "AWS::ApiGateway::Account",
            "Properties": {"CloudWatchRoleArn": "arn:aws:iam::123456789012:role/apigw-logs"},
        }
    return {"Resources": resources}


def logging_stages() -> dict[str, str]:
    """Two deployed stages with execution logging on (patched: moto's CFN makes no stage)."""
    api, deployment = rest_api("prod")
    client("apigateway").create_stage(restApiId=api, stageName="beta", deploymentId=deployment)
    for stage in ("prod", "beta"):
        patch_stage(api, stage, {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"})
    return {"Api": api, "Prod": "prod", "Beta": "beta", "ApiAccount": "account"}


def test_account_role_is_read_once_for_logging_stages_and_decides_the_account_rule() -> None:
    ids = logging_stages()
    read = built_live_read(logging_template(), ids, collectors=COLLECTORS)
    assert read.counter.calls == {"apigateway:GetStage": 2, "apigateway:GetAccount": 1}
    assert "cloudwatchRoleArn" not in read.snapshot.extras["apigateway_account"]
    rule = "apigw-account-logging-role-missing"
    assert outcomes(read.snapshot, rule) == {(Outcome.FAIL, "Prod"), (Outcome.FAIL, "Beta")}

    client("apigateway").update_account(
        patchOperations=[
            {"op": "replace", "path": "/cloudwatchRoleArn", "value": "arn:aws:iam::1:role/logs"}
        ]
    )
    snapshot = built_live_read(logging_template(), ids, collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, rule) == {(Outcome.PASS, "Prod"), (Outcome.PASS, "Beta")}


def test_account_role_is_not_read_when_the_stack_sets_it() -> None:
    ids = logging_stages()
    read = built_live_read(logging_template(account_resource=True), ids, collectors=COLLECTORS)
    assert read.counter.calls == {"apigateway:GetStage": 2}


def test_account_read_denied_is_one_call_and_a_gap_on_each_logging_stage() -> None:
    ids = logging_stages()
    clients = Clients(region=REGION, counter=CallCounter())
    refuse(clients, "apigateway", "GetAccount", "AccessDeniedException")
    read = built_live_read(logging_template(), ids, collectors=COLLECTORS, clients=clients)
    assert read.counter.calls == {"apigateway:GetStage": 2, "apigateway:GetAccount": 1}
    for stage in ("Prod", "Beta"):
        [gap] = read.gaps(stage)
        assert (gap.what, gap.reason) == ("apigateway:GET", "AccessDenied")
    rule = "apigw-account-logging-role-missing"
    assert outcomes(read.snapshot, rule) == {(Outcome.UNKNOWN, "Prod"), (Outcome.UNKNOWN, "Beta")}


def test_deleted_stage_is_a_gap_and_the_rules_answer_unknown() -> None:
    api, _ = rest_api("prod")
    client("apigateway").delete_stage(restApiId=api, stageName="prod")
    template = {
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "orders"}},
            "Prod": logged_rest_stage(),
        }
    }
    read = built_live_read(template, {"Api": api, "Prod": "prod"}, collectors=COLLECTORS)
    [gap] = read.gaps("Prod")
    assert (gap.what, gap.reason) == ("apigateway:GET", "NotFound")
    # the template's access logs would pass: unseen live, they are UNKNOWN
    assert outcomes(read.snapshot, "apigw-stage-no-access-logs") == {(Outcome.UNKNOWN, "Prod")}


def test_stage_read_denied_is_a_gap_and_the_rules_answer_unknown() -> None:
    api, _ = rest_api("prod")
    clients = Clients(region=REGION, counter=CallCounter())
    refuse(clients, "apigateway", "GetStage", "AccessDeniedException")
    template = {
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "orders"}},
            "Prod": logged_rest_stage(),
        }
    }
    read = built_live_read(
        template, {"Api": api, "Prod": "prod"}, collectors=COLLECTORS, clients=clients
    )
    [gap] = read.gaps("Prod")
    assert (gap.what, gap.reason) == ("apigateway:GET", "AccessDenied")
    assert outcomes(read.snapshot, "apigw-stage-no-access-logs") == {(Outcome.UNKNOWN, "Prod")}

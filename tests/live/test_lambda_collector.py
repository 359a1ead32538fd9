"""Lambda collector: each function's configuration and async failure destinations, read live.

A change made outside CloudFormation (tracing turned off, runtime downgraded, a secret put in
an environment variable, an OnFailure destination removed or added) is found with source
"live" and drift evidence, and undoing it live makes the next read PASS; a function that
cannot be read is a gap, and the rules answer UNKNOWN instead of PASS.

moto's CloudFormation drops TracingConfig, DeadLetterConfig and AWS::Lambda::EventInvokeConfig,
and moto's UpdateFunctionConfiguration ignores TracingConfig: where a test needs a deployed
tracing mode it re-creates the function under the same name through the Lambda API, and
event invoke configs are put through the Lambda API (see each test's comments).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from faults import refuse
from live_world import LAMBDA_ROLE, REGION, client, deploy, live_snapshot, outcomes, verdicts
from moto import mock_aws
from stack_auditor.collect import lambda_
from stack_auditor.collect.clients import CallCounter, Clients
from stack_auditor.model import Outcome, StackSnapshot

COLLECTORS = (lambda_.COLLECTOR,)
CODE = "def handler(event, context):\n    return process(event)\n"
ROLE = LAMBDA_ROLE
ENVIRONMENT = {
    "QUEUE_URL": {"Ref": "Failed"},  # names a stack resource: kept
    "GREETING": "hello",  # read by no rule: its value is not kept
    "AUTH_TOKEN": {"Fn::GetAtt": ["Failed", "Arn"]},  # a secret-looking name, not a secret
}


def function(**properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.13",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": CODE},
            **properties,
        },
    }


def on_failure(target: dict[str, Any]) -> dict[str, Any]:
    return {"OnFailure": {"Destination": target}}


TEMPLATE = {
    "Resources": {
        "Role": ROLE,
        "Failed": {"Type": "AWS::SQS::Queue"},
        # invoked asynchronously by Topic; its failures go to Failed through OrdersFailures
        "Orders": function(
            TracingConfig={"Mode": "Active"}, Environment={"Variables": ENVIRONMENT}
        ),
        "OrdersFailures": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": "Orders"},
                "Qualifier": "$LATEST",
                "DestinationConfig": on_failure({"Fn::GetAtt": ["Failed", "Arn"]}),
            },
        },
        "Topic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "Subscription": [
                    {"Protocol": "lambda", "Endpoint": {"Fn::GetAtt": ["Orders", "Arn"]}}
                ]
            },
        },
        # only called synchronously: its event invoke configs are not read
        "Api": function(),
    }
}


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def physical(snapshot: StackSnapshot, logical_id: str) -> str:
    return str(snapshot.resources[logical_id].physical_id)


def deploy_faithfully() -> StackSnapshot:
    """Deploy TEMPLATE and make Orders what CloudFormation would have deployed: tracing
    Active, and OrdersFailures' OnFailure destination (moto's CloudFormation creates neither)."""
    deploy(TEMPLATE)
    snapshot = live_snapshot(collectors=()).snapshot
    name = physical(snapshot, "Orders")
    recreate(name, TracingConfig={"Mode": "Active"})
    put_on_failure(name, snapshot.resources["Failed"].attributes["Arn"])
    return snapshot


def recreate(name: str, **settings: Any) -> None:
    """Re-create the function under the same name with ``settings`` (moto's
    UpdateFunctionConfiguration ignores TracingConfig; this is the only way to set it)."""
    lam = client("lambda")
    found = lam.get_function_configuration(FunctionName=name)
    lam.delete_function(FunctionName=name)
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("index.py", CODE)
    lam.create_function(
        FunctionName=name,
        Runtime=found["Runtime"],
        Handler=found["Handler"],
        Role=found["Role"],
        Code={"ZipFile": package.getvalue()},
        Environment=found.get("Environment") or {},
        **settings,
    )


def put_on_failure(name: str, target: str | None) -> None:
    """Replace the function's event invoke config (moto's Put appends rather than replaces,
    so the old one is deleted first)."""
    lam = client("lambda")
    if lam.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]:
        lam.delete_function_event_invoke_config(FunctionName=name)
    config = {"OnFailure": {"Destination": target}} if target else {}
    lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=2, DestinationConfig=config
    )


def only(snapshot: StackSnapshot, rule_id: str, logical_id: str) -> Any:
    (verdict,) = [v for v in verdicts(snapshot, rule_id) if v.logical_id == logical_id]
    return verdict


def test_one_read_per_function_and_invoke_configs_only_where_invoked_asynchronously() -> None:
    deployed = deploy_faithfully()
    read = live_snapshot(collectors=COLLECTORS)
    assert read.counter.calls == {
        "lambda:GetFunctionConfiguration": 2,
        "lambda:ListFunctionEventInvokeConfigs": 1,  # Orders only: Api is not invoked async
    }
    assert read.gaps() == []
    orders = read.live("Orders")
    assert orders is not None
    assert (orders["Runtime"], orders["TracingConfig"]["Mode"]) == ("python3.13", "Active")
    assert orders["DeadLetterConfig"] is None  # read, and unset
    assert orders["Environment"]["Variables"] == {
        "QUEUE_URL": physical(deployed, "Failed"),
        "GREETING": None,
        "AUTH_TOKEN": deployed.resources["Failed"].attributes["Arn"],
    }
    [config] = orders["EventInvokeConfigs"]
    assert (
        config["DestinationConfig"]["OnFailure"]["Destination"]
        == (deployed.resources["Failed"].attributes["Arn"])
    )
    api = read.live("Api")
    assert api is not None and "EventInvokeConfigs" not in api
    for rule_id in (
        "lambda-tracing-disabled",
        "lambda-runtime-deprecated",
        "lambda-env-plaintext-secret",
        "lambda-async-no-dlq",
    ):
        assert only(read.snapshot, rule_id, "Orders").outcome is Outcome.PASS, rule_id
        assert only(read.snapshot, rule_id, "Orders").evidence["source"] == "live", rule_id


def test_tracing_turned_off_live_is_found_and_turning_it_back_on_resolves() -> None:
    deployed = deploy_faithfully()
    name = physical(deployed, "Orders")
    recreate(name, TracingConfig={"Mode": "PassThrough"})
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, "lambda-tracing-disabled") == {
        (Outcome.FAIL, "Orders"),
        (Outcome.FAIL, "Api"),
    }
    verdict = only(snapshot, "lambda-tracing-disabled", "Orders")
    assert verdict.evidence == {"source": "live", "mode": "PassThrough", "template_mode": "Active"}
    assert "deployed; the template says 'Active'" in verdict.message

    recreate(name, TracingConfig={"Mode": "Active"})
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, "lambda-tracing-disabled") == {
        (Outcome.PASS, "Orders"),
        (Outcome.FAIL, "Api"),
    }


def test_runtime_downgraded_live_is_found_and_reverting_it_resolves() -> None:
    deployed = deploy_faithfully()
    name = physical(deployed, "Orders")
    client("lambda").update_function_configuration(FunctionName=name, Runtime="python3.8")
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, "lambda-runtime-deprecated") == {
        (Outcome.FAIL, "Orders"),
        (Outcome.PASS, "Api"),
    }
    verdict = only(snapshot, "lambda-runtime-deprecated", "Orders")
    assert (verdict.evidence["source"], verdict.evidence["runtime"]) == ("live", "python3.8")
    assert verdict.evidence["template"] == "python3.13"
    assert "the template says python3.13" in verdict.message

    client("lambda").update_function_configuration(FunctionName=name, Runtime="python3.13")
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, "lambda-runtime-deprecated") == {
        (Outcome.PASS, "Orders"),
        (Outcome.PASS, "Api"),
    }


SECRET = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"


def test_secret_put_in_the_environment_live_is_found_without_showing_it() -> None:
    deployed = deploy_faithfully()
    name = physical(deployed, "Orders")
    written = dict(
        client("lambda").get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    )
    # a variable added by hand, and AUTH_TOKEN (an ARN in the template) overwritten by hand
    changed = {**written, "STRIPE_API_KEY": SECRET, "AUTH_TOKEN": SECRET}
    client("lambda").update_function_configuration(
        FunctionName=name, Environment={"Variables": changed}
    )
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    found = [
        v for v in verdicts(snapshot, "lambda-env-plaintext-secret") if v.logical_id == "Orders"
    ]
    assert {(v.outcome, v.path, v.evidence["difference"]) for v in found} == {
        (Outcome.FAIL, "Properties.Environment.Variables.AUTH_TOKEN", "changed"),
        (Outcome.FAIL, "Properties.Environment.Variables.STRIPE_API_KEY", "added"),
    }
    for verdict in found:
        assert (verdict.evidence["source"], verdict.evidence["drift"]) == ("live", True)
        assert "drift" in verdict.message
        assert SECRET not in f"{verdict.message} {verdict.path} {verdict.evidence}"

    client("lambda").update_function_configuration(
        FunctionName=name, Environment={"Variables": written}
    )
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, "lambda-env-plaintext-secret") == {
        (Outcome.PASS, "Orders"),
        (Outcome.NOT_APPLICABLE, "Api"),
    }


def test_on_failure_destination_removed_live_is_found_and_restoring_it_resolves() -> None:
    deployed = deploy_faithfully()
    name = physical(deployed, "Orders")
    failed_arn = deployed.resources["Failed"].attributes["Arn"]
    put_on_failure(name, None)  # the config stays, its OnFailure destination is gone
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, "lambda-async-no-dlq") == {
        (Outcome.FAIL, "Orders"),
        (Outcome.NOT_APPLICABLE, "Api"),
    }
    verdict = only(snapshot, "lambda-async-no-dlq", "Orders")
    assert verdict.evidence["source"] == "live"
    assert verdict.evidence["template"] == [
        {
            "referrer": "OrdersFailures",
            "path": "Properties.DestinationConfig.OnFailure.Destination",
            "target": failed_arn,
        }
    ]
    assert "removed outside CloudFormation (drift)" in verdict.message

    put_on_failure(name, failed_arn)
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    verdict = only(snapshot, "lambda-async-no-dlq", "Orders")
    assert verdict.outcome is Outcome.PASS
    assert verdict.evidence["source"] == "live" and "drift" not in verdict.message


def test_on_failure_destination_added_live_counts_and_is_reported_as_drift() -> None:
    template = {"Resources": {**TEMPLATE["Resources"]}}
    del template["Resources"]["OrdersFailures"]
    deploy(template)
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, "lambda-async-no-dlq") == {
        (Outcome.FAIL, "Orders"),
        (Outcome.NOT_APPLICABLE, "Api"),
    }
    assert only(snapshot, "lambda-async-no-dlq", "Orders").evidence["source"] == "live"

    name = physical(snapshot, "Orders")
    failed_arn = snapshot.resources["Failed"].attributes["Arn"]
    put_on_failure(name, failed_arn)  # added by hand, not in the template
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    verdict = only(snapshot, "lambda-async-no-dlq", "Orders")
    assert verdict.outcome is Outcome.PASS
    assert verdict.evidence["destinations"] == [
        {
            "referrer": "Orders",
            "path": "EventInvokeConfig(unqualified).DestinationConfig.OnFailure.Destination",
            "target": failed_arn,
        }
    ]
    assert "added outside CloudFormation (drift)" in verdict.message


def test_dead_letter_config_missing_live_is_drift() -> None:
    template = {"Resources": {**TEMPLATE["Resources"]}}
    del template["Resources"]["OrdersFailures"]
    template["Resources"]["Orders"] = function(
        DeadLetterConfig={"TargetArn": {"Fn::GetAtt": ["Failed", "Arn"]}}
    )
    deploy(template)
    # moto's Lambda has no DeadLetterConfig at all: the deployed function has none, the
    # state a dead-letter queue removed outside CloudFormation leaves
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    verdict = only(snapshot, "lambda-async-no-dlq", "Orders")
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence["source"] == "live"
    assert [d["path"] for d in verdict.evidence["template"]] == [
        "Properties.DeadLetterConfig.TargetArn"
    ]
    assert "the deployed function has no" in verdict.message


def test_deleted_function_is_a_gap_and_the_rules_answer_unknown() -> None:
    deployed = deploy_faithfully()
    client("lambda").delete_function(FunctionName=physical(deployed, "Orders"))
    read = live_snapshot(collectors=COLLECTORS)
    assert {(g.what, g.reason) for g in read.gaps("Orders")} == {
        ("lambda:GetFunctionConfiguration", "NotFound"),
        ("lambda:ListFunctionEventInvokeConfigs", "NotFound"),
    }
    assert read.gaps("Api") == []
    # each would PASS on the template alone
    for rule_id in (
        "lambda-tracing-disabled",
        "lambda-runtime-deprecated",
        "lambda-env-plaintext-secret",
        "lambda-async-no-dlq",
    ):
        assert only(read.snapshot, rule_id, "Orders").outcome is Outcome.UNKNOWN, rule_id


def test_access_denied_is_a_gap_and_the_rules_answer_unknown() -> None:
    deploy_faithfully()
    clients = Clients(region=REGION, counter=CallCounter())
    refuse(clients, "lambda", "GetFunctionConfiguration", "AccessDeniedException")
    read = live_snapshot(collectors=COLLECTORS, clients=clients)
    assert {(g.scope, g.what, g.reason) for g in read.gaps()} == {
        ("Orders", "lambda:GetFunctionConfiguration", "AccessDenied"),
        ("Api", "lambda:GetFunctionConfiguration", "AccessDenied"),
    }
    assert outcomes(read.snapshot, "lambda-runtime-deprecated") == {
        (Outcome.UNKNOWN, "Orders"),
        (Outcome.UNKNOWN, "Api"),
    }
    assert only(read.snapshot, "lambda-tracing-disabled", "Orders").outcome is Outcome.UNKNOWN

"""CloudWatch collector: the stack's alarms in batches of 100, and the alarms on each function's
Errors where the stack's own alarms do not answer.

moto's CloudFormation does not create ``AWS::CloudWatch::Alarm`` resources (it warns and
skips them, so ListStackResources has no physical id for them). The tests therefore create
each of the stack's alarms through the CloudWatch API from its resolved properties, as
CloudFormation would, and give the snapshot the physical id (the alarm name) that
ListStackResources reports on AWS. moto has no PutCompositeAlarm, so composite alarms are not
exercised here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest
from botocore.exceptions import ClientError
from live_world import ACCOUNT, LAMBDA_ROLE, REGION, LiveRead, client, deploy, outcomes, verdicts
from moto import mock_aws
from stack_auditor.collect import cloudwatch
from stack_auditor.collect.clients import CallCounter, Clients
from stack_auditor.collect.cloudformation import snapshot_from_stack
from stack_auditor.collect.runner import collect_live
from stack_auditor.model import Outcome, StackRef, StackSnapshot, thaw
from stack_auditor.rule import Rule
from stack_auditor.rules import CATALOG

ALARM = "AWS::CloudWatch::Alarm"
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudWatch..Alarm")
ROLE = LAMBDA_ROLE


def function(name: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
        },
    }


def alarm(name: str, namespace: str, metric: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": ALARM,
        "Properties": {
            "AlarmName": name,
            "Namespace": namespace,
            "MetricName": metric,
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            **properties,
        },
    }


TEMPLATE = {
    "Resources": {
        "Role": ROLE,
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts"}},
        "Orders": function("orders"),
        "Audit": function("audit"),  # no alarm of the stack watches it
        "OrdersErrors": alarm(
            "orders-errors",
            "AWS/Lambda",
            "Errors",
            Dimensions=[{"Name": "FunctionName", "Value": {"Ref": "Orders"}}],
            AlarmActions=[{"Ref": "Topic"}],
        ),
    }
}


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def deploy_with_alarms(template: dict[str, Any]) -> None:
    """Deploy, then create the alarms moto's CloudFormation skips, from their resolved
    properties (the names of PutMetricAlarm's parameters)."""
    deploy(template)
    alarms = client("cloudwatch")
    for resource in stack_snapshot().of_type(ALARM):
        alarms.put_metric_alarm(**thaw(resource.properties))


def stack_snapshot() -> StackSnapshot:
    snapshot = snapshot_from_stack(
        client("cloudformation"), StackRef("live-test", account=ACCOUNT, region=REGION)
    )
    resources = dict(snapshot.resources)
    for logical_id, resource in resources.items():
        if resource.type == ALARM:  # ListStackResources gives the alarm name on AWS
            resources[logical_id] = replace(resource, physical_id=resource.prop("AlarmName"))
    return replace(snapshot, resources=MappingProxyType(resources))


def read(*, clients: Clients | None = None, rules: Sequence[Rule] = CATALOG) -> LiveRead:
    counter = CallCounter()
    clients = clients or Clients(region=REGION, counter=counter)
    snapshot = collect_live(stack_snapshot(), clients, rules, collectors=(cloudwatch.COLLECTOR,))
    return LiveRead(snapshot, clients.counter or counter)


def refused(clients: Clients, operation: str) -> None:
    """Make ``operation`` fail with AccessDenied on the real client the collectors use."""

    def refuse(**_: Any) -> None:
        error = {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}
        raise ClientError(error, operation)  # type: ignore[arg-type]

    clients("cloudwatch").meta.events.register(f"before-call.cloudwatch.{operation}", refuse)


def put_alarm(name: str, function_name: str, actions: Sequence[str] = ()) -> None:
    """An alarm on the function's Errors made outside the stack (console, another stack)."""
    client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": function_name}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=list(actions),
    )


def test_one_describe_alarms_call_per_100_alarms() -> None:
    resources = {f"Load{i:03d}": alarm(f"load-{i:03d}", "Custom/Load", "Depth") for i in range(150)}
    deploy_with_alarms({"Resources": resources})
    found = read()
    assert found.counter.calls == {"cloudwatch:DescribeAlarms": 2}
    assert {found.live(lid)["AlarmName"] for lid in resources} == {  # type: ignore[index]
        f"load-{i:03d}" for i in range(150)
    }
    assert found.gaps() == []


def test_a_function_an_existing_stack_alarm_watches_costs_no_call() -> None:
    deploy_with_alarms(TEMPLATE)
    found = read()
    # DescribeAlarms proves orders-errors exists; only Audit is asked about
    assert found.counter.calls == {
        "cloudwatch:DescribeAlarms": 1,
        "cloudwatch:DescribeAlarmsForMetric": 1,
    }
    # moto ignores the Dimensions filter and lists orders-errors for audit too: not credited
    assert found.live("Audit") == {"ErrorAlarms": ()}
    assert found.live("Orders") is None
    assert outcomes(found.snapshot, "lambda-no-error-alarm") == {
        (Outcome.PASS, "Orders"),
        (Outcome.FAIL, "Audit"),
    }
    assert outcomes(found.snapshot, "alarm-without-actions") == {(Outcome.PASS, "OrdersErrors")}


def test_the_cloudwatch_collector_runs_for_lambda_no_error_alarm_alone() -> None:
    deploy_with_alarms(TEMPLATE)
    rules = tuple(r for r in CATALOG if r.meta.id == "lambda-no-error-alarm")
    assert read(rules=rules).counter.total == 2


def test_an_alarm_outside_the_stack_on_the_functions_errors_passes() -> None:
    deploy_with_alarms(TEMPLATE)
    put_alarm("audit-errors-by-hand", "audit")
    snapshot = read().snapshot
    assert outcomes(snapshot, "lambda-no-error-alarm") == {
        (Outcome.PASS, "Orders"),
        (Outcome.PASS, "Audit"),
    }
    [audit] = [v for v in verdicts(snapshot, "lambda-no-error-alarm") if v.logical_id == "Audit"]
    assert dict(audit.evidence) == {"source": "live", "alarms": ["audit-errors-by-hand"]}


def test_a_stack_error_alarm_deleted_by_hand_fails_until_an_alarm_watches_again() -> None:
    deploy_with_alarms(TEMPLATE)
    client("cloudwatch").delete_alarms(AlarmNames=["orders-errors"])
    found = read()
    [gap] = found.gaps("OrdersErrors")
    assert (gap.what, gap.reason) == ("cloudwatch:DescribeAlarms", "NotFound")
    # the deleted alarm sends Orders to DescribeAlarmsForMetric as well
    assert found.counter.calls == {
        "cloudwatch:DescribeAlarms": 1,
        "cloudwatch:DescribeAlarmsForMetric": 2,
    }
    assert outcomes(found.snapshot, "lambda-no-error-alarm") == {
        (Outcome.FAIL, "Orders"),
        (Outcome.FAIL, "Audit"),
    }
    [orders] = [
        v for v in verdicts(found.snapshot, "lambda-no-error-alarm") if v.logical_id == "Orders"
    ]
    assert dict(orders.evidence) == {"source": "live", "alarms": [], "deleted": ["OrdersErrors"]}
    assert outcomes(found.snapshot, "alarm-without-actions") == {(Outcome.UNKNOWN, "OrdersErrors")}

    put_alarm("orders-errors-by-hand", "orders")
    snapshot = read().snapshot
    assert (Outcome.PASS, "Orders") in outcomes(snapshot, "lambda-no-error-alarm")


def test_actions_removed_live_are_found_with_drift_and_their_fix_resolves() -> None:
    deploy_with_alarms(TEMPLATE)
    topic = client("sns").create_topic(Name="alerts")["TopicArn"]  # the stack's topic
    put_alarm("orders-errors", "orders", actions=())  # actions emptied in the console
    [verdict] = verdicts(read().snapshot, "alarm-without-actions")
    assert (verdict.outcome, verdict.logical_id) == (Outcome.FAIL, "OrdersErrors")
    assert dict(verdict.evidence) == {"source": "live", "actions": [], "template_actions": [topic]}
    assert "(live)" in verdict.message and "drift" in verdict.message

    put_alarm("orders-errors", "orders", actions=(topic,))
    assert outcomes(read().snapshot, "alarm-without-actions") == {(Outcome.PASS, "OrdersErrors")}


def test_actions_disabled_live_are_found_with_drift_and_their_fix_resolves() -> None:
    deploy_with_alarms(TEMPLATE)
    client("cloudwatch").disable_alarm_actions(AlarmNames=["orders-errors"])
    [verdict] = verdicts(read().snapshot, "alarm-without-actions")
    assert (verdict.outcome, verdict.logical_id) == (Outcome.FAIL, "OrdersErrors")
    assert verdict.evidence["template_actions_enabled"] is True
    assert verdict.path == "Properties.ActionsEnabled" and "drift" in verdict.message

    client("cloudwatch").enable_alarm_actions(AlarmNames=["orders-errors"])
    assert outcomes(read().snapshot, "alarm-without-actions") == {(Outcome.PASS, "OrdersErrors")}


def test_describe_alarms_denied_is_a_gap_and_the_rules_answer_unknown() -> None:
    deploy_with_alarms(TEMPLATE)
    clients = Clients(region=REGION, counter=CallCounter())
    refused(clients, "DescribeAlarms")
    found = read(clients=clients)
    assert {(g.scope, g.what, g.reason) for g in found.gaps()} == {
        ("OrdersErrors", "cloudwatch:DescribeAlarms", "AccessDenied")
    }
    assert outcomes(found.snapshot, "alarm-without-actions") == {(Outcome.UNKNOWN, "OrdersErrors")}
    # whether Orders' alarm still exists is unknown; Audit was asked about directly
    assert outcomes(found.snapshot, "lambda-no-error-alarm") == {
        (Outcome.UNKNOWN, "Orders"),
        (Outcome.FAIL, "Audit"),
    }


def test_describe_alarms_for_metric_denied_is_a_gap_on_the_function() -> None:
    deploy_with_alarms(TEMPLATE)
    clients = Clients(region=REGION, counter=CallCounter())
    refused(clients, "DescribeAlarmsForMetric")
    found = read(clients=clients)
    assert {(g.scope, g.what, g.reason) for g in found.gaps()} == {
        ("Audit", "cloudwatch:DescribeAlarmsForMetric", "AccessDenied")
    }
    assert outcomes(found.snapshot, "lambda-no-error-alarm") == {
        (Outcome.PASS, "Orders"),
        (Outcome.UNKNOWN, "Audit"),
    }


def test_describe_alarms_for_metric_denied_after_a_deleted_alarm_stays_on_the_function() -> None:
    deploy_with_alarms(TEMPLATE)
    client("cloudwatch").delete_alarms(AlarmNames=["orders-errors"])
    clients = Clients(region=REGION, counter=CallCounter())
    refused(clients, "DescribeAlarmsForMetric")
    found = read(clients=clients)
    assert {(g.scope, g.what, g.reason) for g in found.gaps()} == {
        ("OrdersErrors", "cloudwatch:DescribeAlarms", "NotFound"),
        ("Orders", "cloudwatch:DescribeAlarmsForMetric", "AccessDenied"),
        ("Audit", "cloudwatch:DescribeAlarmsForMetric", "AccessDenied"),
    }
    assert outcomes(found.snapshot, "lambda-no-error-alarm") == {
        (Outcome.UNKNOWN, "Orders"),
        (Outcome.UNKNOWN, "Audit"),
    }

"""DynamoDB collector: calls per table, the batched auto scaling read, live changes, gaps.

moto's CloudFormation drops three things this stack declares, so the tests set them through
the service APIs after ``deploy`` (and say so where they do): PointInTimeRecoverySpecification
(set with UpdateContinuousBackups), SSESpecification (moto reads ``Enabled``, not
``SSEEnabled``, so the deployed table is on the AWS owned key) and
AWS::ApplicationAutoScaling::ScalableTarget (registered with RegisterScalableTarget).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from faults import refuse
from live_world import REGION, LiveRead, client, deploy, live_snapshot, outcomes, verdicts
from moto import mock_aws
from stack_auditor.collect import dynamodb
from stack_auditor.collect.clients import CallCounter, Clients
from stack_auditor.model import Outcome

PITR = "dynamodb-pitr-disabled"
SSE = "dynamodb-not-cmk-encrypted"
SCALING = "dynamodb-provisioned-without-autoscaling"
READ_DIMENSION = "dynamodb:table:ReadCapacityUnits"
WRITE_DIMENSION = "dynamodb:table:WriteCapacityUnits"


def table(name: str, billing: str = "PROVISIONED") -> dict[str, Any]:
    properties: dict[str, Any] = {
        "TableName": name,
        "BillingMode": billing,
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }
    if billing == "PROVISIONED":
        properties["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    return {"Type": "AWS::DynamoDB::Table", "Properties": properties}


def scalable_target(table_id: str) -> dict[str, Any]:
    return {
        "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
        "Properties": {
            "ServiceNamespace": "dynamodb",
            "ResourceId": {"Fn::Sub": f"table/${{{table_id}}}"},
            "ScalableDimension": READ_DIMENSION,
            "MinCapacity": 1,
            "MaxCapacity": 10,
        },
    }


TEMPLATE = {
    "Resources": {
        "Orders": table("orders"),
        "OrdersReadScaling": scalable_target("Orders"),
        "Events": table("events", "PAY_PER_REQUEST"),
    }
}


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def set_pitr(name: str, enabled: bool) -> None:
    client("dynamodb").update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": enabled}
    )


def register(name: str, dimension: str = READ_DIMENSION, autoscaling: Any = None) -> None:
    (autoscaling or client("application-autoscaling")).register_scalable_target(
        ServiceNamespace="dynamodb",
        ResourceId=f"table/{name}",
        ScalableDimension=dimension,
        MinCapacity=1,
        MaxCapacity=10,
    )


def deregister(name: str, dimension: str = READ_DIMENSION) -> None:
    client("application-autoscaling").deregister_scalable_target(
        ServiceNamespace="dynamodb", ResourceId=f"table/{name}", ScalableDimension=dimension
    )


def recreate_with_kms(name: str) -> None:
    # moto's UpdateTable ignores SSESpecification: the table is recreated under the same name
    # (the stack's physical id) with KMS encryption, which is what UpdateTable does for real
    ddb = client("dynamodb")
    ddb.delete_table(TableName=name)
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        SSESpecification={"Enabled": True, "SSEType": "KMS"},
    )


def deploy_as_declared() -> None:
    """The stack, with what moto's CloudFormation drops put in place through the APIs."""
    deploy(TEMPLATE)
    for name in ("orders", "events"):
        set_pitr(name, True)
    register("orders")


def read() -> LiveRead:
    return live_snapshot(collectors=(dynamodb.COLLECTOR,))


def test_two_calls_per_table_and_one_target_call_for_the_provisioned_ones() -> None:
    deploy_as_declared()
    result = read()
    assert result.counter.calls == {
        "dynamodb:DescribeTable": 2,
        "dynamodb:DescribeContinuousBackups": 2,
        "application-autoscaling:DescribeScalableTargets": 1,
    }
    orders, events = result.live("Orders"), result.live("Events")
    assert orders is not None and events is not None
    assert set(orders) == {
        "SSEDescription",
        "BillingModeSummary",
        "ContinuousBackupsDescription",
        "ScalableTargets",
    }
    assert [t["ScalableDimension"] for t in orders["ScalableTargets"]] == [READ_DIMENSION]
    # a PAY_PER_REQUEST table is not asked about auto scaling
    assert set(events) == {"SSEDescription", "BillingModeSummary", "ContinuousBackupsDescription"}
    assert result.gaps() == []
    snapshot = result.snapshot
    assert outcomes(snapshot, PITR) == {(Outcome.PASS, "Orders"), (Outcome.PASS, "Events")}
    assert outcomes(snapshot, SCALING) == {
        (Outcome.PASS, "Orders"),
        (Outcome.NOT_APPLICABLE, "Events"),
    }


def test_no_target_call_when_no_table_bills_provisioned() -> None:
    deploy({"Resources": {"Events": table("events", "PAY_PER_REQUEST")}})
    result = read()
    assert result.counter.calls == {
        "dynamodb:DescribeTable": 1,
        "dynamodb:DescribeContinuousBackups": 1,
    }


def test_pitr_turned_off_live_is_found_with_drift_and_its_fix_resolves() -> None:
    deploy_as_declared()
    set_pitr("orders", False)
    [verdict] = [v for v in verdicts(read().snapshot, PITR) if v.logical_id == "Orders"]
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence == {"source": "live", "value": False, "template": True}
    assert "deployed table (live)" in verdict.message and "drift" in verdict.message

    set_pitr("orders", True)
    assert (Outcome.PASS, "Orders") in outcomes(read().snapshot, PITR)


def test_encryption_on_the_aws_owned_key_live_is_found_with_drift_and_its_fix_resolves() -> None:
    # the template enables SSE with KMS; the deployed table is on the AWS owned key (moto's
    # CloudFormation drops SSESpecification: the state of SSE switched off outside the stack)
    deploy_as_declared()
    [verdict] = [v for v in verdicts(read().snapshot, SSE) if v.logical_id == "Orders"]
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence == {"source": "live", "value": False, "template": True}
    assert "deployed table (live)" in verdict.message and "drift" in verdict.message

    recreate_with_kms("orders")
    result = read()
    live = result.live("Orders")
    assert live is not None and live["SSEDescription"]["SSEType"] == "KMS"
    assert (Outcome.PASS, "Orders") in outcomes(result.snapshot, SSE)


def test_target_deregistered_live_is_found_with_drift_and_its_fix_resolves() -> None:
    deploy_as_declared()
    deregister("orders")
    [verdict] = [v for v in verdicts(read().snapshot, SCALING) if v.logical_id == "Orders"]
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence["source"] == "live"
    assert verdict.evidence["autoscaling"] == {
        "source": "live",
        "value": [],
        "template": ["OrdersReadScaling"],
    }
    assert "deregistered outside CloudFormation (drift)" in verdict.message

    register("orders", WRITE_DIMENSION)
    assert (Outcome.PASS, "Orders") in outcomes(read().snapshot, SCALING)


def test_a_table_switched_to_provisioned_live_is_asked_about_and_found() -> None:
    deploy_as_declared()
    client("dynamodb").update_table(
        TableName="events",
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    result = read()
    assert result.counter.calls["application-autoscaling:DescribeScalableTargets"] == 1
    live = result.live("Events")
    assert live is not None and live["ScalableTargets"] == ()
    [verdict] = [v for v in verdicts(result.snapshot, SCALING) if v.logical_id == "Events"]
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence["value"] == "PROVISIONED"
    assert verdict.evidence["template"] == "PAY_PER_REQUEST"

    register("events")
    assert (Outcome.PASS, "Events") in outcomes(read().snapshot, SCALING)


def test_a_table_switched_to_on_demand_live_is_not_asked_about_scaling() -> None:
    deploy_as_declared()
    client("dynamodb").update_table(TableName="orders", BillingMode="PAY_PER_REQUEST")
    result = read()
    assert "application-autoscaling:DescribeScalableTargets" not in result.counter.calls
    assert outcomes(result.snapshot, SCALING) == {
        (Outcome.NOT_APPLICABLE, "Orders"),
        (Outcome.NOT_APPLICABLE, "Events"),
    }


def test_targets_are_read_50_tables_per_call_and_paginated() -> None:
    # 51 provisioned tables with two targets each: the first 50 ids give 100 targets (two
    # pages of 50), the 51st a call of its own
    names = [f"t{i:02d}" for i in range(51)]
    deploy({"Resources": {f"T{i:02d}": table(name) for i, name in enumerate(names)}})
    autoscaling = client("application-autoscaling")  # one client: creating one is slow
    for name in names:
        register(name, READ_DIMENSION, autoscaling)
        register(name, WRITE_DIMENSION, autoscaling)
    result = read()
    assert result.counter.calls["application-autoscaling:DescribeScalableTargets"] == 3
    assert result.counter.calls["dynamodb:DescribeTable"] == 51
    for i in range(51):
        live = result.live(f"T{i:02d}")
        assert live is not None
        assert sorted(t["ScalableDimension"] for t in live["ScalableTargets"]) == [
            READ_DIMENSION,
            WRITE_DIMENSION,
        ]
    assert outcomes(result.snapshot, SCALING) == {(Outcome.PASS, f"T{i:02d}") for i in range(51)}


def test_deleted_table_is_a_not_found_gap_and_every_rule_answers_unknown() -> None:
    deploy_as_declared()
    client("dynamodb").delete_table(TableName="orders")
    result = read()
    assert {(g.what, g.reason) for g in result.gaps("Orders")} == {
        ("dynamodb:DescribeTable", "NotFound"),
        ("dynamodb:DescribeContinuousBackups", "NotFound"),
    }
    # the table's failed DescribeTable is not repeated by the auto scaling read, which then
    # has no provisioned table left to ask about
    assert result.counter.calls == {
        "dynamodb:DescribeTable": 2,
        "dynamodb:DescribeContinuousBackups": 2,
    }
    for rule_id in (PITR, SSE, SCALING):
        assert (Outcome.UNKNOWN, "Orders") in outcomes(result.snapshot, rule_id), rule_id


def refusing(operation: str, service: str = "dynamodb") -> LiveRead:
    clients = Clients(region=REGION, counter=CallCounter())
    refuse(clients, service, operation, "AccessDeniedException")
    return live_snapshot(collectors=(dynamodb.COLLECTOR,), clients=clients)


def test_targets_access_denied_is_a_gap_and_only_the_scaling_rule_answers_unknown() -> None:
    deploy_as_declared()
    recreate_with_kms("orders")
    set_pitr("orders", True)
    result = refusing("DescribeScalableTargets", "application-autoscaling")
    assert [(g.what, g.reason) for g in result.gaps()] == [
        ("application-autoscaling:DescribeScalableTargets", "AccessDenied")
    ]
    assert [g.scope for g in result.gaps()] == ["Orders"]
    snapshot = result.snapshot
    # the template declares a target, but what is registered could not be seen
    assert (Outcome.UNKNOWN, "Orders") in outcomes(snapshot, SCALING)
    assert (Outcome.PASS, "Orders") in outcomes(snapshot, PITR)
    assert (Outcome.PASS, "Orders") in outcomes(snapshot, SSE)


def test_backups_access_denied_is_a_gap_and_no_dynamodb_rule_passes() -> None:
    deploy_as_declared()
    recreate_with_kms("orders")
    result = refusing("DescribeContinuousBackups")
    assert {(g.scope, g.what, g.reason) for g in result.gaps()} == {
        ("Orders", "dynamodb:DescribeContinuousBackups", "AccessDenied"),
        ("Events", "dynamodb:DescribeContinuousBackups", "AccessDenied"),
    }
    snapshot = result.snapshot
    assert outcomes(snapshot, PITR) == {(Outcome.UNKNOWN, "Orders"), (Outcome.UNKNOWN, "Events")}
    # SSE was read and is KMS, but a dynamodb read of the table failed: not claimed as PASS
    assert (Outcome.UNKNOWN, "Orders") in outcomes(snapshot, SSE)

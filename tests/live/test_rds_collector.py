"""RDS collector: instances and clusters described in batches of 100 identifiers; a live-only
change is found and its fix resolves; a missing or unreadable database is a gap -> UNKNOWN."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from built_stack import built_live_read
from faults import refuse
from live_world import REGION, client, deploy, live_snapshot, outcomes, verdicts
from moto import mock_aws
from stack_auditor.collect import rds
from stack_auditor.collect.clients import CallCounter, Clients
from stack_auditor.model import Outcome

COLLECTORS = (rds.COLLECTOR,)


def instance(identifier: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::RDS::DBInstance",
        "Properties": {
            "DBInstanceIdentifier": identifier,
            "DBInstanceClass": "db.t3.micro",
            "Engine": "postgres",
            "AllocatedStorage": "20",
            "MasterUsername": "admin_user",
            "MasterUserPassword": "not-a-secret-1",
            "StorageEncrypted": True,
            "PubliclyAccessible": False,
            **properties,
        },
    }


TEMPLATE = {"Resources": {"Orders": instance("orders"), "Billing": instance("billing")}}


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def test_instances_are_described_in_one_filtered_call() -> None:
    deploy(TEMPLATE)
    read = live_snapshot(collectors=COLLECTORS)
    assert read.counter.calls == {"rds:DescribeDBInstances": 1}
    assert read.gaps() == []
    assert read.live("Orders") == {"StorageEncrypted": True, "PubliclyAccessible": False}
    assert read.live("Billing") == {"StorageEncrypted": True, "PubliclyAccessible": False}


def test_150_instances_take_two_calls() -> None:
    rds_api = client("rds")
    resources = {}
    for n in range(150):
        name = f"db{n:03}"
        resources[f"Db{n:03}"] = instance(name)
        # created through the API and read the same way: a smaller, quicker setup than a stack
        rds_api.create_db_instance(
            DBInstanceIdentifier=name,
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            AllocatedStorage=20,
            MasterUsername="admin_user",
            MasterUserPassword="not-a-secret-1",
            StorageEncrypted=True,
        )
    ids = {logical: f"db{logical[2:]}" for logical in resources}
    read = built_live_read({"Resources": resources}, ids, collectors=COLLECTORS)
    assert read.counter.calls == {"rds:DescribeDBInstances": 2}
    assert read.gaps() == []
    assert {lid for lid in resources if (read.live(lid) or {}).get("StorageEncrypted")} == set(
        resources
    )


def test_made_public_live_is_found_with_drift_and_its_fix_resolves() -> None:
    deploy(TEMPLATE)
    client("rds").modify_db_instance(DBInstanceIdentifier="orders", PubliclyAccessible=True)
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, "rds-publicly-accessible") == {
        (Outcome.FAIL, "Orders"),
        (Outcome.PASS, "Billing"),
    }
    [failed] = [
        v for v in verdicts(snapshot, "rds-publicly-accessible") if v.logical_id == "Orders"
    ]
    assert dict(failed.evidence) == {
        "source": "live",
        "value": True,
        "template_value": False,
        "drift": True,
    }

    client("rds").modify_db_instance(DBInstanceIdentifier="orders", PubliclyAccessible=False)
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, "rds-publicly-accessible") == {
        (Outcome.PASS, "Orders"),
        (Outcome.PASS, "Billing"),
    }


def test_clusters_are_described_in_one_filtered_call_and_judged_live() -> None:
    # moto's CloudFormation creates no DB cluster: created through the API, unencrypted
    # although the template asks for encryption (a deployment the template does not show)
    for name, encrypted in (("ledger", False), ("audit", True)):
        client("rds").create_db_cluster(
            DBClusterIdentifier=name,
            Engine="aurora-postgresql",
            MasterUsername="admin_user",
            MasterUserPassword="not-a-secret-1",
            StorageEncrypted=encrypted,
        )
    cluster = {
        "Type": "AWS::RDS::DBCluster",
        "Properties": {"Engine": "aurora-postgresql", "StorageEncrypted": True},
    }
    template = {"Resources": {"Ledger": cluster, "Audit": cluster}}
    read = built_live_read(template, {"Ledger": "ledger", "Audit": "audit"}, collectors=COLLECTORS)
    assert read.counter.calls == {"rds:DescribeDBClusters": 1}
    assert outcomes(read.snapshot, "rds-storage-unencrypted") == {
        (Outcome.FAIL, "Ledger"),
        (Outcome.PASS, "Audit"),
    }


def test_deleted_instance_is_a_gap_and_the_rules_answer_unknown() -> None:
    deploy(TEMPLATE)
    client("rds").delete_db_instance(DBInstanceIdentifier="orders", SkipFinalSnapshot=True)
    read = live_snapshot(collectors=COLLECTORS)
    assert read.counter.calls == {"rds:DescribeDBInstances": 1}
    [gap] = read.gaps("Orders")
    assert (gap.what, gap.reason) == ("rds:DescribeDBInstances", "NotFound")
    assert read.gaps("Billing") == []
    assert outcomes(read.snapshot, "rds-storage-unencrypted") == {
        (Outcome.UNKNOWN, "Orders"),
        (Outcome.PASS, "Billing"),
    }


def test_describe_denied_is_a_gap_on_every_instance_of_the_batch() -> None:
    deploy(TEMPLATE)
    clients = Clients(region=REGION, counter=CallCounter())
    refuse(clients, "rds", "DescribeDBInstances", "AccessDenied")
    read = live_snapshot(collectors=COLLECTORS, clients=clients)
    assert {(g.scope, g.what, g.reason) for g in read.gaps()} == {
        ("Orders", "rds:DescribeDBInstances", "AccessDenied"),
        ("Billing", "rds:DescribeDBInstances", "AccessDenied"),
    }
    assert outcomes(read.snapshot, "rds-publicly-accessible") == {
        (Outcome.UNKNOWN, "Orders"),
        (Outcome.UNKNOWN, "Billing"),
    }

"""Logs collector: the stack's log groups and its functions' undeclared groups, read live.

Live-only problems the template cannot show are found (a retention removed by hand, the group
Lambda created on first invocation with no retention) and fixing them live resolves them at the
next read; a group that cannot be read is a gap, and the rules answer UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from live_world import LAMBDA_ROLE, REGION, client, deploy, live_snapshot, outcomes, verdicts
from moto import mock_aws
from stack_auditor.collect import logs
from stack_auditor.collect.clients import CallCounter, Clients
from stack_auditor.model import Outcome
from stack_auditor.rules import CATALOG

ROLE = LAMBDA_ROLE


def function(**properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
            **properties,
        },
    }


TEMPLATE = {
    "Resources": {
        "Role": ROLE,
        "Orders": function(FunctionName="orders"),
        "OrdersLogs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": "/aws/lambda/${Orders}"},
                "RetentionInDays": 30,
            },
        },
        "Audit": function(),  # its /aws/lambda/<name> group is not declared
        "SharedA": function(LoggingConfig={"LogGroup": "/app/shared"}),
        "SharedB": function(LoggingConfig={"LogGroup": "/app/shared"}),
    }
}

KEY = {
    "Type": "AWS::KMS::Key",
    "Properties": {
        "KeyPolicy": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}
            ],
        }
    },
}

ENCRYPTED = {
    "Resources": {
        "Key": KEY,
        "Vault": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": "/app/vault",
                "RetentionInDays": 7,
                "KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]},
            },
        },
    }
}


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def physical(read: Any, logical_id: str) -> str:
    return str(read.snapshot.resources[logical_id].physical_id)


def refused(clients: Clients, service: str, operation: str) -> None:
    """Make ``operation`` fail with AccessDenied on the real client the collectors use."""
    real = clients(service)

    def refuse(**_: Any) -> None:
        error = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}
        raise ClientError(error, operation)  # type: ignore[arg-type]

    service_id = real.meta.service_model.service_id.hyphenize()
    real.meta.events.register(f"before-call.{service_id}.{operation}", refuse)


def test_one_call_per_group_and_one_per_undeclared_function_group() -> None:
    deploy(TEMPLATE)
    read = live_snapshot(collectors=(logs.COLLECTOR,))
    # OrdersLogs (declared), Audit's group, /app/shared once for both of its writers
    assert read.counter.calls == {"logs:DescribeLogGroups": 3}
    live = read.live("OrdersLogs")
    assert live is not None
    assert (live["logGroupName"], live["retentionInDays"]) == ("/aws/lambda/orders", 30)
    audit_group = f"/aws/lambda/{physical(read, 'Audit')}"
    # moto's Lambda, like Lambda, creates no group before the first invocation
    assert dict(read.snapshot.extras["log_groups"]) == {audit_group: None, "/app/shared": None}
    assert read.gaps() == []


def test_the_logs_collector_runs_for_lambda_log_retention_unset_alone() -> None:
    deploy(TEMPLATE)
    rules = tuple(r for r in CATALOG if r.meta.id == "lambda-log-retention-unset")
    read = live_snapshot(collectors=(logs.COLLECTOR,), rules=rules)
    assert read.counter.calls == {"logs:DescribeLogGroups": 3}


def test_retention_removed_live_is_found_with_drift_and_its_fix_resolves() -> None:
    deploy(TEMPLATE)
    client("logs").delete_retention_policy(logGroupName="/aws/lambda/orders")
    snapshot = live_snapshot(collectors=(logs.COLLECTOR,)).snapshot
    [verdict] = verdicts(snapshot, "log-group-retention")
    assert (verdict.outcome, verdict.logical_id) == (Outcome.FAIL, "OrdersLogs")
    assert dict(verdict.evidence) == {"source": "live", "days": None, "template_days": 30}
    assert "deployed group (live)" in verdict.message and "drift" in verdict.message
    assert (Outcome.FAIL, "Orders") in outcomes(snapshot, "lambda-log-retention-unset")

    client("logs").put_retention_policy(logGroupName="/aws/lambda/orders", retentionInDays=30)
    snapshot = live_snapshot(collectors=(logs.COLLECTOR,)).snapshot
    assert outcomes(snapshot, "log-group-retention") == {(Outcome.PASS, "OrdersLogs")}
    assert (Outcome.PASS, "Orders") in outcomes(snapshot, "lambda-log-retention-unset")


def test_auto_created_function_group_without_retention_is_found_and_its_fix_resolves() -> None:
    deploy(TEMPLATE)
    read = live_snapshot(collectors=(logs.COLLECTOR,))
    group = f"/aws/lambda/{physical(read, 'Audit')}"
    # not invoked yet: the group does not exist, and will be created with no retention
    assert outcomes(read.snapshot, "lambda-log-retention-unset") == {
        (Outcome.PASS, "Orders"),
        (Outcome.FAIL, "Audit"),
        (Outcome.FAIL, "SharedA"),
        (Outcome.FAIL, "SharedB"),
    }

    # what Lambda does on the first invocation: CreateLogGroup, no retention
    client("logs").create_log_group(logGroupName=group)
    snapshot = live_snapshot(collectors=(logs.COLLECTOR,)).snapshot
    [audit] = [
        v for v in verdicts(snapshot, "lambda-log-retention-unset") if v.logical_id == "Audit"
    ]
    assert audit.outcome is Outcome.FAIL and "exists with no retention (live)" in audit.message
    assert audit.evidence["source"] == "live" and audit.evidence["exists"] is True

    client("logs").put_retention_policy(logGroupName=group, retentionInDays=14)
    client("logs").create_log_group(logGroupName="/app/shared")
    client("logs").put_retention_policy(logGroupName="/app/shared", retentionInDays=90)
    snapshot = live_snapshot(collectors=(logs.COLLECTOR,)).snapshot
    assert outcomes(snapshot, "lambda-log-retention-unset") == {
        (Outcome.PASS, "Orders"),
        (Outcome.PASS, "Audit"),
        (Outcome.PASS, "SharedA"),
        (Outcome.PASS, "SharedB"),
    }


def test_a_group_whose_name_only_starts_with_the_functions_is_not_its_group() -> None:
    deploy(TEMPLATE)
    audit = physical(live_snapshot(collectors=()), "Audit")
    client("logs").create_log_group(logGroupName=f"/aws/lambda/{audit}-old")
    client("logs").put_retention_policy(logGroupName=f"/aws/lambda/{audit}-old", retentionInDays=1)
    read = live_snapshot(collectors=(logs.COLLECTOR,))
    assert read.snapshot.extras["log_groups"][f"/aws/lambda/{audit}"] is None
    assert (Outcome.FAIL, "Audit") in outcomes(read.snapshot, "lambda-log-retention-unset")


def test_key_missing_on_the_deployed_group_is_found_and_its_fix_resolves() -> None:
    deploy(ENCRYPTED)
    # moto's CloudFormation drops the group's KmsKeyId: the deployed group has no key, which
    # is what disassociate-kms-key leaves behind
    read = live_snapshot(collectors=(logs.COLLECTOR,))
    [verdict] = verdicts(read.snapshot, "log-group-unencrypted")
    assert (verdict.outcome, verdict.logical_id) == (Outcome.FAIL, "Vault")
    assert verdict.evidence["source"] == "live" and verdict.evidence["value"] is None
    assert verdict.evidence["template"].startswith("arn:aws:kms:")
    assert "deployed group (live)" in verdict.message and "drift" in verdict.message

    # moto has no AssociateKmsKey: recreate the group with its key, as CloudFormation would
    key_arn = verdict.evidence["template"]
    client("logs").delete_log_group(logGroupName="/app/vault")
    client("logs").create_log_group(logGroupName="/app/vault", kmsKeyId=key_arn)
    client("logs").put_retention_policy(logGroupName="/app/vault", retentionInDays=7)
    snapshot = live_snapshot(collectors=(logs.COLLECTOR,)).snapshot
    assert outcomes(snapshot, "log-group-unencrypted") == {(Outcome.PASS, "Vault")}


def test_deleted_group_is_a_not_found_gap_and_the_rules_answer_unknown() -> None:
    deploy(TEMPLATE)
    client("logs").delete_log_group(logGroupName="/aws/lambda/orders")
    read = live_snapshot(collectors=(logs.COLLECTOR,))
    [gap] = read.gaps("OrdersLogs")
    assert (gap.what, gap.reason) == ("logs:DescribeLogGroups", "NotFound")
    assert outcomes(read.snapshot, "log-group-retention") == {(Outcome.UNKNOWN, "OrdersLogs")}
    assert outcomes(read.snapshot, "log-group-unencrypted") == {(Outcome.UNKNOWN, "OrdersLogs")}
    assert (Outcome.UNKNOWN, "Orders") in outcomes(read.snapshot, "lambda-log-retention-unset")


def test_access_denied_is_a_gap_on_every_group_and_function_read() -> None:
    deploy(TEMPLATE)
    clients = Clients(region=REGION, counter=CallCounter())
    refused(clients, "logs", "DescribeLogGroups")
    read = live_snapshot(collectors=(logs.COLLECTOR,), clients=clients)
    assert {(g.scope, g.what, g.reason) for g in read.gaps()} == {
        (scope, "logs:DescribeLogGroups", "AccessDenied")
        for scope in ("OrdersLogs", "Audit", "SharedA", "SharedB")
    }
    assert "log_groups" not in read.snapshot.extras
    assert outcomes(read.snapshot, "log-group-retention") == {(Outcome.UNKNOWN, "OrdersLogs")}
    assert outcomes(read.snapshot, "lambda-log-retention-unset") == {
        (Outcome.UNKNOWN, "Orders"),
        (Outcome.UNKNOWN, "Audit"),
        (Outcome.UNKNOWN, "SharedA"),
        (Outcome.UNKNOWN, "SharedB"),
    }

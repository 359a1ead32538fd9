"""KMS collector: metadata per key, rotation only where it exists, policy only where a service
uses the key; live changes and gaps.

moto's CloudFormation keeps an AWS::KMS::Key's KeyPolicy as an object where KMS keeps JSON
text, and its DescribeKey then fails on it; the tests put each key's policy through
PutKeyPolicy after ``deploy`` (the same document the template declares).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from faults import refuse
from live_world import ACCOUNT, REGION, LiveRead, client, deploy, live_snapshot, outcomes, verdicts
from moto import mock_aws
from stack_auditor.collect import kms
from stack_auditor.collect.clients import CallCounter, Clients
from stack_auditor.model import Outcome

ROTATION = "kms-key-rotation-disabled"
KEY_POLICY = "kms-key-policy-missing-service"

ROOT = {
    "Sid": "Root",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
LOGS = {
    "Sid": "Logs",
    "Effect": "Allow",
    "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
    "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
    "Resource": "*",
}


def key(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::KMS::Key",
        "Properties": {
            "EnableKeyRotation": True,
            "KeyPolicy": {"Version": "2012-10-17", "Statement": list(statements)},
        },
    }


TEMPLATE = {
    "Resources": {
        "LogsKey": key(ROOT, LOGS),
        "Logs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": "app",
                "RetentionInDays": 30,
                "KmsKeyId": {"Fn::GetAtt": ["LogsKey", "Arn"]},
            },
        },
        # used by nothing of the stack: no rule judges its policy
        "DataKey": key(ROOT),
    }
}


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def key_id(read: LiveRead, logical_id: str) -> str:
    physical = read.snapshot.resources[logical_id].physical_id
    assert physical is not None
    return physical


def put_policy(key_id: str, *statements: dict[str, Any]) -> None:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    client("kms").put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(document))


def deploy_as_declared() -> dict[str, str]:
    """The stack's key ids by logical id, with each key's policy put as JSON text."""
    deploy(TEMPLATE)
    stack = live_snapshot(collectors=())
    ids = {lid: key_id(stack, lid) for lid in ("LogsKey", "DataKey")}
    put_policy(ids["LogsKey"], ROOT, LOGS)
    put_policy(ids["DataKey"], ROOT)
    return ids


def read(clients: Clients | None = None) -> LiveRead:
    return live_snapshot(collectors=(kms.COLLECTOR,), clients=clients)


def test_metadata_and_rotation_per_key_and_the_policy_only_of_a_used_key() -> None:
    deploy_as_declared()
    result = read()
    assert result.counter.calls == {"kms:GetKeyRotationStatus": 2, "kms:GetKeyPolicy": 1}
    logs_key, data_key = result.live("LogsKey"), result.live("DataKey")
    assert logs_key is not None and data_key is not None
    assert set(logs_key) == {"KeyRotationEnabled", "KeyPolicy"}
    assert set(data_key) == {"KeyRotationEnabled"}
    assert logs_key["KeyPolicy"]["Statement"][1]["Sid"] == "Logs"  # parsed JSON
    assert result.gaps() == []
    snapshot = result.snapshot
    assert outcomes(snapshot, ROTATION) == {(Outcome.PASS, "LogsKey"), (Outcome.PASS, "DataKey")}
    [verdict] = [v for v in verdicts(snapshot, KEY_POLICY) if v.logical_id == "LogsKey"]
    # an X-side rule: it reads the deployed policy when there is one, and says so
    assert (verdict.outcome, verdict.evidence["source"]) == (Outcome.PASS, "live")


def test_rotation_disabled_live_is_found_with_drift_and_its_fix_resolves() -> None:
    ids = deploy_as_declared()
    client("kms").disable_key_rotation(KeyId=ids["DataKey"])
    [verdict] = [v for v in verdicts(read().snapshot, ROTATION) if v.logical_id == "DataKey"]
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence == {"source": "live", "value": False, "template": True}
    assert "deployed key (live)" in verdict.message and "drift" in verdict.message

    client("kms").enable_key_rotation(KeyId=ids["DataKey"])
    assert (Outcome.PASS, "DataKey") in outcomes(read().snapshot, ROTATION)


def test_service_statement_removed_from_the_deployed_policy_is_found() -> None:
    ids = deploy_as_declared()
    put_policy(ids["LogsKey"], ROOT)
    [verdict] = [v for v in verdicts(read().snapshot, KEY_POLICY) if v.logical_id == "LogsKey"]
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence["source"] == "live"
    assert verdict.evidence["failed"] == [
        {
            "user": "Logs",
            "principal": f"logs.{REGION}.amazonaws.com",
            "missing": ["kms:GenerateDataKey", "kms:Decrypt"],
        }
    ]

    put_policy(ids["LogsKey"], ROOT, LOGS)
    assert (Outcome.PASS, "LogsKey") in outcomes(read().snapshot, KEY_POLICY)


def test_an_asymmetric_key_is_not_asked_for_its_rotation() -> None:
    # KeySpec cannot change without replacing the key: the template says it cannot rotate
    deploy(
        {
            "Resources": {
                "SigningKey": {
                    **key(ROOT),
                    "Properties": {
                        **key(ROOT)["Properties"],
                        "KeySpec": "RSA_2048",
                        "KeyUsage": "SIGN_VERIFY",
                    },
                }
            }
        }
    )
    result = read()
    assert result.counter.calls == {}
    assert outcomes(result.snapshot, ROTATION) == {(Outcome.NOT_APPLICABLE, "SigningKey")}


def test_missing_key_is_a_not_found_gap_and_the_rule_answers_unknown() -> None:
    # a KMS key cannot be deleted at once (it waits 7-30 days, still readable): the
    # NotFoundException KMS answers after that is injected
    deploy_as_declared()
    clients = Clients(region=REGION, counter=CallCounter())
    refuse(clients, "kms", "GetKeyRotationStatus", "NotFoundException")
    result = read(clients)
    assert {(g.scope, g.what, g.reason) for g in result.gaps()} == {
        ("LogsKey", "kms:GetKeyRotationStatus", "NotFound"),
        ("DataKey", "kms:GetKeyRotationStatus", "NotFound"),
    }
    assert outcomes(result.snapshot, ROTATION) == {
        (Outcome.UNKNOWN, "LogsKey"),
        (Outcome.UNKNOWN, "DataKey"),
    }


def test_rotation_access_denied_keeps_the_metadata_and_the_rule_answers_unknown() -> None:
    deploy_as_declared()
    clients = Clients(region=REGION, counter=CallCounter())
    refuse(clients, "kms", "GetKeyRotationStatus", "AccessDeniedException")
    result = read(clients)
    assert {(g.scope, g.what, g.reason) for g in result.gaps()} == {
        ("LogsKey", "kms:GetKeyRotationStatus", "AccessDenied"),
        ("DataKey", "kms:GetKeyRotationStatus", "AccessDenied"),
    }
    assert result.live("DataKey") is None
    assert outcomes(result.snapshot, ROTATION) == {
        (Outcome.UNKNOWN, "LogsKey"),
        (Outcome.UNKNOWN, "DataKey"),
    }

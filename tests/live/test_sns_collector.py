"""SNS collector: one attributes call per topic (no subscription listing), live changes, gaps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from faults import refuse
from live_world import REGION, LiveRead, client, deploy, live_snapshot, outcomes, verdicts
from moto import mock_aws
from stack_auditor.collect import sns
from stack_auditor.collect.clients import CallCounter, Clients
from stack_auditor.model import Outcome

RULE = "sns-topic-unencrypted"
KEY = "alias/aws/sns"

TEMPLATE = {
    "Resources": {
        "Alerts": {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "TopicName": "alerts",
                "KmsMasterKeyId": KEY,
                # a subscription in the template: still no ListSubscriptionsByTopic call
                "Subscription": [
                    {"Protocol": "sqs", "Endpoint": {"Fn::GetAtt": ["AlertsQueue", "Arn"]}}
                ],
            },
        },
        "AlertsQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "alerts"}},
        "Audit": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": "audit", "KmsMasterKeyId": KEY},
        },
    }
}


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def arn(name: str) -> str:
    return f"arn:aws:sns:{REGION}:123456789012:{name}"


def set_key(name: str, key: str) -> None:
    client("sns").set_topic_attributes(
        TopicArn=arn(name), AttributeName="KmsMasterKeyId", AttributeValue=key
    )


def read(clients: Clients | None = None) -> LiveRead:
    return live_snapshot(collectors=(sns.COLLECTOR,), clients=clients)


def test_one_attributes_call_per_topic_and_no_subscription_listing() -> None:
    deploy(TEMPLATE)
    result = read()
    assert result.counter.calls == {"sns:GetTopicAttributes": 2}
    live = result.live("Alerts")
    assert live is not None and live["Attributes"]["KmsMasterKeyId"] == KEY
    assert set(live) == {"Attributes"}
    assert result.gaps() == []
    assert outcomes(result.snapshot, RULE) == {(Outcome.PASS, "Alerts"), (Outcome.PASS, "Audit")}


def test_key_removed_live_is_found_with_drift_and_its_fix_resolves() -> None:
    deploy(TEMPLATE)
    set_key("alerts", "")
    [verdict] = [v for v in verdicts(read().snapshot, RULE) if v.logical_id == "Alerts"]
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence == {"source": "live", "value": None, "template": KEY}
    assert "deployed topic (live)" in verdict.message and "drift" in verdict.message

    set_key("alerts", KEY)
    assert outcomes(read().snapshot, RULE) == {(Outcome.PASS, "Alerts"), (Outcome.PASS, "Audit")}


def test_deleted_topic_is_a_not_found_gap_and_the_rule_answers_unknown() -> None:
    deploy(TEMPLATE)
    client("sns").delete_topic(TopicArn=arn("alerts"))
    result = read()
    assert [(g.scope, g.what, g.reason) for g in result.gaps()] == [
        ("Alerts", "sns:GetTopicAttributes", "NotFound")
    ]
    assert outcomes(result.snapshot, RULE) == {(Outcome.UNKNOWN, "Alerts"), (Outcome.PASS, "Audit")}


def test_access_denied_is_a_gap_and_the_rule_answers_unknown() -> None:
    deploy(TEMPLATE)
    clients = Clients(region=REGION, counter=CallCounter())
    refuse(clients, "sns", "GetTopicAttributes", "AuthorizationError")
    result = read(clients)
    assert {(g.scope, g.what, g.reason) for g in result.gaps()} == {
        ("Alerts", "sns:GetTopicAttributes", "AccessDenied"),
        ("Audit", "sns:GetTopicAttributes", "AccessDenied"),
    }
    assert outcomes(result.snapshot, RULE) == {
        (Outcome.UNKNOWN, "Alerts"),
        (Outcome.UNKNOWN, "Audit"),
    }

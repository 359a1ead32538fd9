"""SQS collector: attributes read live; a live-only change is found and its fix resolves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from live_world import client, deploy, live_snapshot, outcomes
from moto import mock_aws
from stack_auditor.collect import sqs
from stack_auditor.model import Outcome

TEMPLATE = {
    "Resources": {
        "Orders": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "orders"}},
    }
}


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def test_reads_each_queue_once() -> None:
    deploy(TEMPLATE)
    read = live_snapshot(collectors=(sqs.COLLECTOR,))
    live = read.live("Orders")
    assert live is not None and live["Attributes"]["SqsManagedSseEnabled"] == "true"
    assert read.counter.calls == {"sqs:GetQueueAttributes": 1}
    assert read.gaps() == []


def test_encryption_turned_off_live_is_found_and_its_fix_resolves() -> None:
    deploy(TEMPLATE)
    url = client("sqs").get_queue_url(QueueName="orders")["QueueUrl"]
    client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"SqsManagedSseEnabled": "false"})
    snapshot = live_snapshot(collectors=(sqs.COLLECTOR,)).snapshot
    assert outcomes(snapshot, "sqs-queue-unencrypted") == {(Outcome.FAIL, "Orders")}

    client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"SqsManagedSseEnabled": "true"})
    snapshot = live_snapshot(collectors=(sqs.COLLECTOR,)).snapshot
    assert outcomes(snapshot, "sqs-queue-unencrypted") == {(Outcome.PASS, "Orders")}


def test_deleted_queue_is_a_gap_and_the_rule_answers_unknown() -> None:
    deploy(TEMPLATE)
    url = client("sqs").get_queue_url(QueueName="orders")["QueueUrl"]
    client("sqs").delete_queue(QueueUrl=url)
    read = live_snapshot(collectors=(sqs.COLLECTOR,))
    [gap] = read.gaps("Orders")
    assert (gap.what, gap.reason) == ("sqs:GetQueueAttributes", "NotFound")
    assert outcomes(read.snapshot, "sqs-queue-unencrypted") == {(Outcome.UNKNOWN, "Orders")}

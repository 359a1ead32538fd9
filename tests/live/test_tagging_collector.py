"""Tagging collector: deployed tags read with one GetResources per 100 ARNs (roles through
ListRoleTags); a tag removed live is found with drift and re-adding it resolves; types the
tagging API does not cover stay judged on the template; failures are gaps -> UNKNOWN."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from built_stack import built_live_read
from faults import refuse
from live_world import REGION, client, deploy, live_snapshot, outcomes, verdicts
from moto import mock_aws
from stack_auditor.collect import tagging
from stack_auditor.collect.clients import CallCounter, Clients
from stack_auditor.model import Outcome

COLLECTORS = (tagging.COLLECTOR,)
RULE_ID = "required-tags-missing"
REQUIRED = [{"Key": "iac-rlhf-amazon", "Value": "true"}]
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
TEMPLATE = {
    "Resources": {
        "Orders": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": "orders", "Tags": REQUIRED},
        },
        "Logs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": "/app/orders", "Tags": REQUIRED},
        },
        "Worker": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "worker",
                "AssumeRolePolicyDocument": TRUST,
                "Tags": REQUIRED,
            },
        },
    }
}


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def queues(count: int, *, tagged: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """``count`` queues made through the SQS API (a quicker setup than a stack of them) and
    the template that declares them: (template, physical ids)."""
    resources, ids = {}, {}
    sqs = client("sqs")
    for n in range(count):
        name = f"q{n:03}"
        tags = {"iac-rlhf-amazon": "true"} if tagged else {}
        ids[f"Q{n:03}"] = sqs.create_queue(QueueName=name, tags=tags)["QueueUrl"]
        resources[f"Q{n:03}"] = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name}}
    return {"Resources": resources}, ids


def arn_list_sizes(clients: Clients) -> list[int]:
    """Records the ResourceARNList length of each GetResources request."""
    sizes: list[int] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sizes.append(len(params.get("ResourceARNList", ())))

    tags = clients("resourcegroupstaggingapi")
    event = f"provide-client-params.{tags.meta.service_model.service_id.hyphenize()}.GetResources"
    tags.meta.events.register(event, record)
    return sizes


def test_150_taggable_resources_take_two_calls_and_untagged_ones_have_no_tags() -> None:
    template, ids = queues(150, tagged=False)
    clients = Clients(region=REGION, counter=CallCounter())
    sizes = arn_list_sizes(clients)
    read = built_live_read(template, ids, collectors=COLLECTORS, clients=clients)
    assert read.counter.calls == {"resourcegroupstaggingapi:GetResources": 2}
    assert sorted(sizes) == [50, 100]
    # GetResources leaves untagged resources out: each is read as having no tags
    assert {lid: read.live(lid) for lid in ids} == {lid: {"Tags": {}} for lid in ids}
    assert outcomes(read.snapshot, RULE_ID) == {(Outcome.FAIL, lid) for lid in ids}


def test_pages_within_a_batch_are_followed() -> None:
    # moto pages an ARN list's answer by 50 (AWS documents none for a list of 100)
    template, ids = queues(100, tagged=True)
    read = built_live_read(template, ids, collectors=COLLECTORS)
    assert read.counter.calls == {"resourcegroupstaggingapi:GetResources": 2}
    assert {lid: read.live(lid) for lid in ids} == {
        lid: {"Tags": {"iac-rlhf-amazon": "true"}} for lid in ids
    }


def test_tag_removed_live_is_found_with_drift_and_re_adding_it_resolves() -> None:
    deploy(TEMPLATE)
    read = live_snapshot(collectors=COLLECTORS)
    assert read.counter.calls == {
        "resourcegroupstaggingapi:GetResources": 1,
        "iam:ListRoleTags": 1,
    }
    assert outcomes(read.snapshot, RULE_ID) == {
        (Outcome.PASS, "Orders"),
        (Outcome.PASS, "Logs"),
        (Outcome.PASS, "Worker"),
    }

    sqs, iam = client("sqs"), client("iam")
    url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    sqs.untag_queue(QueueUrl=url, TagKeys=["iac-rlhf-amazon"])
    iam.untag_role(RoleName="worker", TagKeys=["iac-rlhf-amazon"])
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, RULE_ID) == {
        (Outcome.FAIL, "Orders"),
        (Outcome.PASS, "Logs"),
        (Outcome.FAIL, "Worker"),
    }
    failed = {v.logical_id: v for v in verdicts(snapshot, RULE_ID) if v.outcome is Outcome.FAIL}
    assert dict(failed["Orders"].evidence) == {
        "source": "live",
        "missing": "iac-rlhf-amazon",
        "template": "true",
    }
    assert "drift" in failed["Orders"].message

    sqs.tag_queue(QueueUrl=url, Tags={"iac-rlhf-amazon": "true"})
    iam.tag_role(RoleName="worker", Tags=REQUIRED)
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, RULE_ID) == {
        (Outcome.PASS, "Orders"),
        (Outcome.PASS, "Logs"),
        (Outcome.PASS, "Worker"),
    }


def test_types_the_tagging_api_does_not_cover_stay_judged_on_the_template() -> None:
    deploy(
        {
            "Resources": {
                "Network": {
                    "Type": "AWS::EC2::VPC",
                    "Properties": {"CidrBlock": "10.0.0.0/16", "Tags": REQUIRED},
                }
            }
        }
    )
    read = live_snapshot(collectors=COLLECTORS)
    assert read.counter.calls == {}
    assert read.live("Network") is None
    [verdict] = verdicts(read.snapshot, RULE_ID)
    assert (verdict.outcome, verdict.evidence["source"]) == (Outcome.PASS, "resolved")


def test_get_resources_denied_is_a_gap_on_its_batch_and_the_rule_answers_unknown() -> None:
    deploy(TEMPLATE)
    clients = Clients(region=REGION, counter=CallCounter())
    refuse(clients, "resourcegroupstaggingapi", "GetResources", "AccessDeniedException")
    read = live_snapshot(collectors=COLLECTORS, clients=clients)
    assert {(g.scope, g.what, g.reason) for g in read.gaps()} == {
        ("Orders", "tag:GetResources", "AccessDenied"),
        ("Logs", "tag:GetResources", "AccessDenied"),
    }
    assert outcomes(read.snapshot, RULE_ID) == {
        (Outcome.UNKNOWN, "Orders"),
        (Outcome.UNKNOWN, "Logs"),
        (Outcome.PASS, "Worker"),
    }


def test_deleted_role_is_a_gap_and_the_rule_answers_unknown() -> None:
    deploy(TEMPLATE)
    client("iam").delete_role(RoleName="worker")
    read = live_snapshot(collectors=COLLECTORS)
    [gap] = read.gaps("Worker")
    assert (gap.what, gap.reason) == ("iam:ListRoleTags", "NotFound")
    assert outcomes(read.snapshot, RULE_ID) == {
        (Outcome.PASS, "Orders"),
        (Outcome.PASS, "Logs"),
        (Outcome.UNKNOWN, "Worker"),
    }

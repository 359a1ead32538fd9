"""S3 collector: public access block and policy per bucket, live changes, gaps.

moto's CloudFormation drops PublicAccessBlockConfiguration and does not create
AWS::S3::BucketPolicy, so the tests put both through the S3 API after ``deploy`` to reach the
state the template declares.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from faults import refuse
from live_world import REGION, LiveRead, client, deploy, live_snapshot, outcomes, verdicts
from moto import mock_aws
from stack_auditor.collect import s3
from stack_auditor.collect.clients import CallCounter, Clients
from stack_auditor.model import Outcome

BLOCK_RULE = "s3-bucket-public-access-not-blocked"
TLS_RULE = "s3-bucket-no-tls-enforcement"
NAME = "data-123456789012"
BLOCK = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}
DENY_PLAIN_HTTP = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [f"arn:aws:s3:::{NAME}", f"arn:aws:s3:::{NAME}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
READ_FOR_ACCOUNT = {
    "Sid": "AccountRead",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
    "Action": "s3:GetObject",
    "Resource": f"arn:aws:s3:::{NAME}/*",
}

TEMPLATE = {
    "Resources": {
        "Data": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"BucketName": NAME, "PublicAccessBlockConfiguration": BLOCK},
        },
        "DataPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "Data"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [DENY_PLAIN_HTTP, READ_FOR_ACCOUNT],
                },
            },
        },
    }
}


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def put_policy(*statements: dict[str, Any]) -> None:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    client("s3").put_bucket_policy(Bucket=NAME, Policy=json.dumps(document))


def put_block() -> None:
    client("s3").put_public_access_block(Bucket=NAME, PublicAccessBlockConfiguration=BLOCK)


def deploy_as_declared() -> None:
    deploy(TEMPLATE)
    put_block()
    put_policy(DENY_PLAIN_HTTP, READ_FOR_ACCOUNT)


def read(clients: Clients | None = None) -> LiveRead:
    return live_snapshot(collectors=(s3.COLLECTOR,), clients=clients)


def verdict_on_data(snapshot: Any, rule_id: str) -> Any:
    [verdict] = [v for v in verdicts(snapshot, rule_id) if v.logical_id == "Data"]
    return verdict


def test_two_calls_per_bucket_and_no_encryption_call() -> None:
    deploy_as_declared()
    result = read()
    assert result.counter.calls == {"s3:GetPublicAccessBlock": 1, "s3:GetBucketPolicy": 1}
    live = result.live("Data")
    assert live is not None
    assert dict(live["PublicAccessBlockConfiguration"]) == BLOCK
    assert live["Policy"]["Statement"][0]["Sid"] == "DenyInsecureTransport"  # parsed JSON
    assert result.gaps() == []
    assert outcomes(result.snapshot, BLOCK_RULE) == {(Outcome.PASS, "Data")}
    assert outcomes(result.snapshot, TLS_RULE) == {(Outcome.PASS, "Data")}


def test_no_block_and_no_policy_are_read_as_none_not_as_gaps() -> None:
    deploy(TEMPLATE)  # nothing put: moto left the bucket without block and policy
    result = read()
    live = result.live("Data")
    assert live is not None
    assert (live["PublicAccessBlockConfiguration"], live["Policy"]) == (None, None)
    assert result.gaps() == []


def test_block_deleted_live_is_found_with_drift_and_its_fix_resolves() -> None:
    deploy_as_declared()
    client("s3").delete_public_access_block(Bucket=NAME)
    verdict = verdict_on_data(read().snapshot, BLOCK_RULE)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence == {"source": "live", "value": None, "template": BLOCK}
    assert "deployed bucket has no public access block" in verdict.message
    assert "drift" in verdict.message

    put_block()
    assert outcomes(read().snapshot, BLOCK_RULE) == {(Outcome.PASS, "Data")}


def test_one_flag_turned_off_live_is_named() -> None:
    deploy_as_declared()
    client("s3").put_public_access_block(
        Bucket=NAME, PublicAccessBlockConfiguration={**BLOCK, "RestrictPublicBuckets": False}
    )
    verdict = verdict_on_data(read().snapshot, BLOCK_RULE)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence["source"] == "live"
    assert verdict.evidence["weak"] == ["RestrictPublicBuckets"]
    assert "the deployed block leaves RestrictPublicBuckets false" in verdict.message


def test_tls_statement_removed_live_is_found_with_drift_and_its_fix_resolves() -> None:
    deploy_as_declared()
    put_policy(READ_FOR_ACCOUNT)
    verdict = verdict_on_data(read().snapshot, TLS_RULE)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence == {
        "source": "live",
        "policies": ["Data"],
        "partial": [],
        "template": {
            "source": "resolved",
            "policy": "DataPolicy",
            "statement": "Properties.PolicyDocument.Statement[0]",
        },
    }
    assert "the deployed bucket policy has no Deny statement" in verdict.message
    assert "(drift)" in verdict.message

    put_policy(READ_FOR_ACCOUNT, DENY_PLAIN_HTTP)
    assert outcomes(read().snapshot, TLS_RULE) == {(Outcome.PASS, "Data")}


def test_policy_deleted_live_is_found() -> None:
    deploy_as_declared()
    client("s3").delete_bucket_policy(Bucket=NAME)
    verdict = verdict_on_data(read().snapshot, TLS_RULE)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.evidence["source"] == "live"
    assert "deployed bucket has no bucket policy" in verdict.message


def test_deleted_bucket_is_a_not_found_gap_and_the_rules_answer_unknown() -> None:
    deploy_as_declared()
    client("s3").delete_bucket(Bucket=NAME)
    result = read()
    assert {(g.what, g.reason) for g in result.gaps("Data")} == {
        ("s3:GetBucketPublicAccessBlock", "NotFound"),
        ("s3:GetBucketPolicy", "NotFound"),
    }
    assert outcomes(result.snapshot, BLOCK_RULE) == {(Outcome.UNKNOWN, "Data")}
    assert outcomes(result.snapshot, TLS_RULE) == {(Outcome.UNKNOWN, "Data")}


def test_policy_access_denied_is_a_gap_and_no_s3_rule_passes() -> None:
    deploy_as_declared()
    clients = Clients(region=REGION, counter=CallCounter())
    refuse(clients, "s3", "GetBucketPolicy", "AccessDenied")
    result = read(clients)
    assert [(g.scope, g.what, g.reason) for g in result.gaps()] == [
        ("Data", "s3:GetBucketPolicy", "AccessDenied")
    ]
    assert outcomes(result.snapshot, TLS_RULE) == {(Outcome.UNKNOWN, "Data")}
    # the block was read and is complete, but an s3 read of the bucket failed
    assert outcomes(result.snapshot, BLOCK_RULE) == {(Outcome.UNKNOWN, "Data")}

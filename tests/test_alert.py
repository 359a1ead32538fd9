"""build_alert content, attributes, limits, silence rules and markup neutralisation; publish
through moto's SNS to an SQS subscription (real delivery)."""

from __future__ import annotations

import json
from dataclasses import replace
from types import MappingProxyType

import boto3
from moto import mock_aws
from stack_auditor.alert import SUBJECT_LIMIT, build_alert, clean, publish
from stack_auditor.findings import Finding, finding_id
from stack_auditor.model import FindingStatus, Severity, StackRef
from stack_auditor.store import AuditChanges

REF = StackRef(
    "payments-prod",
    account="123456789012",
    region="us-east-1",
    status="UPDATE_COMPLETE",
    trigger="event",
)


def finding(rule: str, logical_id: str, severity: Severity, **kw: object) -> Finding:
    base = Finding(
        finding_id=finding_id(REF, rule, logical_id, ""),
        rule_id=rule,
        severity=severity,
        status=FindingStatus.OPEN,
        logical_id=logical_id,
        physical_id=f"{logical_id.lower()}-123",
        resource_type="AWS::DynamoDB::Table",
        message=f"{rule} fails on {logical_id}",
        remediation=f"Set the property on {logical_id}",
        evidence=MappingProxyType({}),
        path="Properties.X",
        first_seen="2026-11-20T09:00:00.000000Z",
        last_seen="2026-11-20T09:00:00.000000Z",
        stack_name=REF.stack_name,
        account=REF.account,
        region=REF.region,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


CRIT = finding("iam-admin-access", "AdminRole", Severity.CRITICAL)
HIGH1 = finding("dynamodb-pitr-disabled", "Orders", Severity.HIGH)
HIGH2 = finding("s3-bucket-public-access-not-blocked", "Uploads", Severity.HIGH)
MED = finding("sns-topic-unencrypted", "Alerts", Severity.MEDIUM)


def test_alert_lists_new_findings_grouped_by_severity_and_resolved() -> None:
    gone = replace(MED, status=FindingStatus.RESOLVED, severity=Severity.HIGH)
    alert = build_alert(
        REF,
        AuditChanges(new=(HIGH1, CRIT, HIGH2, MED), resolved=(gone,)),
        min_severity=Severity.HIGH,
        account="123456789012",
    )
    assert alert is not None
    assert alert.subject == "[CRITICAL] payments-prod: 3 new findings, 1 resolved"
    body = alert.message
    assert body.index("CRITICAL:") < body.index("iam-admin-access") < body.index("HIGH:")
    assert "dynamodb-pitr-disabled on Orders (AWS::DynamoDB::Table) = orders-123" in body
    assert "fix: Set the property on Orders" in body
    assert "sns-topic-unencrypted" in body.split("Resolved findings (1)")[1]
    assert "sns-topic-unencrypted" not in body.split("Resolved findings")[0]  # MEDIUM: below
    assert alert.attributes == {
        "highest_severity": {"DataType": "String", "StringValue": "CRITICAL"},
        "stack_name": {"DataType": "String", "StringValue": "payments-prod"},
        "account": {"DataType": "String", "StringValue": "123456789012"},
        "region": {"DataType": "String", "StringValue": "us-east-1"},
        "new_count": {"DataType": "Number", "StringValue": "3"},
        "resolved_count": {"DataType": "Number", "StringValue": "1"},
    }


def test_silent_when_nothing_changed_or_below_threshold() -> None:
    kw = {"min_severity": Severity.HIGH, "account": "123456789012"}
    assert build_alert(REF, AuditChanges(), **kw) is None  # type: ignore[arg-type]
    assert build_alert(REF, AuditChanges(still_open=(HIGH1,)), **kw) is None  # type: ignore[arg-type]
    assert build_alert(REF, AuditChanges(new=(MED,)), **kw) is None  # type: ignore[arg-type]
    low_resolved = replace(MED, status=FindingStatus.RESOLVED)
    assert build_alert(REF, AuditChanges(resolved=(low_resolved,)), **kw) is None  # type: ignore[arg-type]
    assert (
        build_alert(REF, AuditChanges(new=(MED,)), min_severity=Severity.MEDIUM, account="1")
        is not None
    )


def test_suppressed_findings_are_never_alerted() -> None:
    muted = replace(HIGH1, status=FindingStatus.SUPPRESSED, suppression_reason="accepted")
    assert (
        build_alert(
            REF,
            AuditChanges(new=(muted,), suppressed=(muted,)),
            min_severity=Severity.HIGH,
            account="1",
        )
        is None
    )
    was_muted = replace(muted, status=FindingStatus.RESOLVED)
    assert (
        build_alert(
            REF, AuditChanges(resolved=(was_muted,)), min_severity=Severity.HIGH, account="1"
        )
        is None
    )


def test_stale_audits_are_silent() -> None:
    assert (
        build_alert(
            REF, AuditChanges(new=(CRIT,), stale=True), min_severity=Severity.HIGH, account="1"
        )
        is None
    )


def test_resolved_only_alert() -> None:
    gone = replace(HIGH1, status=FindingStatus.RESOLVED)
    alert = build_alert(
        replace(REF, status="DELETE_COMPLETE"),
        AuditChanges(resolved=(gone,)),
        min_severity=Severity.HIGH,
        account="123456789012",
    )
    assert alert is not None
    assert alert.subject == "[RESOLVED] payments-prod: 1 resolved"
    assert "New findings" not in alert.message
    assert alert.attributes["new_count"]["StringValue"] == "0"
    assert alert.attributes["highest_severity"]["StringValue"] == "HIGH"


def test_subject_is_short_ascii_and_single_line() -> None:
    ref = replace(REF, stack_name="a" * 128)
    alert = build_alert(ref, AuditChanges(new=(CRIT,) * 1), min_severity=Severity.HIGH, account="1")
    assert alert is not None
    assert len(alert.subject) <= SUBJECT_LIMIT
    assert alert.subject.endswith(": 1 new finding")
    evil = replace(REF, stack_name="pay\u00e9\nBcc: x@y <b>")
    alert = build_alert(evil, AuditChanges(new=(CRIT,)), min_severity=Severity.HIGH, account="1")
    assert alert is not None
    assert alert.subject.isascii() and "\n" not in alert.subject and "<" not in alert.subject


def test_untrusted_text_is_neutralised_and_capped() -> None:
    evil = finding(
        "dynamodb-pitr-disabled",
        "Orders",
        Severity.HIGH,
        message="<script>alert(1)</script> [click](http://evil) `rm -rf` @channel @here \x1b[31m"
        + "x" * 5000,
        physical_id="<!everyone> table\r\nX-Injected: yes",
        remediation="Ping @everyone and\x00 visit <http://evil|here>",
        path="Properties.`Name`",
    )
    alert = build_alert(REF, AuditChanges(new=(evil,)), min_severity=Severity.HIGH, account="1")
    assert alert is not None
    body = alert.message
    for raw in ("<", ">", "](", "`", "@channel", "@here", "@everyone", "\x1b", "\x00", "\r"):
        assert raw not in body, raw
    assert "\nX-Injected" not in body
    assert max(len(line) for line in body.splitlines()) < 500
    assert "alert(1)" in body  # still readable, just inert


def test_clean_keeps_ordinary_text() -> None:
    assert clean("Bucket my-bucket_1 has no PublicAccessBlock (arn:aws:s3:::b/*)") == (
        "Bucket my-bucket_1 has no PublicAccessBlock (arn:aws:s3:::b/*)"
    )
    assert clean("e-mail ops@example.com") == "e-mail ops@example.com"
    assert len(clean("y" * 1000, 50)) == 50


def test_many_findings_are_counted_not_listed() -> None:
    crowd = tuple(finding("iam-wildcard-action", f"Role{i}", Severity.HIGH) for i in range(80))
    alert = build_alert(REF, AuditChanges(new=crowd), min_severity=Severity.HIGH, account="1")
    assert alert is not None
    assert "... and 30 more" in alert.message
    assert alert.subject == "[HIGH] payments-prod: 80 new findings"


@mock_aws
def test_publish_delivers_subject_body_and_attributes_to_sqs() -> None:
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    alert = build_alert(
        REF, AuditChanges(new=(CRIT,)), min_severity=Severity.HIGH, account="123456789012"
    )
    assert alert is not None
    message_id = publish(sns, topic, alert)
    (msg,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    envelope = json.loads(msg["Body"])
    assert envelope["MessageId"] == message_id
    assert envelope["Subject"] == alert.subject
    assert envelope["Message"] == alert.message
    assert envelope["MessageAttributes"]["highest_severity"] == {
        "Type": "String",
        "Value": "CRITICAL",
    }
    assert envelope["MessageAttributes"]["new_count"] == {"Type": "Number", "Value": "1"}

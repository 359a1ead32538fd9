"""`stack-auditor audit`: the deployed auditor's pipeline on a stack in moto (in-process),
printed like `scan`; with --store it records the audit like the function and reports changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sample_stacks import BROKEN_PAYMENTS
from stack_auditor.cli import main
from stack_auditor.collect.clients import Clients
from stack_auditor.emulator import provision_from_template
from stack_auditor.emulator_fixups import repair_deployment

ROOT = Path(__file__).resolve().parents[1]
STACK, REGION, ACCOUNT = "sample-payments", "us-east-1", "123456789012"
QUEUE = "payments-queue"  # BROKEN_PAYMENTS' queue name


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.session.Session]:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        session.client("cloudformation").create_stack(
            StackName=STACK,
            TemplateBody=json.dumps(BROKEN_PAYMENTS),
            Capabilities=["CAPABILITY_IAM"],
        )
        # moto stores role inline policies as Python text (emulator_fixups)
        repair_deployment(Clients(session), STACK)
        yield session


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["audit", "--stack", STACK, "--region", REGION, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def audit_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, "--format", "json", "--fail-on", "none", *argv)
    assert code == 0, err
    return json.loads(out)


def found(report: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(f["rule_id"], f["logical_id"]) for f in report["findings"] if f["status"] == "OPEN"}


def set_queue_encryption(session: boto3.session.Session, enabled: bool) -> None:
    sqs = session.client("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"SqsManagedSseEnabled": "true" if enabled else "false"}
    )


def test_reads_the_deployed_template_and_the_live_state_without_writing(
    aws: boto3.session.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    # Turned off after the deployment: only the live read can see it.
    set_queue_encryption(aws, False)
    report = audit_json(capsys)
    assert {
        ("iam-admin-access", "PaymentsRole"),
        ("required-tags-missing", "PaymentsQueue"),
        ("sqs-queue-unencrypted", "PaymentsQueue"),
    } <= found(report)
    (unencrypted,) = [f for f in report["findings"] if f["rule_id"] == "sqs-queue-unencrypted"]
    assert unencrypted["evidence"]["source"] == "live"
    assert report["stack_name"] == STACK and report["gaps"] == []
    assert "store" not in report
    assert aws.client("dynamodb").list_tables()["TableNames"] == []  # nothing written


def test_exit_code_follows_fail_on(
    aws: boto3.session.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "--format", "json")[0] == 1  # iam-admin-access is CRITICAL
    assert run(capsys, "--format", "json", "--fail-on", "none")[0] == 0


def test_gaps_are_printed_with_what_and_why(
    aws: boto3.session.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    sqs = aws.client("sqs")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"])
    report = audit_json(capsys)
    assert [(g["scope"], g["what"], g["reason"]) for g in report["gaps"]] == [
        ("PaymentsQueue", "sqs:GetQueueAttributes", "NotFound")
    ]
    code, out, _ = run(capsys, "--fail-on", "none")
    assert code == 0
    assert "GAPS (1)" in out and "sqs:GetQueueAttributes" in out and "NotFound" in out


def test_unknown_stack_is_a_usage_error(
    aws: boto3.session.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["audit", "--stack", "no-such-stack", "--region", REGION])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.strip() == (
        f"stack-auditor: error: stack no-such-stack not found in account {ACCOUNT} {REGION}"
    )


def test_alert_topic_without_store_is_a_usage_error(
    aws: boto3.session.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--alert-topic", "arn:aws:sns:us-east-1:123456789012:t")
    assert code == 2 and "--alert-topic needs --store" in err


def test_missing_findings_table_is_an_aws_error(
    aws: boto3.session.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--store", "no-such-table", "--fail-on", "none")
    assert code == 3 and out == ""
    assert "ResourceNotFoundException" in err and "Traceback" not in err


@pytest.fixture
def table(aws: boto3.session.Session) -> str:
    provisioned = provision_from_template(
        ROOT / "template.yaml", aws, names={"FindingsTable": "findings"}
    )
    return provisioned.table_name


def test_store_records_the_audit_and_reports_new_then_resolved(
    aws: boto3.session.Session, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    set_queue_encryption(aws, False)
    first = audit_json(capsys, "--store", table)
    store = first["store"]
    assert store["table"] == table and store["status"] == "audited"
    assert {(f["rule_id"], f["logical_id"]) for f in store["new"]} == found(first)
    assert store["resolved"] == [] and store["alerted"] is False

    items = (
        aws.resource("dynamodb")
        .Table(table)
        .query(
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": f"STACK#{ACCOUNT}#{REGION}#{STACK}"},
        )["Items"]
    )
    audits = [i for i in items if str(i["sk"]).startswith("AUDIT#")]
    assert [(a["trigger"], a["outcome"]) for a in audits] == [("audit", "ok")]
    stored = {(i["rule_id"], i.get("logical_id")) for i in items if "rule_id" in i}
    assert stored == found(first)

    # fixed live: the next audit resolves it, and says so in the table output
    set_queue_encryption(aws, True)
    code, out, _ = run(capsys, "--store", table, "--fail-on", "none")
    assert code == 0
    assert "1 resolved" in out
    assert "  - MEDIUM sqs-queue-unencrypted PaymentsQueue" in out


def test_store_with_alert_topic_publishes_the_alert(
    aws: boto3.session.Session, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = aws.client("sns").create_topic(Name="alerts")["TopicArn"]
    sqs = aws.client("sqs")
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    aws.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    report = audit_json(capsys, "--store", table, "--alert-topic", topic)
    assert report["store"]["alerted"] is True
    (message,) = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(message["Body"])["Subject"].startswith(f"[CRITICAL] {STACK}:")


def test_sarif_stays_pure_and_the_store_summary_goes_to_stderr(
    aws: boto3.session.Session, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--store", table, "--format", "sarif", "--fail-on", "none")
    assert code == 0
    assert json.loads(out)["version"] == "2.1.0"
    assert err.startswith(f"Stored in {table} (audit ")


def test_stack_arn_names_the_stack(
    aws: boto3.session.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    stack_id = aws.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]["StackId"]
    code = main(
        ["audit", "--stack", stack_id, "--region", REGION, "-f", "json", "--fail-on", "none"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["stack_name"] == STACK

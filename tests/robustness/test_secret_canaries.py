"""Planted secrets (canaries.py) never leave the auditor: not in a verdict, a stored item, the
alert, a log line or any output format.

Two paths: ``scan`` of the template file (verdicts, json, sarif, table), with and without
cfn-lint; and a full audit in moto (template from CloudFormation, live reads, the findings
table, the alert delivered through SNS to an SQS queue), then every stored-findings format
(table, json, csv, sarif, asff) and the stack history read back from the table.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from canaries import CANARIES, NOECHO_GIVEN, PARAMETERS, TEMPLATE
from moto import mock_aws
from stack_auditor.audit import AuditStatus, run_audit
from stack_auditor.collect.clients import Clients
from stack_auditor.config import AuditConfig
from stack_auditor.emulator import provision_from_template
from stack_auditor.evaluate import evaluate
from stack_auditor.findings import to_findings
from stack_auditor.findings_query import ALL_STATUSES, FindingsFilter, find_findings, stack_history
from stack_auditor.model import StackRef, Verdict
from stack_auditor.output.asff import render_asff
from stack_auditor.output.csvout import render_csv
from stack_auditor.output.jsonout import render_report
from stack_auditor.output.report import build_report
from stack_auditor.output.sarif import render_findings_sarif, render_sarif
from stack_auditor.output.table import make_console, print_findings, print_history, print_report
from stack_auditor.rules import CATALOG
from stack_auditor.snapshot import snapshot_from_file
from stack_auditor.store import FindingsStore

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, REGION, STACK = "123456789012", "us-east-1", "canary-stack"
METAS = tuple(r.meta for r in CATALOG)
SECRET_FINDINGS = {
    ("lambda-env-plaintext-secret", "CanaryFunction", "Properties.Environment.Variables.API_TOKEN"),
    (
        "lambda-env-plaintext-secret",
        "CanaryFunction",
        "Properties.Environment.Variables.DB_PASSWORD",
    ),
}


def leaks(text: str) -> list[str]:
    return [canary for canary in CANARIES if canary in text]


def verdict_text(verdict: Verdict) -> str:
    return " ".join(
        (verdict.message, verdict.path, json.dumps(dict(verdict.evidence), default=str))
    )


def table_text(render: Any, *args: Any) -> str:
    buffer = io.StringIO()
    render(*args, make_console(buffer, width=100))
    return buffer.getvalue()


@pytest.mark.parametrize("cfn_lint", [False, True], ids=["catalog", "with-cfn-lint"])
def test_scan_never_shows_a_canary(tmp_path: Path, cfn_lint: bool) -> None:
    path = tmp_path / "canary.yaml"
    path.write_text(yaml.safe_dump(TEMPLATE, sort_keys=False))
    snapshot = snapshot_from_file(path, parameters=PARAMETERS)
    config = AuditConfig(cfn_lint=cfn_lint)
    verdicts = evaluate(snapshot, config, rules=CATALOG)
    finding_set = to_findings(snapshot, verdicts, CATALOG, config, datetime.now(UTC))
    rows = [f.to_dict() for f in finding_set.findings]
    report = build_report(snapshot, verdicts, rows, template=str(path))

    fired = {(f.rule_id, f.logical_id, f.path) for f in finding_set.findings}
    assert fired >= SECRET_FINDINGS  # the secrets were seen, and reported by name only
    if cfn_lint:  # cfn-lint quotes the SSM SecureString reference it objects to
        assert any(f.rule_id == "cfn-lint/E1027" for f in finding_set.findings)
    outputs = {
        "verdicts": "\n".join(verdict_text(v) for v in verdicts),
        "findings": json.dumps(rows, default=str),
        "json": render_report(report),
        "sarif": render_sarif(report, METAS),
        "table": table_text(lambda c: print_report(report, c)),
    }
    assert {name: leaks(text) for name, text in outputs.items()} == {name: [] for name in outputs}


@pytest.fixture
def audited(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Deploy the canary stack in moto, audit it once (live reads on), return what came out."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        provisioned = provision_from_template(
            ROOT / "template.yaml", session, names={"FindingsTable": "findings"}
        )
        sqs = session.client("sqs")
        queue_url = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns = session.client("sns")
        sns.subscribe(TopicArn=provisioned.topic_arn, Protocol="sqs", Endpoint=queue_arn)
        cfn = session.client("cloudformation")
        # moto returns a NoEcho parameter's value in DescribeStacks where CloudFormation
        # shows "****": the audit sees the real secret, a harder case than production.
        stack_id = cfn.create_stack(
            StackName=STACK,
            TemplateBody=json.dumps(TEMPLATE),
            Parameters=[{"ParameterKey": "DbPassword", "ParameterValue": NOECHO_GIVEN}],
            Capabilities=["CAPABILITY_IAM"],
        )["StackId"]
        table = session.resource("dynamodb").Table(provisioned.table_name)
        result = run_audit(
            StackRef(
                STACK,
                account=ACCOUNT,
                region=REGION,
                stack_id=stack_id,
                status="CREATE_COMPLETE",
                trigger="event",
                event_id="canary-event",
            ),
            cfn_client=cfn,
            store=FindingsStore(table),
            sns_client=sns,
            topic_arn=provisioned.topic_arn,
            config=AuditConfig(cfn_lint=True),
            clients=Clients(session, region=REGION),
        )
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
        items = table.scan()["Items"]
        rows = find_findings(
            table,
            FindingsFilter(stack=STACK, account=ACCOUNT, region=REGION, statuses=ALL_STATUSES),
        )
        history = stack_history(table, ACCOUNT, REGION, STACK)
        yield {
            "result": result,
            "alerts": [json.loads(m["Body"]) for m in messages],
            "items": items,
            "rows": rows,
            "history": history,
        }


def test_audit_never_stores_alerts_or_renders_a_canary(
    audited: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    result = audited["result"]
    assert result.status is AuditStatus.AUDITED
    assert result.findings is not None
    fired = {(f.rule_id, f.logical_id, f.path) for f in result.findings.findings}
    assert fired >= SECRET_FINDINGS
    (alert,) = audited["alerts"]
    assert "lambda-env-plaintext-secret on CanaryFunction" in alert["Message"]
    rows = audited["rows"]
    assert {(r["rule_id"], r["logical_id"], r["path"]) for r in rows} == fired

    outputs = {
        "alert": json.dumps(alert),
        "dynamodb items": json.dumps(audited["items"], default=str),
        "json": json.dumps(rows, default=str),
        "csv": render_csv(rows),
        "sarif": render_findings_sarif(rows, METAS),
        "asff": render_asff(rows),
        "table": table_text(print_findings, rows),
        "history": table_text(lambda c: print_history(STACK, audited["history"], c)),
        "logs": caplog.text,
    }
    assert {name: leaks(text) for name, text in outputs.items()} == {name: [] for name in outputs}

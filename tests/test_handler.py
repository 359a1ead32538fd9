"""The Lambda handler end to end against a moto server (boto3 reaches it through
AWS_ENDPOINT_URL, as in `sam local invoke`), fed with the events/ files."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sample_stacks import BROKEN_PAYMENTS
from stack_auditor.collect.clients import Clients
from stack_auditor.emulator import provision_from_template
from stack_auditor.emulator_fixups import repair_deployment
from stack_auditor.model import Severity

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
STACK = "sample-payments"


@dataclass(frozen=True)
class Context:
    """The attributes Powertools reads from the Lambda context object."""

    function_name: str = "stack-auditor-audit"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:stack-auditor-audit"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_app", ROOT / "functions/audit/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Env:
    session: boto3.session.Session
    queue_url: str
    table: Any

    def alerts(self) -> list[dict[str, Any]]:
        sqs = self.session.client("sqs")
        got = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in got.get("Messages", [])]


@pytest.fixture
def env(endpoint: str, app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    for key, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "stack-auditor",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "StackAuditor",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ALERT_MIN_SEVERITY", raising=False)
    monkeypatch.delenv("REQUIRED_TAGS", raising=False)
    session = boto3.session.Session()
    provisioned = provision_from_template(
        ROOT / "template.yaml", session, names={"FindingsTable": "findings"}
    )
    sqs = session.client("sqs")
    queue_url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    session.client("sns").subscribe(TopicArn=provisioned.topic_arn, Protocol="sqs", Endpoint=arn)
    monkeypatch.setenv("FINDINGS_TABLE", provisioned.table_name)
    monkeypatch.setenv("ALERT_TOPIC_ARN", provisioned.topic_arn)
    app._clients.cache_clear()
    yield Env(session, queue_url, session.resource("dynamodb").Table(provisioned.table_name))
    app._clients.cache_clear()


def event(name: str, stack_id: str | None = None) -> Any:
    raw = json.loads((EVENTS / name).read_text())
    if stack_id and isinstance(raw, dict):
        raw["detail"]["stack-id"] = stack_id
        raw["resources"] = [stack_id]
        raw["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # whole seconds
    return raw


def deploy(session: boto3.session.Session) -> str:
    cfn = session.client("cloudformation")
    stack_id = cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(BROKEN_PAYMENTS))[
        "StackId"
    ]
    # moto stores the role's inline policy as Python text, not JSON (emulator_fixups)
    repair_deployment(Clients(session), STACK, account="123456789012", region="us-east-1")
    return str(stack_id)


def items(table: Any, prefix: str) -> list[dict[str, Any]]:
    got = table.query(
        KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
        ExpressionAttributeValues={":p": f"STACK#123456789012#us-east-1#{STACK}", ":s": prefix},
    )
    return list(got["Items"])


AUDIT_EVENTS = sorted(p.name for p in EVENTS.glob("*.json") if p.name != "delete_complete.json")


@pytest.mark.parametrize("name", AUDIT_EVENTS)
def test_each_event_file_audits_stores_and_alerts(app: ModuleType, env: Env, name: str) -> None:
    stack_id = deploy(env.session)
    summary = app.lambda_handler(event(name, stack_id), Context())
    assert summary["status"] == "audited", summary
    assert summary["new"] >= 2 and summary["alerted"] is True
    json.dumps(summary)  # JSON-serialisable
    findings = items(env.table, "FINDING#")
    rules = {(i["rule_id"], i.get("logical_id")) for i in findings}
    assert ("iam-admin-access", "PaymentsRole") in rules
    assert ("required-tags-missing", "PaymentsQueue") in rules  # REQUIRED_TAGS default
    (alert,) = env.alerts()
    assert alert["Subject"].startswith("[CRITICAL] sample-payments:")
    assert alert["MessageAttributes"]["highest_severity"]["Value"] == "CRITICAL"


def test_delete_complete_resolves(app: ModuleType, env: Env) -> None:
    stack_id = deploy(env.session)
    app.lambda_handler(event("create_complete.json", stack_id), Context())
    env.session.client("cloudformation").delete_stack(StackName=STACK)
    summary = app.lambda_handler(event("delete_complete.json", stack_id), Context())
    assert summary["status"] == "deleted" and summary["resolved"] >= 2
    assert {i["status"] for i in items(env.table, "FINDING#")} == {"RESOLVED"}
    subjects = sorted(a["Subject"] for a in env.alerts())
    assert subjects[0].startswith("[CRITICAL]") and subjects[1].startswith("[RESOLVED]")


@pytest.mark.parametrize(
    "path", sorted((EVENTS / "malformed").glob("*.json")), ids=lambda p: p.stem
)
def test_malformed_events_are_rejected_not_raised(app: ModuleType, env: Env, path: Path) -> None:
    summary = app.lambda_handler(json.loads(path.read_text()), Context())
    assert summary["status"] == "rejected" and summary["reason"]
    assert env.alerts() == []


def test_unaudited_status_is_ignored(app: ModuleType, env: Env) -> None:
    summary = app.lambda_handler(event("ignored/create_in_progress.json"), Context())
    assert summary == {
        "status": "ignored",
        "stack": STACK,
        "reason": "status CREATE_IN_PROGRESS is not audited",
    }


def test_env_settings_apply(app: ModuleType, env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUIRED_TAGS", "team, cost-center")
    monkeypatch.setenv("ALERT_MIN_SEVERITY", "critical")
    config = app.config_from_env()
    assert [t.key for t in config.required_tags] == ["team", "cost-center"]
    assert config.alert_min_severity is Severity.CRITICAL
    stack_id = deploy(env.session)
    app.lambda_handler(event("create_complete.json", stack_id), Context())
    tags = [i for i in items(env.table, "FINDING#") if i["rule_id"] == "required-tags-missing"]
    assert tags and any("team" in i["message"] for i in tags)
    (alert,) = env.alerts()
    assert "required-tags-missing" not in alert["Message"]  # HIGH: below the threshold


def test_unexpected_errors_raise_for_retry(
    app: ModuleType, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINDINGS_TABLE", "no-such-table")
    app._clients.cache_clear()
    stack_id = deploy(env.session)
    with pytest.raises(Exception, match=r"ResourceNotFound|non-existent|not found"):
        app.lambda_handler(event("create_complete.json", stack_id), Context())


def test_cold_import_is_lazy() -> None:
    """Importing the handler loads none of the heavy modules: they load on the first event.

    The cold-import time itself is measured by the benchmarks (benchmarks/), not asserted
    here: timings on a shared 2-core CI machine are too noisy for a test.
    """
    code = (
        "import sys; sys.path.insert(0, 'functions/audit'); import app;"
        "heavy = [m for m in ('boto3', 'stack_auditor.rules', 'stack_auditor.evaluate',"
        " 'stack_auditor.collect.cloudformation', 'yaml', 'samtranslator') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"

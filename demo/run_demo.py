"""The auditor's main job, end to end, on moto's server: no AWS account needed.

What it does, in order:
1. starts moto's server on a free loopback port and points boto3 at it (AWS_ENDPOINT_URL);
2. creates the auditor's findings table and alert topic from the repository's template.yaml
   (``emulator.provision_from_template``), and subscribes an SQS queue to the topic so the
   alerts can be read back;
3. deploys the four sample stacks of demo/stacks/ into moto's CloudFormation;
4. sends each stack's "CloudFormation Stack Status Change" event (CREATE_COMPLETE) through
   the real Lambda handler (functions/audit/app.py), then an UPDATE_COMPLETE after fixing one
   problem of sample-payments;
5. changes sample-payments out of band (point-in-time recovery of its table turned off through
   the DynamoDB API, CloudFormation not involved): the scheduled sweep (events/scheduled/
   sweep.json through functions/sweep/sweep.py) finds it as drift, read live; turned back on,
   the next sweep resolves it;
6. sends a DELETE_COMPLETE after deleting sample-notifications;
7. prints each stack's findings as stored in DynamoDB (the CLI's table renderer) and every
   alert received, then a summary of open findings per severity per stack; stops the server.

Run it with ``.venv/bin/python demo/run_demo.py`` (scripts/demo.sh does). Exit status 0 when
every step worked.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import socket
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
STACKS = REPO / "demo" / "stacks"
HANDLER = REPO / "functions" / "audit" / "app.py"
SWEEP_HANDLER = REPO / "functions" / "sweep" / "sweep.py"
SWEEP_EVENT = REPO / "events" / "scheduled" / "sweep.json"
AUDITOR_TEMPLATE = REPO / "template.yaml"

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
ENVIRONMENT = "dev"
SAMPLES = ("sample-notifications", "sample-payments", "sample-monitoring", "sample-clean")
BROKEN = SAMPLES[:3]
UPDATED = "sample-payments"  # fixed by demo/stacks/updates/sample-payments.yaml
DELETED = "sample-notifications"
# The out-of-band change: point-in-time recovery of this table, turned off by hand.
DRIFTED = ("sample-payments", "PaymentsTable", "dynamodb-pitr-disabled")
# The clean stack carries the required tag at stack level, as `sam deploy --tags` would: it
# propagates to every resource (and moto cannot parse CloudFormation-style KMS key tags).
STACK_TAGS: Mapping[str, Mapping[str, str]] = {"sample-clean": {"iac-rlhf-amazon": "true"}}
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")

# Environment for the handler and boto3 while the demo runs; restored afterwards.
DEMO_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "ALERT_MIN_SEVERITY": "HIGH",
    "REQUIRED_TAGS": "iac-rlhf-amazon",
    "POWERTOOLS_SERVICE_NAME": "stack-auditor-demo",
    "POWERTOOLS_METRICS_NAMESPACE": "StackAuditorDemo",
    # The handler's structured logs and metrics would bury the demo's own output.
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    # moto attaches AWS managed policies (AdministratorAccess...) only when it has loaded them
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
}


@dataclass(frozen=True, slots=True)
class ReceivedAlert:
    stack: str
    status: str
    subject: str
    body: str


@dataclass(slots=True)
class DemoResult:
    # stack -> severity -> OPEN findings after the stack's last audit before any deletion
    open_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # stack -> (rule id, logical id) of those OPEN findings
    open_findings: dict[str, set[tuple[str, str | None]]] = field(default_factory=dict)
    # the drifted finding as stored after each sweep: found by the first, resolved by the second
    drift: list[dict[str, Any]] = field(default_factory=list)
    sweeps: list[dict[str, Any]] = field(default_factory=list)  # sweep handler return values
    suppressed: dict[str, int] = field(default_factory=dict)
    alerts: list[ReceivedAlert] = field(default_factory=list)
    summaries: list[dict[str, Any]] = field(default_factory=list)  # handler return values

    def alerts_for(self, stack: str) -> list[ReceivedAlert]:
        return [a for a in self.alerts if a.stack == stack]


@dataclass(frozen=True, slots=True)
class DemoContext:
    """The attributes of a Lambda context the handler (and Powertools) read."""

    function_name: str = "stack-auditor-audit"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:stack-auditor-audit"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/stack-auditor-audit"
    log_stream_name: str = "demo"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def patched_env(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextmanager
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    # The server's per-request access log (werkzeug, on stderr) would drown the demo.
    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto's backends live in this process: start from an empty account, created with DEMO_ENV
    reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset).close()
    try:
        yield endpoint
    finally:
        server.stop()
        access_log.setLevel(level)


def load_handler_module(path: Path = HANDLER) -> ModuleType:
    """Import a function's module (functions/audit/app.py) by path (``functions`` is not a
    package)."""
    spec = importlib.util.spec_from_file_location(f"stack_auditor_demo_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sweep_event() -> dict[str, Any]:
    """events/scheduled/sweep.json as EventBridge Scheduler sends it now (its own id and time)."""
    event: dict[str, Any] = json.loads(SWEEP_EVENT.read_text(encoding="utf-8"))
    event["id"] = str(uuid.uuid4())
    event["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


def stack_event(stack_id: str, status: str) -> dict[str, Any]:
    """An EventBridge event exactly as CloudFormation sends it (cf. events/*.json)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudFormation Stack Status Change",
        "source": "aws.cloudformation",
        "account": ACCOUNT,
        "time": now,
        "region": REGION,
        "resources": [stack_id],
        "detail": {
            "stack-id": stack_id,
            "status-details": {"status": status, "status-reason": ""},
            "client-request-token": f"demo-{uuid.uuid4()}",
        },
    }


class Demo:
    """One run: the clients, the handler and what was seen."""

    def __init__(self, console: Any) -> None:
        import boto3

        self.console = console
        self.session = boto3.session.Session(region_name=REGION)
        self.cfn = self.session.client("cloudformation")
        self.sqs = self.session.client("sqs")
        self.result = DemoResult()
        self.stack_ids: dict[str, str] = {}

    # -- setup ------------------------------------------------------------------------

    def provision_auditor(self) -> tuple[str, str]:
        from stack_auditor.emulator import provision_from_template

        auditor = provision_from_template(AUDITOR_TEMPLATE, self.session)
        queue_url = self.sqs.create_queue(QueueName="demo-alert-inbox")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.session.client("sns").subscribe(
            TopicArn=auditor.topic_arn, Protocol="sqs", Endpoint=queue_arn
        )
        self.queue_url = queue_url
        self.table_name = auditor.table_name
        return auditor.table_name, auditor.topic_arn

    def deploy(self, stack: str, template: Path, *, update: bool = False) -> str:
        kwargs: dict[str, Any] = {
            "StackName": stack,
            "TemplateBody": template.read_text(encoding="utf-8"),
            "Parameters": [{"ParameterKey": "EnvironmentSuffix", "ParameterValue": ENVIRONMENT}],
            "Capabilities": ["CAPABILITY_NAMED_IAM"],
        }
        if update:
            self.cfn.update_stack(**kwargs)
        else:
            tags = STACK_TAGS.get(stack, {})
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
            self.cfn.create_stack(**kwargs)
        described = self.cfn.describe_stacks(StackName=stack)["Stacks"][0]
        expected = "UPDATE_COMPLETE" if update else "CREATE_COMPLETE"
        if described["StackStatus"] != expected:
            raise RuntimeError(f"{stack}: {described['StackStatus']} (expected {expected})")
        # what moto's CloudFormation leaves out (role policies as JSON, stack tags on the
        # resources) is applied through the services' APIs, as CloudFormation would have
        from stack_auditor.collect.clients import Clients
        from stack_auditor.emulator_fixups import repair_deployment

        repair_deployment(Clients(self.session), stack)
        self.stack_ids[stack] = described["StackId"]
        return str(described["StackStatus"])

    def delete(self, stack: str) -> None:
        from stack_auditor.collect.clients import Clients
        from stack_auditor.emulator_fixups import prepare_deletion

        # moto's CloudFormation would fail on the role's managed policies (emulator_fixups)
        prepare_deletion(Clients(self.session), stack)
        self.cfn.delete_stack(StackName=stack)

    # -- one event through the real handler -------------------------------------------

    def send(self, handler: Any, stack: str, status: str) -> dict[str, Any]:
        summary = handler(stack_event(self.stack_ids[stack], status), DemoContext())
        if summary.get("status") not in ("audited", "deleted"):
            raise RuntimeError(f"{stack} {status}: handler answered {summary}")
        self.result.summaries.append(summary)
        return dict(summary)

    def sweep(self, handler: Any) -> dict[str, Any]:
        """One scheduled sweep through the sweep function: every stack of the account."""
        summary = handler(sweep_event(), DemoContext(function_name="stack-auditor-sweep"))
        if summary.get("status") != "swept" or summary.get("failed"):
            raise RuntimeError(f"sweep answered {summary}")
        self.result.sweeps.append(summary)
        return dict(summary)

    def set_point_in_time_recovery(self, stack: str, logical_id: str, enabled: bool) -> str:
        """Turn a table's point-in-time recovery on or off through the DynamoDB API, by hand:
        CloudFormation is not involved, so its template still says what it said."""
        table = self.cfn.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)[
            "StackResourceDetail"
        ]["PhysicalResourceId"]
        self.session.client("dynamodb").update_continuous_backups(
            TableName=table,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": enabled},
        )
        return str(table)

    def drain_alerts(self, stack: str, status: str) -> list[ReceivedAlert]:
        received = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                break
            for message in batch:
                envelope = json.loads(message["Body"])
                received.append(
                    ReceivedAlert(
                        stack, status, str(envelope.get("Subject", "")), envelope["Message"]
                    )
                )
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        self.result.alerts.extend(received)
        return received

    def stored_findings(self, stack: str) -> list[dict[str, Any]]:
        from stack_auditor.store import FindingsStore

        table = self.session.resource("dynamodb").Table(self.table_name)
        findings = FindingsStore(table).findings_for_stack(ACCOUNT, REGION, stack, consistent=True)
        return [f.to_dict() for f in findings]

    # -- printing ---------------------------------------------------------------------

    def show_stack(self, stack: str, status: str, summary: Mapping[str, Any]) -> None:
        from rich.rule import Rule
        from stack_auditor.output.table import print_report

        self.console.print()
        self.console.print(Rule(f"{stack}  {status}", align="left"))
        self.console.print(
            f"handler: {summary.get('status')} · new {summary.get('new', 0)} · "
            f"still open {summary.get('still_open', 0)} · resolved {summary.get('resolved', 0)}"
            f" · not checked {summary.get('unknown', 0)} · gaps {summary.get('gaps', 0)}",
            style="dim",
        )
        if status != "DELETE_COMPLETE":
            print_report(self.record_counts(stack), self.console)

    def record_counts(self, stack: str) -> Any:
        """The stack's stored OPEN and SUPPRESSED findings as a report; their counts recorded."""
        from stack_auditor.output.report import Report, sort_findings

        rows = [f for f in self.stored_findings(stack) if f["status"] in ("OPEN", "SUPPRESSED")]
        report = Report(template=None, stack_name=stack, findings=sort_findings(rows))
        counts = report.summary()["open_by_severity"]
        self.result.open_counts[stack] = {s: int(counts.get(s, 0)) for s in SEVERITIES}
        self.result.suppressed[stack] = len(report.suppressed)
        self.result.open_findings[stack] = {
            (f["rule_id"], f.get("logical_id")) for f in rows if f["status"] == "OPEN"
        }
        return report

    def show_drift(self, heading: str, done: str, summary: Mapping[str, Any]) -> None:
        """What one sweep made of the out-of-band change: the drifted finding as stored."""
        from rich.rule import Rule

        stack, logical_id, rule_id = DRIFTED
        self.console.print()
        self.console.print(Rule(f"{stack}  {heading}", align="left"))
        self.console.print(done)
        self.console.print(
            f"scheduled sweep (events/scheduled/sweep.json -> functions/sweep/sweep.py): "
            f"{summary.get('audited', 0)} stacks audited · new {summary.get('new', 0)} · "
            f"resolved {summary.get('resolved', 0)} · failed {summary.get('failed', 0)}",
            style="dim",
        )
        stored = next(
            f
            for f in self.stored_findings(stack)
            if (f["rule_id"], f.get("logical_id")) == (rule_id, logical_id)
        )
        self.result.drift.append(stored)
        evidence = stored.get("evidence") or {}
        if stored["status"] == "OPEN":
            self.console.print(
                f"{rule_id} on {logical_id}: OPEN, read {evidence.get('source')}: deployed "
                f"{evidence.get('value')!r}, template {evidence.get('template', '-')!r} (drift)"
            )
            self.console.print(f"  {stored['message']}", style="dim")
        else:
            self.console.print(f"{rule_id} on {logical_id}: {stored['status']}")
        self.record_counts(stack)

    def show_alerts(self, alerts: Sequence[ReceivedAlert]) -> None:
        from rich.padding import Padding
        from rich.text import Text

        if not alerts:
            self.console.print("no alert (nothing new at or above ALERT_MIN_SEVERITY)", style="dim")
        for alert in alerts:
            self.console.print()
            self.console.print(Text.assemble(("SNS alert", "bold"), f"  subject: {alert.subject}"))
            # The body exactly as an e-mail subscriber reads it, indented under its subject.
            self.console.print(Padding(Text(alert.body.rstrip()), (0, 0, 0, 2)))

    def show_summary(self) -> None:
        from rich import box
        from rich.table import Table

        table = Table(title="Open findings per sample stack", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("stack", no_wrap=True)
        for severity in SEVERITIES:
            table.add_column(
                severity[:4] if severity == "INFORMATIONAL" else severity, justify="right"
            )
        table.add_column("supp", justify="right")
        table.add_column("alerts", justify="right")
        for stack in SAMPLES:
            counts = self.result.open_counts.get(stack, {})
            table.add_row(
                stack,
                *(str(counts.get(s, 0)) for s in SEVERITIES),
                str(self.result.suppressed.get(stack, 0)),
                str(len(self.result.alerts_for(stack))),
            )
        self.console.print()
        self.console.print(table)
        self.console.print(
            f"counts: OPEN findings after each stack's last audit ({UPDATED} after its fix "
            f"and the drift undone; {DELETED} before its deletion resolved them)",
            style="dim",
        )


def run(console: Any) -> DemoResult:
    """The whole demo against a fresh moto server; returns what it saw."""
    started = time.monotonic()
    with (
        patched_env(DEMO_ENV),
        moto_server() as endpoint,
        patched_env({"AWS_ENDPOINT_URL": endpoint}),
    ):
        demo = Demo(console)
        table_name, topic_arn = demo.provision_auditor()
        console.print(f"moto server {endpoint} · findings table {table_name} · topic {topic_arn}")
        with patched_env({"FINDINGS_TABLE": table_name, "ALERT_TOPIC_ARN": topic_arn}):
            play(
                demo,
                load_handler_module().lambda_handler,
                load_handler_module(SWEEP_HANDLER).lambda_handler,
            )
    console.print(f"demo finished in {time.monotonic() - started:.1f} s", style="dim")
    return demo.result


def play(demo: Demo, handler: Any, sweep_handler: Any) -> None:
    """Deploy, change and delete the samples, one event through the handler per change."""
    for stack in SAMPLES:
        status = demo.deploy(stack, STACKS / f"{stack}.yaml")
        summary = demo.send(handler, stack, status)
        demo.show_stack(stack, status, summary)
        demo.show_alerts(demo.drain_alerts(stack, status))

    status = demo.deploy(UPDATED, STACKS / "updates" / f"{UPDATED}.yaml", update=True)
    summary = demo.send(handler, UPDATED, status)
    demo.show_stack(UPDATED, f"{status} (table access granted)", summary)
    demo.show_alerts(demo.drain_alerts(UPDATED, status))

    stack, logical_id, _ = DRIFTED
    table = demo.set_point_in_time_recovery(stack, logical_id, enabled=False)
    demo.show_drift(
        "out-of-band change",
        f"point-in-time recovery of table {table} turned off by hand (DynamoDB "
        "UpdateContinuousBackups), not through CloudFormation",
        demo.sweep(sweep_handler),
    )
    demo.show_alerts(demo.drain_alerts(stack, "SWEEP"))
    demo.set_point_in_time_recovery(stack, logical_id, enabled=True)
    demo.show_drift(
        "change undone",
        f"point-in-time recovery of table {table} turned back on by hand",
        demo.sweep(sweep_handler),
    )
    demo.show_alerts(demo.drain_alerts(stack, "SWEEP"))

    demo.delete(DELETED)
    summary = demo.send(handler, DELETED, "DELETE_COMPLETE")
    demo.show_stack(DELETED, "DELETE_COMPLETE", summary)
    demo.show_alerts(demo.drain_alerts(DELETED, "DELETE_COMPLETE"))

    demo.show_summary()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--width", type=int, help="output width (default: the terminal's)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "layers" / "engine"))  # when run without the editable install
    from stack_auditor.output.table import make_console

    run(make_console(width=args.width))
    return 0


if __name__ == "__main__":
    sys.exit(main())

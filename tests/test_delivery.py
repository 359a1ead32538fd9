"""At-least-once delivery and load: the real handler against a moto server (issue 6).

EventBridge delivers an event at least once, retries failed invocations, and gives no order
between a stack's events. Whatever the delivery, a deployment is audited once (one stored
audit with outcome "audited"), each new finding is alerted once, nothing is lost.

- the same event delivered 2 and 5 times in a row, and 5 times at once (the copies that find
  the first one in progress raise, as Lambda would, and are retried);
- (a stack's events out of order are in tests/test_audit_pipeline.py: moto never sets a
  stack's LastUpdatedTime, which the ordering reads, so that test adds it to the response);
- load: ``LOAD_EVENTS`` events (default 40 here; ``LOAD_EVENTS=200`` for the full-size run,
  see the README) fired at once on ``LOAD_THREADS`` threads (default 16), one stack per two
  events (every event delivered twice), every stack deployed from the same template so each
  must end with the same findings. The figures (events, stacks, wall time, throughput,
  retries) are written to ``benchmarks/results/load.json`` when ``LOAD_RESULTS`` names a file.

The moto server is a real HTTP endpoint: the handler's boto3 clients reach it through
AWS_ENDPOINT_URL, as in the sam local test.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from lambda_world import Context, load_handler, named_queue_stack, stack_event
from moto.server import ThreadedMotoServer
from sample_stacks import BROKEN_PAYMENTS
from stack_auditor.collect.clients import Clients
from stack_auditor.emulator import provision_from_template
from stack_auditor.emulator_fixups import repair_deployment

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
ACCOUNT = "123456789012"
LOAD_EVENTS = int(os.environ.get("LOAD_EVENTS", "40"))
LOAD_THREADS = int(os.environ.get("LOAD_THREADS", "16"))


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class World:
    session: boto3.session.Session
    handler: Callable[[Any, Any], Any]
    table: Any
    queue_url: str

    def deploy(self, name: str, template: dict[str, Any], *, update: bool = False) -> str:
        cfn = self.session.client("cloudformation")
        body = json.dumps(template)
        if update:
            stack_id = cfn.update_stack(StackName=name, TemplateBody=body)["StackId"]
        else:
            stack_id = cfn.create_stack(StackName=name, TemplateBody=body)["StackId"]
        # moto stores role inline policies as Python text (emulator_fixups)
        repair_deployment(Clients(self.session), name, account=ACCOUNT, region=REGION)
        return str(stack_id)

    def items(self, stack: str, prefix: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": {
                ":p": f"STACK#{ACCOUNT}#{REGION}#{stack}",
                ":s": prefix,
            },
        }
        while True:
            page = self.table.query(**kwargs)
            found.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def audits(self, stack: str) -> list[dict[str, Any]]:
        return [i for i in self.items(stack, "AUDIT#") if i.get("outcome") == "ok"]

    def findings(self, stack: str) -> dict[tuple[str, str | None], str]:
        return {
            (i["rule_id"], i.get("logical_id")): i["status"] for i in self.items(stack, "FINDING#")
        }

    def alerts(self) -> list[dict[str, Any]]:
        sqs = self.session.client("sqs")
        received: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = got.get("Messages", [])
            if not messages:
                return received
            for message in messages:
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def deliver(self, event: dict[str, Any], retries: list[int] | None = None) -> dict[str, Any]:
        """One delivery, retried the way Lambda retries an invocation that raised because a
        copy of the same event is still being audited."""
        for attempt in range(60):
            try:
                return dict(self.handler(event, Context()))
            except IdempotencyAlreadyInProgressError:
                if retries is not None:
                    retries.append(1)
                time.sleep(0.2 + 0.05 * attempt)
        raise AssertionError("a duplicate stayed in progress for too long")


@pytest.fixture
def world(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> World:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    for key, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": "stack-auditor",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "StackAuditor",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("ALERT_MIN_SEVERITY", "REQUIRED_TAGS", "MEMBER_ACCOUNT_IDS", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    session = boto3.session.Session(region_name=REGION)
    provisioned = provision_from_template(
        ROOT / "template.yaml", session, names={"FindingsTable": "findings"}
    )
    sqs = session.client("sqs")
    queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    session.client("sns").subscribe(
        TopicArn=provisioned.topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "false"},
    )
    monkeypatch.setenv("FINDINGS_TABLE", provisioned.table_name)
    monkeypatch.setenv("ALERT_TOPIC_ARN", provisioned.topic_arn)
    module: ModuleType = load_handler("functions/audit/app.py", f"audit_app_delivery_{id(session)}")
    return World(
        session,
        module.lambda_handler,
        session.resource("dynamodb").Table(provisioned.table_name),
        queue_url,
    )


def _event(relative: str, stack_id: str, event_id: str) -> dict[str, Any]:
    event = stack_event(relative, stack_id)
    event["id"] = event_id
    # after the deployment, in whole seconds, as CloudFormation stamps its events
    event["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


@pytest.mark.parametrize("copies", [2, 5])
def test_the_same_event_delivered_again_and_again_is_audited_and_alerted_once(
    world: World, copies: int
) -> None:
    stack_id = world.deploy("payments", BROKEN_PAYMENTS)
    event = _event("create_complete.json", stack_id, "evt-create-1")
    summaries = [world.deliver(event) for _ in range(copies)]

    assert summaries[0]["status"] == "audited" and summaries[0]["new"] >= 2
    assert all(s == summaries[0] for s in summaries[1:])  # the stored first result
    assert len(world.audits("payments")) == 1
    assert len(world.alerts()) == 1
    assert ("iam-admin-access", "PaymentsRole") in world.findings("payments")


def test_copies_delivered_at_once_audit_once_and_the_rest_return_its_result(
    world: World,
) -> None:
    stack_id = world.deploy("payments", BROKEN_PAYMENTS)
    event = _event("create_complete.json", stack_id, "evt-create-2")
    retries: list[int] = []
    with ThreadPoolExecutor(max_workers=5) as pool:
        summaries = list(pool.map(lambda _: world.deliver(event, retries), range(5)))

    assert {s["status"] for s in summaries} == {"audited"}
    assert all(s == summaries[0] for s in summaries)
    assert len(world.audits("payments")) == 1
    assert len(world.alerts()) == 1


def test_load_every_event_stored_once_nothing_lost_or_duplicated(world: World) -> None:
    stacks = max(1, LOAD_EVENTS // 2)
    names = [f"load-{i:03d}" for i in range(stacks)]
    template = named_queue_stack(BROKEN_PAYMENTS)
    events = []
    for i, name in enumerate(names):
        stack_id = world.deploy(name, template)
        event = _event("create_complete.json", stack_id, f"evt-load-{i}")
        events += [event, event]  # every event delivered twice
    events = events[:LOAD_EVENTS]
    retries: list[int] = []
    start = time.perf_counter()
    lock = threading.Lock()
    summaries: list[dict[str, Any]] = []

    def fire(event: dict[str, Any]) -> None:
        summary = world.deliver(event, retries)
        with lock:
            summaries.append(summary)

    with ThreadPoolExecutor(max_workers=LOAD_THREADS) as pool:
        list(pool.map(fire, events))
    seconds = time.perf_counter() - start

    expected = world.findings(names[0])
    assert ("iam-admin-access", "PaymentsRole") in expected
    audited = {name for name in names if world.audits(name)}
    assert audited == set(names)  # every audit stored
    for name in names:
        assert len(world.audits(name)) == 1, name  # none twice
        assert world.findings(name) == expected, name  # none lost, none extra
    alerts = world.alerts()
    assert sorted(a["Subject"].split(": ")[0].split("] ")[1] for a in alerts) == sorted(names)
    figures = {
        "events": len(events),
        "stacks": stacks,
        "threads": LOAD_THREADS,
        "seconds": round(seconds, 2),
        "events_per_second": round(len(events) / seconds, 2),
        "audits_per_second": round(stacks / seconds, 2),
        "in_progress_retries": len(retries),
        "alerts": len(alerts),
        "findings_per_stack": len(expected),
    }
    print("load figures:", json.dumps(figures))
    results = os.environ.get("LOAD_RESULTS")
    if results:
        Path(results).parent.mkdir(parents=True, exist_ok=True)
        Path(results).write_text(json.dumps(figures, indent=2) + "\n")

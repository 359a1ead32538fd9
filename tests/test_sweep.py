"""The scheduled sweep: the sweep function, fed events/scheduled/sweep.json, audits every
deployed stack of the swept accounts (moto, in-process), a bounded number at a time; one
failure never stops it, and the template's schedule sends exactly that event."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from lambda_world import (
    AUDITOR,
    EVENTS,
    MEMBER,
    REGION,
    ROOT,
    Auditor,
    Context,
    deploy,
    load_handler,
    member_session,
    named_queue_stack,
    provision_auditor,
)
from moto import mock_aws
from sample_stacks import BROKEN_PAYMENTS
from stack_auditor.audit import run_audit
from stack_auditor.collect.clients import Clients
from stack_auditor.config import AuditConfig
from stack_auditor.model import StackRef
from stack_auditor.sweep import (
    SWEEP_WORKERS,
    SweepEventError,
    SweepRequest,
    parse_sweep_event,
    run_sweep,
)
from stack_auditor.template.loader import load_template_file

SWEEP_EVENT = json.loads((EVENTS / "scheduled" / "sweep.json").read_text())
STACKS = ("sweep-a", "sweep-b", "sweep-c")
TEMPLATE = named_queue_stack(BROKEN_PAYMENTS)


@pytest.fixture
def auditor(monkeypatch: pytest.MonkeyPatch) -> Iterator[Auditor]:
    with mock_aws():
        yield provision_auditor(monkeypatch)


@pytest.fixture
def sweep(auditor: Auditor) -> ModuleType:
    return load_handler("functions/sweep/sweep.py", "sweep_app")


def deploy_stacks(session: boto3.session.Session, names: tuple[str, ...] = STACKS) -> None:
    for name in names:
        deploy(session, name, TEMPLATE)


def deny(operation: str, when: Any = lambda params: True) -> Any:
    def raise_denied(params: dict[str, Any], **_: Any) -> None:
        if when(params):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, operation)

    return raise_denied


def test_sweep_event_audits_every_deployed_stack(sweep: ModuleType, auditor: Auditor) -> None:
    deploy_stacks(auditor.session)
    # A deleted stack is not swept: its DELETE_COMPLETE event resolved it.
    deploy(auditor.session, "sweep-deleted", TEMPLATE)
    auditor.session.client("cloudformation").delete_stack(StackName="sweep-deleted")

    summary = sweep.lambda_handler(SWEEP_EVENT, Context())

    assert {k: summary[k] for k in ("status", "accounts", "stacks", "audited", "failed")} == {
        "status": "swept",
        "accounts": [AUDITOR],
        "stacks": 3,
        "audited": 3,
        "failed": 0,
    }
    assert (summary["skipped"], summary["failed_accounts"], summary["failures"]) == (0, 0, [])
    assert summary["new"] == sum(len(auditor.findings(s)) for s in STACKS)
    for stack in STACKS:
        (audit,) = auditor.items(stack, "AUDIT#")
        assert (audit["trigger"], audit["outcome"]) == ("sweep", "ok")
        assert audit["audit_id"] == SWEEP_EVENT["id"]
        assert ("iam-admin-access", "PaymentsRole") in auditor.findings(stack)
    assert auditor.items("sweep-deleted", "AUDIT#") == []


def test_one_failed_stack_does_not_stop_the_sweep(sweep: ModuleType, auditor: Auditor) -> None:
    deploy_stacks(auditor.session)
    cfn = sweep._clients()["accounts"].own_clients(REGION)("cloudformation")
    cfn.meta.events.register(
        "before-parameter-build.cloudformation.GetTemplate",
        deny("GetTemplate", lambda params: "sweep-b" in params["StackName"]),
    )

    summary = sweep.lambda_handler(SWEEP_EVENT, Context())

    assert (summary["stacks"], summary["audited"], summary["failed"]) == (3, 2, 1)
    (failure,) = summary["failures"]
    assert (failure["account"], failure["stack"]) == (AUDITOR, "sweep-b")
    assert "GetTemplate failed: AccessDenied" in failure["reason"]
    (record,) = auditor.items("sweep-b", "AUDIT#")
    assert (record["trigger"], record["outcome"]) == ("sweep", "failed")
    assert auditor.findings("sweep-b") == {}
    assert all(auditor.findings(s) for s in ("sweep-a", "sweep-c"))


def test_stacks_left_when_time_runs_out_are_skipped_and_named(
    sweep: ModuleType, auditor: Auditor
) -> None:
    deploy_stacks(auditor.session)
    summary = sweep.lambda_handler(SWEEP_EVENT, Context(remaining_millis=30_000))
    assert (summary["stacks"], summary["audited"], summary["skipped"]) == (3, 0, 3)
    assert sorted(summary["skipped_stacks"]) == [f"{AUDITOR}/{s}" for s in STACKS]
    assert all(auditor.items(s, "AUDIT#") == [] for s in STACKS)


def test_member_accounts_are_swept_through_their_role(
    sweep: ModuleType, auditor: Auditor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMBER_ACCOUNT_IDS", f" {MEMBER} ,")
    deploy_stacks(auditor.session, ("own-stack",))
    deploy_stacks(member_session(), ("member-stack",))

    summary = sweep.lambda_handler(SWEEP_EVENT, Context())

    assert summary["accounts"] == [AUDITOR, MEMBER]
    assert (summary["stacks"], summary["audited"], summary["failed"]) == (2, 2, 0)
    assert ("iam-admin-access", "PaymentsRole") in auditor.findings("own-stack")
    assert ("iam-admin-access", "PaymentsRole") in auditor.findings("member-stack", MEMBER)
    assert auditor.findings("member-stack", AUDITOR) == {}


def test_an_unreachable_member_account_is_counted_and_the_rest_swept(
    sweep: ModuleType, auditor: Auditor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMBER_ACCOUNT_IDS", MEMBER)
    deploy_stacks(auditor.session, ("own-stack",))
    sts = sweep._clients()["accounts"].own_clients(REGION)("sts")
    sts.meta.events.register("before-parameter-build.sts.AssumeRole", deny("AssumeRole"))

    summary = sweep.lambda_handler(SWEEP_EVENT, Context())

    assert (summary["audited"], summary["failed_accounts"]) == (1, 1)
    (failure,) = summary["failures"]
    assert (failure["account"], failure["stack"]) == (MEMBER, None)
    assert "MemberAccessError: cannot assume" in failure["reason"]


def test_the_event_names_the_accounts_to_sweep(sweep: ModuleType, auditor: Auditor) -> None:
    deploy_stacks(member_session(), ("member-stack",))
    summary = sweep.lambda_handler({**SWEEP_EVENT, "accounts": [MEMBER]}, Context())
    assert (summary["accounts"], summary["audited"]) == ([MEMBER], 1)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"source": "aws.cloudformation"}, "not a sweep request (source='aws.cloudformation')"),
        ([], "event is not a JSON object but list"),
        ({**SWEEP_EVENT, "time": "yesterday"}, "time is not ISO 8601: 'yesterday'"),
        ({**SWEEP_EVENT, "accounts": ["12"]}, "accounts must be a list of 12-digit account ids"),
    ],
)
def test_other_events_are_rejected_not_raised(
    sweep: ModuleType, auditor: Auditor, event: Any, reason: str
) -> None:
    summary = sweep.lambda_handler(event, Context())
    assert summary["status"] == "rejected" and summary["reason"].startswith(reason)


def test_concurrency_is_bounded(auditor: Auditor) -> None:
    names = tuple(f"bounded-{i}" for i in range(SWEEP_WORKERS * 2))
    deploy_stacks(auditor.session, names)
    lock, running, peak = threading.Lock(), [0], [0]

    def audit(ref: StackRef, clients: Clients) -> Any:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            return run_audit(
                ref,
                cfn_client=clients("cloudformation"),
                store=None,
                sns_client=None,
                topic_arn=None,
                config=AuditConfig(),
                clients=clients,
            )
        finally:
            with lock:
                running[0] -= 1

    result = run_sweep(
        SweepRequest(sweep_id="s-1"),
        accounts=[AUDITOR],
        region=REGION,
        clients_for=lambda account: Clients(region=REGION),
        audit=audit,
        record_failure=lambda ref, reason: pytest.fail(f"{ref.stack_name}: {reason}"),
    )
    assert result.count("audited") == len(names)
    assert 1 < peak[0] <= SWEEP_WORKERS


def test_an_unexpected_error_is_recorded_on_the_stacks_history(auditor: Auditor) -> None:
    deploy_stacks(auditor.session, ("fine", "broken"))
    recorded: list[tuple[str, str]] = []

    def audit(ref: StackRef, clients: Clients) -> Any:
        if ref.stack_name == "broken":
            raise RuntimeError("the findings table is gone")
        return run_audit(
            ref,
            cfn_client=clients("cloudformation"),
            store=None,
            sns_client=None,
            topic_arn=None,
            config=AuditConfig(),
        )

    result = run_sweep(
        SweepRequest(sweep_id="s-2"),
        accounts=[AUDITOR],
        region=REGION,
        clients_for=lambda account: Clients(region=REGION),
        audit=audit,
        record_failure=lambda ref, reason: recorded.append((ref.stack_name, reason)),
    )
    assert {(s.stack, s.status) for s in result.stacks} == {
        ("fine", "audited"),
        ("broken", "failed"),
    }
    assert recorded == [("broken", "sweep audit failed: RuntimeError: the findings table is gone")]


def test_the_schedule_sends_the_sweep_event() -> None:
    template = load_template_file(ROOT / "template.yaml").data
    schedule = template["Resources"]["ScheduledSweep"]
    assert schedule["Type"] == "AWS::Scheduler::Schedule"
    assert schedule["Condition"] == "HasSweepSchedule"
    target = schedule["Properties"]["Target"]
    assert target["Arn"] == {"Fn::GetAtt": ["SweepFunction", "Arn"]}
    assert schedule["Properties"]["ScheduleExpression"] == {"Ref": "SweepSchedule"}
    assert template["Parameters"]["SweepSchedule"]["Default"] == "rate(1 day)"
    # The Scheduler fills in its context attributes; the result is events/scheduled/sweep.json.
    sent = (
        target["Input"]
        .replace("<aws.scheduler.execution-id>", SWEEP_EVENT["id"])
        .replace("<aws.scheduler.scheduled-time>", SWEEP_EVENT["time"])
    )
    assert json.loads(sent) == SWEEP_EVENT
    assert parse_sweep_event(SWEEP_EVENT) == SweepRequest(SWEEP_EVENT["id"], SWEEP_EVENT["time"])
    with pytest.raises(SweepEventError):
        parse_sweep_event({**SWEEP_EVENT, "source": "stack-auditor"})

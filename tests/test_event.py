"""parse_event on the events/ files (the ones `sam local invoke -e` uses) and on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stack_auditor.event import (
    AUDITED_STATUSES,
    SOURCE,
    EventAction,
    parse_event,
    parse_stack_arn,
)

EVENTS = Path(__file__).resolve().parents[1] / "events"
STACK_ARN = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/sample-payments/"
    "5f1c3a50-2f4e-11ef-9f2b-0a1b2c3d4e5f"
)


def load(name: str) -> object:
    return json.loads((EVENTS / name).read_text())


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda p: p.stem)
def test_every_event_file_is_audited(path: Path) -> None:
    parsed = parse_event(json.loads(path.read_text()))
    assert parsed.action is EventAction.AUDIT, parsed.reason
    ref = parsed.ref
    assert ref is not None
    assert (ref.stack_name, ref.account, ref.region) == (
        "sample-payments",
        "123456789012",
        "us-east-1",
    )
    assert ref.stack_id == STACK_ARN
    assert ref.trigger == "event"
    assert ref.status == path.stem.upper()
    assert ref.event_id and ref.event_time


def test_all_audited_statuses_have_an_event_file() -> None:
    assert {p.stem.upper() for p in EVENTS.glob("*.json")} == AUDITED_STATUSES


def test_client_request_token_is_optional() -> None:
    with_token = parse_event(load("create_complete.json"))
    without = parse_event(load("update_complete.json"))
    assert with_token.ref is not None and without.ref is not None
    assert with_token.ref.client_request_token == (
        "Console-CreateStack-7f59c3cf-00d2-40c7-b2ff-e75db0987002"
    )
    assert without.ref.client_request_token is None
    assert without.action is EventAction.AUDIT


def test_status_reason_is_kept_for_logs() -> None:
    parsed = parse_event(load("update_rollback_complete.json"))
    assert parsed.status_reason is not None and "PaymentsQueue" in parsed.status_reason


def test_delete_is_flagged() -> None:
    assert parse_event(load("delete_complete.json")).is_delete
    assert not parse_event(load("create_complete.json")).is_delete


def test_unaudited_status_is_ignored_not_rejected() -> None:
    parsed = parse_event(load("ignored/create_in_progress.json"))
    assert parsed.action is EventAction.IGNORE
    assert "CREATE_IN_PROGRESS" in parsed.reason
    assert parsed.ref is not None and parsed.ref.stack_name == "sample-payments"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("wrong_source", "not a CloudFormation stack status change"),
        ("wrong_detail_type", "not a CloudFormation stack status change"),
        ("missing_stack_id", "stack-id is missing"),
        ("bad_stack_arn", "not a stack ARN"),
        ("account_mismatch", "differs from the stack ARN"),
        ("missing_status", "status-details is missing"),
        ("not_an_object", "not a JSON object"),
    ],
)
def test_malformed_events_are_rejected_with_a_reason(name: str, reason: str) -> None:
    parsed = parse_event(load(f"malformed/{name}.json"))
    assert parsed.action is EventAction.REJECT
    assert reason in parsed.reason
    assert parsed.ref is None


@pytest.mark.parametrize("raw", [None, "CREATE_COMPLETE", 42, [], {}, {"source": SOURCE}])
def test_non_events_are_rejected(raw: object) -> None:
    assert parse_event(raw).action is EventAction.REJECT


def test_region_mismatch_is_rejected() -> None:
    raw = load("create_complete.json")
    assert isinstance(raw, dict)
    raw["region"] = "eu-west-1"
    parsed = parse_event(raw)
    assert parsed.action is EventAction.REJECT
    assert "region" in parsed.reason


def test_detail_with_wrong_types_is_rejected() -> None:
    raw = load("create_complete.json")
    assert isinstance(raw, dict)
    raw["detail"]["status-details"] = "CREATE_COMPLETE"
    assert parse_event(raw).action is EventAction.REJECT
    raw["detail"] = ["x"]
    assert parse_event(raw).action is EventAction.REJECT


def test_bad_time_is_rejected() -> None:
    raw = load("create_complete.json")
    assert isinstance(raw, dict)
    raw["time"] = "yesterday"
    assert parse_event(raw).action is EventAction.REJECT


def test_other_partitions_parse() -> None:
    arn = parse_stack_arn(
        "arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/a-b/"
        "5f1c3a50-2f4e-11ef-9f2b-0a1b2c3d4e5f"
    )
    assert arn is not None
    assert (arn.partition, arn.region, arn.name) == ("aws-us-gov", "us-gov-west-1", "a-b")
    assert parse_stack_arn("arn:aws:cloudformation:us-east-1:123:stack/a/b") is None

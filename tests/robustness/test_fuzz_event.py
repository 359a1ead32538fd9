"""Fuzz the event parser: every input gets a well-formed answer, never an exception.

Valid events (every stack name, account, region and status CloudFormation allows) are audited
or ignored exactly by status; mutated ones and non-events are rejected with one printable line
of a known class, or, when the mutation left the event valid, parsed into a StackRef whose
fields are strictly what CloudFormation produces (ASCII ARN, 12 ASCII digits, bounded ids).
"""

from __future__ import annotations

import re
import time
from typing import Any

import fuzz_events
import fuzz_stats
from hypothesis import given
from stack_auditor.event import (
    AUDITED_STATUSES,
    EventAction,
    ParsedEvent,
    parse_event,
    parse_stack_arn,
)

MAX_SECONDS = 0.5  # per event; the slowest seen is a few milliseconds
REASON_CLASSES = (
    (r"^event is not a JSON object", "not an object"),
    (r"^event has no '[\w-]+' field", "missing field"),
    (r"^not a CloudFormation stack status change", "not a stack status change"),
    (r"^detail is missing or not an object", "detail not an object"),
    (r"^detail\.stack-id is missing", "stack-id missing"),
    (r"^detail\.stack-id is not a stack ARN", "stack-id not an ARN"),
    (r"^event (account|region) .* differs from the stack ARN", "account/region mismatch"),
    (r"^detail\.status-details is missing", "status-details missing"),
    (r"^detail\.status-details\.status is missing", "status missing"),
    (r"^detail\.status-details\.status is not a stack status", "status malformed"),
    (r"^event time is not ISO 8601", "time malformed"),
    (r"is longer than \d+ characters$", "id too long"),
)
_ASCII_STATUS = re.compile(r"[A-Z_]{1,64}", re.ASCII)


def one_line(text: str) -> bool:
    return len(text.splitlines()) <= 1 and text.isprintable()


def check_answer(parsed: ParsedEvent, raw: Any) -> str:
    """Assert the answer is well formed; returns the rejection reason class ("" otherwise)."""
    assert isinstance(parsed, ParsedEvent)
    assert one_line(parsed.reason) and len(parsed.reason) <= 300, parsed.reason
    if parsed.action is EventAction.REJECT:
        assert parsed.ref is None and parsed.reason
        reason_class = fuzz_stats.classify(parsed.reason, REASON_CLASSES)
        assert reason_class is not None, f"unclassified rejection: {parsed.reason!r}"
        return reason_class
    ref = parsed.ref
    assert ref is not None
    arn = parse_stack_arn(ref.stack_id or "")
    assert arn is not None and ref.stack_id == raw["detail"]["stack-id"]
    assert ref.stack_id.isascii() and "\n" not in ref.stack_id
    assert (ref.stack_name, ref.account, ref.region) == (arn.name, arn.account, arn.region)
    assert ref.account.isascii() and ref.account.isdigit()
    assert ref.status is not None and _ASCII_STATUS.fullmatch(ref.status)
    assert (parsed.action is EventAction.AUDIT) == (ref.status in AUDITED_STATUSES)
    for value in (ref.event_id, ref.client_request_token):
        assert value is None or len(value) <= 128
    assert parsed.status_reason is None or len(parsed.status_reason) <= 1000
    return ""


@fuzz_stats.fuzz_settings("event")
@given(fuzz_events.cases)
def test_every_event_gets_a_well_formed_answer(case: tuple[str, Any, EventAction | None]) -> None:
    family, raw, expected = case
    started = time.perf_counter()
    parsed = parse_event(raw)
    seconds = time.perf_counter() - started
    reason_class = check_answer(parsed, raw)
    if expected is not None:
        assert parsed.action is expected, parsed.reason
    assert seconds < MAX_SECONDS
    fuzz_stats.target("event").record(family, parsed.action.value, seconds, reason_class)

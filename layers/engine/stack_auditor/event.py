"""Parse an EventBridge "CloudFormation Stack Status Change" event into a StackRef.

The result says what to do: audit the stack, ignore the event (a status we do not audit),
or reject it (malformed: it would fail the same way on every retry, so the handler logs the
reason and returns normally instead of raising).

Every field that reaches the audit is checked for shape and length, not only presence: the
event id becomes the audit's key in DynamoDB and the names end up in alerts. Reasons are one
line of at most ``_MAX_REASON`` characters, whatever the event held.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from stack_auditor.model import StackRef

SOURCE = "aws.cloudformation"
DETAIL_TYPE = "CloudFormation Stack Status Change"
AUDITED_STATUSES = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "IMPORT_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "DELETE_COMPLETE",
    }
)
DELETED_STATUS = "DELETE_COMPLETE"

# arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<uuid>
# ASCII: without it \d accepts any script's digits ("١٢٣..." as an account id).
_STACK_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):cloudformation:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):"
    r"(?P<account>\d{12}):stack/(?P<name>[A-Za-z][A-Za-z0-9-]{0,127})/(?P<uuid>[0-9a-fA-F-]{36})",
    re.ASCII,
)
_STATUS = re.compile(r"[A-Z_]{1,64}", re.ASCII)
# EventBridge ids are UUIDs; ClientRequestToken is at most 128 characters in CloudFormation.
_MAX_ID = 128
_MAX_STATUS_REASON = 1000  # only logged
_MAX_REASON = 300


class EventAction(enum.StrEnum):
    AUDIT = "audit"
    IGNORE = "ignore"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class ParsedEvent:
    action: EventAction
    ref: StackRef | None = None  # set for AUDIT and IGNORE (when the stack is known)
    reason: str = ""  # why ignored / rejected
    status_reason: str | None = None  # CloudFormation's status-reason, for the logs

    @property
    def is_delete(self) -> bool:
        return self.ref is not None and self.ref.status == DELETED_STATUS


@dataclass(frozen=True, slots=True)
class StackArn:
    partition: str
    region: str
    account: str
    name: str
    uuid: str


def parse_stack_arn(value: str) -> StackArn | None:
    match = _STACK_ARN.fullmatch(value)
    if match is None:
        return None
    return StackArn(**match.groupdict())


def _reject(reason: str) -> ParsedEvent:
    line = " ".join(reason.split())  # repr() already escapes, this is belt and braces
    return ParsedEvent(EventAction.REJECT, reason=line[:_MAX_REASON])


def _shown(value: str) -> str:
    """A bad value quoted in a reason: repr'd (escapes, quotes) and cut short.

    The repr is cut, not the value: 60 characters of another script can escape to 600.
    """
    text = repr(value[:80])
    return text if len(text) <= 60 and len(value) <= 80 else text[:57] + "..."


def _text(mapping: Mapping[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _iso_time(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value


def parse_event(raw: Any) -> ParsedEvent:
    """Audit, ignore or reject one event; never raises on bad input."""
    if not isinstance(raw, Mapping):
        return _reject(f"event is not a JSON object but {type(raw).__name__}")
    event = EventBridgeEvent(dict(raw))
    try:
        source, detail_type, detail = event.source, event.detail_type, event.detail
    except KeyError as missing:
        return _reject(f"event has no {missing.args[0]!r} field")
    if source != SOURCE or detail_type != DETAIL_TYPE:
        return _reject(
            f"not a CloudFormation stack status change (source={_shown(str(source))}, "
            f"detail-type={_shown(str(detail_type))})"
        )
    if not isinstance(detail, Mapping):
        return _reject("detail is missing or not an object")
    stack_id = _text(detail, "stack-id")
    if stack_id is None:
        return _reject("detail.stack-id is missing")
    arn = parse_stack_arn(stack_id)
    if arn is None:
        return _reject(f"detail.stack-id is not a stack ARN: {_shown(stack_id)}")
    account, region = _text(event, "account"), _text(event, "region")
    if account is not None and account != arn.account:
        return _reject(
            f"event account {_shown(account)} differs from the stack ARN's {arn.account!r}"
        )
    if region is not None and region != arn.region:
        return _reject(f"event region {_shown(region)} differs from the stack ARN's {arn.region!r}")
    status_details = detail.get("status-details")
    if not isinstance(status_details, Mapping):
        return _reject("detail.status-details is missing or not an object")
    status = _text(status_details, "status")
    if status is None:
        return _reject("detail.status-details.status is missing")
    if not _STATUS.fullmatch(status):
        return _reject(f"detail.status-details.status is not a stack status: {_shown(status)}")
    event_time = _text(event, "time")
    if event_time is not None and _iso_time(event_time) is None:
        return _reject(f"event time is not ISO 8601: {_shown(event_time)}")
    event_id, token = _text(event, "id"), _text(detail, "client-request-token")
    for field_name, value in (("event id", event_id), ("detail.client-request-token", token)):
        if value is not None and len(value) > _MAX_ID:
            return _reject(f"{field_name} is longer than {_MAX_ID} characters")

    ref = StackRef(
        stack_name=arn.name,
        account=arn.account,
        region=arn.region,
        stack_id=stack_id,
        status=status,
        trigger="event",
        event_id=event_id,
        event_time=event_time,
        client_request_token=token,
    )
    status_reason = _text(status_details, "status-reason")
    if status_reason is not None:
        status_reason = status_reason[:_MAX_STATUS_REASON]
    if status not in AUDITED_STATUSES:
        return ParsedEvent(
            EventAction.IGNORE,
            ref=ref,
            reason=f"status {status} is not audited",
            status_reason=status_reason,
        )
    return ParsedEvent(EventAction.AUDIT, ref=ref, status_reason=status_reason)

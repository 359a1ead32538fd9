"""Build and publish the one SNS alert an audit sends, and only when something changed.

Everything in the message that came from the audited stack (names, messages, evidence) is
untrusted: a stack author controls it, and subscribers forward alerts to mail, chat and
ticketing tools that render markup. So each such field becomes one visible line
(``untrusted.one_line``: no control, bidi or zero-width characters, no line breaks, capped),
and the characters of markup, links and mentions are replaced by look-alikes that render the
same but do not parse: ``<`` ``>`` (HTML, Slack ``<!here>`` and ``<url|text>``, Teams
``<at>``), a backtick, ``](`` (Markdown links and images) and an ``@`` that starts a word
(``@channel``, ``@here``, ``@everyone``, Mattermost's ``@user``; an e-mail address keeps its
``@``). Identifiers keep only the characters identifiers use. The subject is printable ASCII
without line breaks, under 100 characters, as SNS requires.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stack_auditor.findings import Finding
from stack_auditor.model import FindingStatus, Severity, StackRef
from stack_auditor.store import AuditChanges
from stack_auditor.untrusted import one_line

SUBJECT_LIMIT = 99  # SNS: ASCII, no line breaks, "less than 100 characters long"
BODY_LIMIT = 200_000  # SNS allows 256 KiB; leave room for attributes and envelope
FIELD_LIMIT = 400
MAX_LISTED = 50  # per section; the rest is counted

# An @ opening a word notifies someone in some chat tools; one inside a word is an address.
_MENTION = re.compile(r"(?<!\w)@(?=\w)")
# Markup characters -> typographic look-alikes (brackets stay: property paths use them).
_NEUTRAL = str.maketrans(
    {
        "<": "\u2039",  # single angle quotation mark
        ">": "\u203a",  # single angle quotation mark
        "`": "\u02cb",  # modifier grave accent
    }
)


@dataclass(frozen=True, slots=True)
class Alert:
    subject: str
    message: str
    attributes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    new: tuple[Finding, ...] = ()
    resolved: tuple[Finding, ...] = ()
    highest_severity: Severity | None = None


def clean(text: Any, limit: int = FIELD_LIMIT) -> str:
    """Untrusted text -> one safe line: no control characters, no live markup, capped."""
    # NFKC first: it folds full-width look-alikes (U+FF1C, U+FF20) into what the filters catch.
    value = unicodedata.normalize("NFKC", str(text)[: limit * 4 + 16])
    value = one_line(value, limit * 2)
    value = value.translate(_NEUTRAL).replace("](", "] (")  # no [text](url) links
    value = _MENTION.sub("\uff20", value)  # a full-width at sign notifies nobody
    return one_line(value, limit)


def _safe_id(text: Any, limit: int = 128) -> str:
    """Identifiers (rule ids, logical ids): keep the characters they legitimately use."""
    value = re.sub(r"[^A-Za-z0-9_.:/#+=,-]", "?", str(text))
    return value[:limit]


def _ascii(text: str) -> str:
    """SNS subjects: printable ASCII only."""
    value = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in value if 32 <= ord(ch) < 127)


def _stack_name(text: str) -> str:
    """The characters CloudFormation allows in a stack name, nothing else (subject, attribute)."""
    return re.sub(r"[^A-Za-z0-9-]", "", _ascii(text))


def _subject(stack_name: str, top: Severity | None, new: int, resolved: int) -> str:
    parts = []
    if new:
        parts.append(f"{new} new finding{'s' if new != 1 else ''}")
    if resolved:
        parts.append(f"{resolved} resolved")
    label = top.value if top else "RESOLVED"
    counts = ", ".join(parts)
    fixed = f"[{label}] : {counts}"
    name = _stack_name(stack_name)[: SUBJECT_LIMIT - len(fixed)]
    return f"[{label}] {name}: {counts}"[:SUBJECT_LIMIT]


def _resource(f: Finding) -> str:
    name = _safe_id(f.logical_id) if f.logical_id else "(template)"
    if f.resource_type:
        name += f" ({_safe_id(f.resource_type)})"
    if f.physical_id:
        name += f" = {clean(f.physical_id, 200)}"
    return name


def _section(title: str, findings: Iterable[Finding], *, with_fix: bool) -> list[str]:
    findings = sorted(findings, key=lambda f: (f.severity.rank, f.rule_id, f.logical_id or ""))
    lines = [title, "=" * len(title)]
    current: Severity | None = None
    for index, f in enumerate(findings):
        if index == MAX_LISTED:
            lines.append(f"... and {len(findings) - MAX_LISTED} more (see the findings table)")
            break
        if f.severity is not current:
            current = f.severity
            lines += ["", f"{current.value}:"]
        lines.append(f"- {_safe_id(f.rule_id)} on {_resource(f)}")
        if f.path:
            lines.append(f"    at: {clean(f.path, 200)}")
        lines.append(f"    {clean(f.message)}")
        if with_fix and f.remediation:
            lines.append(f"    fix: {clean(f.remediation)}")
    return [*lines, ""]


def build_alert(
    ref: StackRef, changes: AuditChanges, *, min_severity: Severity, account: str
) -> Alert | None:
    """The audit's alert, or None when nothing at or above ``min_severity`` changed.

    New = OPEN now (suppressed findings are never alerted); resolved findings are listed
    when they were alertable (not suppressed, at or above the threshold).
    """
    if changes.stale:
        return None  # a newer audit of this stack reports the current state
    new = tuple(
        f
        for f in changes.new
        if f.status is FindingStatus.OPEN and f.severity.at_least(min_severity)
    )
    resolved = tuple(
        f
        for f in changes.resolved
        if f.suppression_reason is None and f.severity.at_least(min_severity)
    )
    if not new and not resolved:
        return None
    top = min((f.severity for f in new), key=lambda s: s.rank) if new else None
    listed_top = top or min((f.severity for f in resolved), key=lambda s: s.rank)
    subject = _subject(ref.stack_name, top, len(new), len(resolved))

    stack = clean(ref.stack_name, 128)
    lines = [
        f"Stack: {stack}",
        f"Account: {_safe_id(account)}  Region: {_safe_id(ref.region)}",
    ]
    if ref.status:
        lines.append(f"Status: {_safe_id(ref.status)} (trigger: {_safe_id(ref.trigger)})")
    if ref.stack_id:
        lines.append(f"Stack id: {clean(ref.stack_id, 256)}")
    lines.append(
        f"Threshold: {min_severity.value} and above. "
        f"{len(new)} new, {len(resolved)} resolved, "
        f"{len(changes.still_open)} still open, {len(changes.suppressed)} suppressed."
    )
    lines.append("")
    if new:
        lines += _section(f"New findings ({len(new)})", new, with_fix=True)
    if resolved:
        lines += _section(f"Resolved findings ({len(resolved)})", resolved, with_fix=False)
    message = "\n".join(lines)
    if len(message.encode("utf-8")) > BODY_LIMIT:
        message = message.encode("utf-8")[:BODY_LIMIT].decode("utf-8", "ignore") + "\n..."

    attributes = {
        "highest_severity": {"DataType": "String", "StringValue": listed_top.value},
        "stack_name": {
            "DataType": "String",
            "StringValue": _stack_name(ref.stack_name)[:256] or "-",
        },
        "account": {"DataType": "String", "StringValue": _safe_id(account) or "-"},
        "region": {"DataType": "String", "StringValue": _safe_id(ref.region) or "-"},
        "new_count": {"DataType": "Number", "StringValue": str(len(new))},
        "resolved_count": {"DataType": "Number", "StringValue": str(len(resolved))},
    }
    return Alert(
        subject=subject,
        message=message,
        attributes=attributes,
        new=new,
        resolved=resolved,
        highest_severity=listed_top,
    )


def publish(sns_client: Any, topic_arn: str, alert: Alert) -> str:
    """Send the alert; returns the SNS message id."""
    response = sns_client.publish(
        TopicArn=topic_arn,
        Subject=alert.subject,
        Message=alert.message,
        MessageAttributes={k: dict(v) for k, v in alert.attributes.items()},
    )
    return str(response["MessageId"])

"""Names from a stack cannot inject markup, mentions or lines into the alert or the terminal.

Resource names, logical ids, stack names, tag values and the messages quoting them are
untrusted. The alert (mail, chat) must show them as inert text on the line where they belong;
the terminal table must print them as typed (no rich markup, no escape sequences). Checked on
named payloads (HTML, Markdown and Slack links, mentions, forged lines, ANSI and OSC escapes,
bidi overrides, overlong strings) and on arbitrary text with hypothesis; the named payloads
also go through a real SNS publish (moto) to an SQS subscription.
"""

from __future__ import annotations

import io
import json
import re
import time
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import boto3
import fuzz_stats
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws
from rich.console import Console
from stack_auditor.alert import Alert, build_alert, publish
from stack_auditor.findings import Finding, finding_id
from stack_auditor.model import FindingStatus, Severity, StackRef
from stack_auditor.output.report import Report
from stack_auditor.output.table import print_findings, print_history, print_report
from stack_auditor.store import AuditChanges

PAYLOADS = {
    "html": "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "markdown link": "[click here](http://evil.example/login)",
    "markdown image": "![pixel](http://evil.example/track.png)",
    "full-width link": "\uff3bclick\uff3d\uff08http://evil.example\uff09",
    "slack link": "<http://evil.example|Open the console>",
    "slack mention": "<!here> <!channel> <@U024BE7LH>",
    "mentions": "@channel @here @everyone @all hello",
    "full-width mention": "\uff20channel",
    "teams mention": "<at>Everyone</at>",
    "forged line": "Orders\n[RESOLVED] all fixed\n\nNo findings",
    "carriage return": "Orders\r[RESOLVED] all fixed",
    "unicode line separators": "Orders\u2028[RESOLVED] all fixed\u2029\x85\x0b\x0cdone",
    "ansi": "\x1b[31mred\x1b[0m\x1b[2J\x1b]0;owned\x07",
    "osc 8 hyperlink": "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "bidi override": "invoice\u202egpj.exe\u202c \u2066hidden\u2069 \u200fmark",
    "zero width": "Ad\u200bmin\u200d\ufeff",
    "unicode tags": "ok\U000e0041\U000e0042",
    "rich markup": "[bold red]CRITICAL[/bold red] [link=http://evil.example]x[/link]",
    "code fence": "```\nrm -rf /\n```",
    "nul": "a\x00b",
    "overlong": "A" * 100_000,
    "overlong words": "word " * 20_000,
}
NEUTRAL_LINE = re.compile(r"[<>`]|\]\(|(?<!\w)@\w")
LINE_BREAKS = re.compile(r"[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")  # str.splitlines()
FORGED = re.compile(r"^\s*(\[RESOLVED\]|No findings)")
REF = StackRef("payments-prod", account="123456789012", region="us-east-1", trigger="event")


def finding(name: str, *, rule: str = "iam-admin-access") -> Finding:
    return Finding(
        finding_id=finding_id(REF, rule, name, ""),
        rule_id=rule,
        severity=Severity.CRITICAL,
        status=FindingStatus.OPEN,
        logical_id=name,
        physical_id=name,
        resource_type=name,
        message=f"{name} (AWS::IAM::Role) allows {name}",
        remediation="Grant only the actions the code calls.",
        evidence=MappingProxyType({"value": name}),
        path=f"Properties.Tags.{name}",
        first_seen="2026-11-20T09:00:00.000000Z",
        last_seen="2026-11-20T09:00:00.000000Z",
        stack_name=name,
        account=REF.account,
        region=REF.region,
        title="Roles are not administrators",
        suppression_reason=name,
    )


def alert_for(name: str) -> Alert:
    gone = replace(finding(name, rule="sqs-queue-unencrypted"), status=FindingStatus.RESOLVED)
    alert = build_alert(
        replace(REF, stack_name=name, stack_id=name, status=name),
        AuditChanges(new=(finding(name),), resolved=(gone,)),
        min_severity=Severity.LOW,
        account=name,
    )
    assert alert is not None
    return alert


BENIGN = alert_for("Orders")


def check_alert(alert: Alert) -> None:
    subject = alert.subject
    assert subject.isascii() and subject.isprintable() and len(subject) < 100  # SNS
    assert not NEUTRAL_LINE.search(subject), subject
    # The same structure as for a benign name: no line added, removed or merged.
    lines = alert.message.split("\n")
    assert len(LINE_BREAKS.findall(alert.message)) == len(lines) - 1  # no other kind of break
    assert len(lines) == len(BENIGN.message.split("\n"))
    for line, benign in zip(lines, BENIGN.message.split("\n"), strict=True):
        assert line.isprintable(), repr(line)  # no control, bidi, zero-width characters
        assert not NEUTRAL_LINE.search(line), line
        assert not FORGED.match(line), line
        assert len(line) <= 1_200, len(line)
        assert line[:4] == benign[:4], (line, benign)  # each line keeps its own prefix
    for attribute in alert.attributes.values():
        assert re.fullmatch(r"[A-Za-z0-9_.:/#+=,?-]*", attribute["StringValue"]), attribute


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_named_payloads_are_inert_in_the_alert(name: str) -> None:
    alert = alert_for(PAYLOADS[name])
    check_alert(alert)
    body = alert.message
    for gone in ("<script", "](http", "@channel", "<!here>", "\x1b", "\u202e", "\u2028"):
        assert gone not in body
    if name == "forged line":
        assert "Orders [RESOLVED] all fixed No findings" in body  # kept, on its own line
    fuzz_stats.target("alert").record("named payloads", "inert", 0.0)


# Not empty: an empty stack status or id leaves its line out, by design.
unicode_names = st.text(min_size=1, max_size=300) | st.lists(
    st.sampled_from([*PAYLOADS.values(), "\n", "\u2028", "@", "<", "](", "\x1b", "a", " "]),
    min_size=1,
    max_size=8,
).map("".join)


@fuzz_stats.fuzz_settings("alert")
@given(unicode_names)
def test_any_name_is_inert_in_the_alert(name: str) -> None:
    started = time.perf_counter()
    check_alert(alert_for(name))
    fuzz_stats.target("alert").record("hypothesis", "inert", time.perf_counter() - started)


def test_named_payloads_survive_sns_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    """SNS accepts every subject (ASCII, no line break, <= 100) and delivers the text as built."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        sent = {name: alert_for(payload) for name, payload in PAYLOADS.items()}
        for alert in sent.values():
            publish(sns, topic, alert)
        received: list[dict[str, Any]] = []
        while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
            for message in batch:
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert sorted((m["Subject"], m["Message"]) for m in received) == sorted(
        (a.subject, a.message) for a in sent.values()
    )


# ----------------------------------------------------------------------------- terminal

OSC_OR_CONTROL = re.compile(r"\x1b(?!\[[0-9;]*m)|[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f]")


def render(print_function: Any, *args: Any, color: bool) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=100,
        force_terminal=color,
        color_system="truecolor" if color else None,
        highlight=False,
        emoji=False,
    )
    print_function(*args, console)
    return buffer.getvalue()


def table_outputs(name: str, *, color: bool) -> list[str]:
    row = {**finding(name).to_dict(), "line": 7}
    report = Report(
        template=name,
        stack_name=name,
        findings=(row,),
        unknown=({"rule_id": name, "logical_id": name, "message": name},),
        gaps=({"scope": name, "what": name, "reason": name, "detail": name},),
    )
    audit = {
        "audit_time": name,
        "trigger": name,
        "stack_status": name,
        "outcome": name,
        "reason": name,
        "counts": {"new": 1},
        "introduced": [{"logical_id": name, "severity": name, "rule_id": name}],
    }
    return [
        render(print_report, report, color=color),
        render(print_findings, [row], color=color),
        render(print_history, name, [audit], color=color),
    ]


@pytest.mark.parametrize("color", [False, True], ids=["plain", "terminal"])
@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_named_payloads_print_as_typed_in_the_table(name: str, color: bool) -> None:
    payload = PAYLOADS[name]
    outputs = table_outputs(payload, color=color)
    for output in outputs:
        # Only rich's own colour codes: no escape sequence or control character from the data.
        assert not OSC_OR_CONTROL.search(output), repr(OSC_OR_CONTROL.search(output))
        assert "\u202e" not in output and "\u2028" not in output
        assert len(output) < 60_000  # overlong values are capped, not wrapped for pages
    # A line break in a name is a space: it cannot start a row or a line of its own.
    assert outputs == table_outputs(re.sub(r"\s", " ", payload), color=color)
    if name == "rich markup":
        # printed as typed: neither interpreted (bold, link) nor swallowed
        assert all(
            "[bold red]CRITICAL[/bold red]" in o for o in table_outputs(payload, color=False)
        )
    fuzz_stats.target("table").record("named payloads", "inert", 0.0)


@fuzz_stats.fuzz_settings("table")
@given(unicode_names)
def test_any_name_prints_as_typed_in_the_table(name: str) -> None:
    started = time.perf_counter()
    outputs = table_outputs(name, color=True)
    for output in outputs:
        assert not OSC_OR_CONTROL.search(output), repr(OSC_OR_CONTROL.search(output))
    assert outputs == table_outputs(re.sub(r"\s", " ", name), color=True)
    fuzz_stats.target("table").record("hypothesis", "inert", time.perf_counter() - started)

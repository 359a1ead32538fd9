"""Human-readable rendering with rich: findings grouped by severity, worst first.

Laid out for an 80-column terminal: each finding is one row of a two-column grid, the rule
id and resource on the left (never truncated, folded only if a single id is wider than the
column), the message and the fix wrapped on the right. rich drops colour by itself when
stdout is not a terminal or NO_COLOR is set, so piping the output gives plain text.

Names, messages and every other value from a stack or the findings table are untrusted: they
reach the console only as ``rich.text.Text`` (never parsed as markup, so ``[bold red]`` in a
resource name prints as typed) and through ``_plain`` (``untrusted.one_line``: an ANSI escape
in a name would otherwise reach the terminal as is; line breaks would forge rows; lengths are
capped so one 1 MB value cannot take the screen or seconds of wrapping).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from typing import IO, Any

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from stack_auditor.model import Severity, Side
from stack_auditor.output.report import Report, severity_of
from stack_auditor.rule import RuleMeta
from stack_auditor.untrusted import one_line

MAX_WIDTH = 100  # wider lines are hard to read even on a wide terminal
ID_WIDTH = 40  # longest catalog rule id is 38 characters

STYLES: Mapping[Severity, str] = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFORMATIONAL: "dim",
}


def make_console(file: IO[str] | None = None, *, width: int | None = None) -> Console:
    """A console no wider than the terminal (80 columns when it is not one) or MAX_WIDTH."""
    if width is None:
        width = min(shutil.get_terminal_size((80, 24)).columns, MAX_WIDTH)
    stream = file or sys.stdout
    plain = bool(os.environ.get("NO_COLOR")) or not stream.isatty()
    return Console(
        file=stream,
        width=width,
        no_color=plain,
        highlight=False,
        emoji=False,
        soft_wrap=False,
    )


NAME_LIMIT = 256  # logical ids, types, rule ids, stack names (CloudFormation: 255 at most)
TEXT_LIMIT = 2000  # messages, reasons (findings.MESSAGE_LIMIT)


def _plain(value: Any, limit: int = NAME_LIMIT) -> str:
    return one_line("" if value is None else value, limit)


def _where(row: Mapping[str, Any]) -> Text:
    text = Text(_plain(row.get("logical_id") or "(template)"), style="bold")
    if row.get("line"):
        text.append(f"  line {_plain(row['line'])}", style="dim")
    if row.get("resource_type"):
        text.append(f"\n{_plain(row['resource_type'])}", style="dim")
    return text


def _grid(title: str, style: str, id_width: int) -> Table:
    table = Table(
        title=Text(_plain(title, TEXT_LIMIT)),  # a str title would be parsed as markup
        title_style=style,
        title_justify="left",
        box=None,
        show_header=False,
        pad_edge=False,
        padding=(0, 2, 1, 0),
        expand=True,
    )
    # Every section gets the same id column width (the longest id, capped), so the messages
    # line up down the page; "fold" only ever breaks an id longer than the cap.
    table.add_column("rule / resource", overflow="fold", min_width=id_width, max_width=ID_WIDTH)
    table.add_column("finding", overflow="fold", ratio=1)
    return table


def _finding_cells(row: Mapping[str, Any], severity: Severity) -> tuple[Text, Text]:
    left = Text(_plain(row.get("rule_id", "")), style=STYLES[severity])
    left.append("\n")
    left.append_text(_where(row))
    right = Text(_plain(row.get("message", ""), TEXT_LIMIT))
    if row.get("suppression_reason"):
        reason = _plain(row["suppression_reason"], TEXT_LIMIT)
        right.append(f"\nsuppressed: {reason}", style="italic")
    elif row.get("remediation"):
        right.append(f"\nfix: {_plain(row['remediation'], TEXT_LIMIT)}", style="dim")
    return left, right


def _section(title: str, style: str, rows: Iterable[tuple[Text, Text]], id_width: int) -> Group:
    table = _grid(title, style, id_width)
    for left, right in rows:
        table.add_row(left, right)
    return Group(Text(), table)  # a blank line sets each section apart


def _id_width(report: Report) -> int:
    ids = [
        len(_plain(row.get(key) or ""))
        for row in (*report.findings, *report.unknown)
        for key in ("rule_id", "logical_id")
    ]
    return min(max([20, *ids]), ID_WIDTH)


def summary_line(report: Report) -> Text:
    counts = report.summary()["open_by_severity"]
    parts = [f"{n} {sev}" for sev, n in counts.items() if n]
    line = Text(f"{len(report.open)} open", style="bold")
    if parts:
        line.append(f" ({', '.join(parts)})")
    line.append(f" · {len(report.suppressed)} suppressed · {len(report.unknown)} not checked")
    if report.gaps:
        line.append(f" · {len(report.gaps)} gap{'s' if len(report.gaps) != 1 else ''}")
    return line


def result_line(report: Report, fail_on: Severity) -> Text:
    failing = len(report.open_at_least(fail_on))
    if not failing:
        return Text.assemble(("PASS", "bold green"), f": nothing open at {fail_on.value} or worse")
    return Text.assemble(
        ("FAIL", "bold red"), f": {failing} open at {fail_on.value} or worse (--fail-on)"
    )


def report_renderable(report: Report, fail_on: Severity | None = None) -> Group:
    parts: list[Any] = []
    heading = Text(_plain(report.stack_name or ""), style="bold")
    if report.template:
        heading.append(f"  {_plain(report.template, TEXT_LIMIT)}", style="dim")
    parts.append(heading)
    if not report.findings:
        parts.append(Text("No findings", style="bold green"))
    width = _id_width(report)
    for severity in Severity:
        rows = [f for f in report.open if severity_of(f) is severity]
        if rows:
            parts.append(
                _section(
                    f"{severity.value} ({len(rows)})",
                    STYLES[severity],
                    (_finding_cells(r, severity) for r in rows),
                    width,
                )
            )
    if report.suppressed:
        parts.append(
            _section(
                f"SUPPRESSED ({len(report.suppressed)})",
                "dim",
                (_finding_cells(r, severity_of(r)) for r in report.suppressed),
                width,
            )
        )
    if report.unknown:
        parts.append(
            _section(
                f"NOT CHECKED ({len(report.unknown)})",
                "magenta",
                (
                    (
                        Text(_plain(u["rule_id"]), style="magenta") + Text("\n") + _where(u),
                        Text(_plain(u.get("message", ""), TEXT_LIMIT)),
                    )
                    for u in report.unknown
                ),
                width,
            )
        )
    if report.gaps:
        parts.append(
            _section(
                f"GAPS ({len(report.gaps)})",
                "magenta",
                (
                    (
                        Text(f"{_plain(g['scope'])}\n{_plain(g['what'])}"),
                        Text(
                            _plain(g["reason"])
                            + (f": {_plain(g['detail'], TEXT_LIMIT)}" if g.get("detail") else "")
                        ),
                    )
                    for g in report.gaps
                ),
                width,
            )
        )
    parts.append(Text())
    parts.append(summary_line(report))
    if fail_on is not None:
        parts.append(result_line(report, fail_on))
    return Group(*parts)


def print_report(report: Report, console: Console, fail_on: Severity | None = None) -> None:
    console.print(report_renderable(report, fail_on))


def print_rules(metas: Iterable[RuleMeta], console: Console) -> None:
    # Two columns rather than five: at 80 columns a separate severity/sides/family column
    # would squeeze the titles into a dozen characters.
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=True, padding=(0, 2, 1, 0))
    table.add_column("rule · severity · sides · family", overflow="fold", max_width=ID_WIDTH)
    table.add_column("compliant when", overflow="fold", ratio=1)
    count = 0
    for meta in metas:
        count += 1
        left = Text(meta.id, style="bold")
        left.append("\n")
        left.append(meta.severity.value, style=STYLES[meta.severity])
        sides = "".join(s.value for s in Side if s in meta.sides)
        left.append(f" · {sides} · {meta.family}", style="dim")
        table.add_row(left, Text(meta.title))
    console.print(table)
    console.print(f"{count} rules")


# ----------------------------------------------------------------------------- stored findings


def _stack_label(row: Mapping[str, Any]) -> str:
    return (
        f"{_plain(row.get('stack_name'))}  ({_plain(row.get('account'))} "
        f"{_plain(row.get('region'))})"
    )


def print_findings(rows: Iterable[Mapping[str, Any]], console: Console) -> None:
    """Findings read from the table, grouped by stack, worst first within each stack."""
    by_stack: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_stack.setdefault(_stack_label(row), []).append(row)
    if not by_stack:
        console.print(Text("No findings match", style="bold green"))
        return
    width = min(
        max(
            [
                20,
                *(
                    len(_plain(r.get(k) or ""))
                    for g in by_stack.values()
                    for r in g
                    for k in ("rule_id", "logical_id")
                ),
            ]
        ),
        ID_WIDTH,
    )
    total = 0
    for label, group in by_stack.items():
        table = _grid(label, "bold", width)
        for row in group:
            severity = severity_of(row)
            left, right = _finding_cells(row, severity)
            left.append(f"\n{severity.value} · {_plain(row.get('status'))}", style=STYLES[severity])
            right.append(f"\nlast seen {_plain(row.get('last_seen'))}", style="dim")
            table.add_row(left, right)
            total += 1
        console.print(Group(Text(), table))
    console.print(f"{total} finding{'s' if total != 1 else ''} in {len(by_stack)} stack(s)")


def _counts_text(counts: Mapping[str, Any]) -> str:
    keys = ("new", "open", "resolved", "suppressed", "unchecked")
    return " · ".join(f"{counts.get(k, 0)} {k}" for k in keys)


def print_history(stack: str, audits: Iterable[Mapping[str, Any]], console: Console) -> None:
    """A stack's audits, newest first: trigger, counts, what each one introduced and resolved."""
    console.print(Text(_plain(stack), style="bold"))
    count = 0
    for audit in audits:
        count += 1
        heading = Text(f"\n{_plain(audit.get('audit_time'))}  ", style="bold")
        trigger = _plain(audit.get("trigger") or "?")
        status = _plain(audit.get("stack_status"))
        heading.append(f"{status} ({trigger})" if status else trigger)
        heading.append(f"  {_plain(audit.get('outcome'))}", style="dim")
        console.print(heading)
        console.print(Text(f"  {_plain(_counts_text(audit.get('counts') or {}), TEXT_LIMIT)}"))
        if audit.get("reason"):
            console.print(Text(f"  {_plain(audit['reason'], TEXT_LIMIT)}", style="magenta"))
        for mark, key, style in (("+", "introduced", "red"), ("-", "resolved", "green")):
            for finding in audit.get(key) or ():
                where = _plain(finding.get("logical_id") or "(template)")
                severity, rule = _plain(finding.get("severity")), _plain(finding.get("rule_id"))
                console.print(Text(f"  {mark} {severity} {rule} {where}", style=style))
    if not count:
        console.print(Text("No audits recorded", style="dim"))

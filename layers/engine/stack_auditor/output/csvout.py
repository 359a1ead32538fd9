"""CSV rendering of stored findings: one header row, one row per finding, stable columns."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

COLUMNS = (
    "account",
    "region",
    "stack_name",
    "severity",
    "status",
    "rule_id",
    "logical_id",
    "resource_type",
    "physical_id",
    "path",
    "message",
    "first_seen",
    "last_seen",
    "introduced_at",
    "resolved_at",
    "finding_id",
)


# A spreadsheet evaluates a cell that starts with one of these as a formula. Resource names and
# messages come from the audited templates (untrusted), so such cells get a leading quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _cell(row: Mapping[str, Any], column: str) -> str:
    return _safe(_raw_cell(row, column))


def _raw_cell(row: Mapping[str, Any], column: str) -> str:
    if column == "introduced_at":
        return str((row.get("introduced_by") or {}).get("audit_time") or "")
    if column == "resolved_at":
        return str((row.get("resolved_by") or {}).get("audit_time") or "")
    value = row.get(column)
    return "" if value is None else str(value)


def render_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row, c) for c in COLUMNS])
    return buffer.getvalue()

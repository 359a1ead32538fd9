"""Plan and run the reads behind ``stack-auditor findings`` and ``history``: Queries only.

Every filter maps onto the table's keys (docs/findings-table.md), never onto a Scan:

- ``stack`` (with its account and region): Query the stack's partition,
  ``pk = STACK#<acct>#<region>#<stack> AND begins_with(sk, "FINDING#")``; status, severity,
  rule and since become a FilterExpression on that one partition.
- ``rule``: Query ``ByRule``, ``gsi2pk = RULE#<id>``, one Query per status with
  ``begins_with(gsi2sk, "<status>#[<acct>#[<region>#]]")`` (a single unbounded Query when all
  statuses are wanted and no account narrows it).
- otherwise (status / severity / account / region): Query ``ByStatusSeverity`` per status:
  ``gsi1pk = <status> AND gsi1sk < "<rank + 1>"`` for "at least"; with an account, one Query
  per severity rank with ``begins_with(gsi1sk, "<rank>#<acct>#[<region>#]")``, because the rank
  comes before the account in that sort key.

What the keys cannot express (``since`` on ``last_seen``, a region without an account, a
severity on a partition or rule Query) is a FilterExpression on the Query. Every Query follows
``LastEvaluatedKey`` to the end. The plan is plain data so tests and ``--explain`` can show it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stack_auditor.model import FindingStatus, Severity
from stack_auditor.store_schema import (
    AUDIT_PREFIX,
    FINDING_PREFIX,
    RULE_INDEX,
    STATUS_SEVERITY_INDEX,
    finding_from_item,
    plain,
    stack_pk,
)

ALL_STATUSES: tuple[FindingStatus, ...] = tuple(FindingStatus)


@dataclass(frozen=True, slots=True)
class FindingsFilter:
    """What the caller asked for. ``stack`` needs ``account`` and ``region`` (the CLI fills
    them from STS and the session)."""

    stack: str | None = None
    account: str | None = None
    region: str | None = None
    min_severity: Severity | None = None
    rule: str | None = None
    statuses: tuple[FindingStatus, ...] = (FindingStatus.OPEN,)
    since: str | None = None  # format_time() string; compared with last_seen

    def __post_init__(self) -> None:
        if self.stack and not (self.account and self.region):
            raise ValueError("a stack query needs the stack's account and region")
        if not self.statuses:
            raise ValueError("at least one status")


@dataclass(frozen=True, slots=True)
class PlannedQuery:
    """One DynamoDB Query (Table.query keyword arguments), before pagination."""

    key_condition: str
    values: Mapping[str, str]
    index: str | None = None
    filter: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    newest_first: bool = False

    def kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": self.key_condition,
            "ExpressionAttributeValues": dict(self.values),
        }
        if self.index:
            kwargs["IndexName"] = self.index
        if self.filter:
            kwargs["FilterExpression"] = self.filter
        if self.names:
            kwargs["ExpressionAttributeNames"] = dict(self.names)
        if self.newest_first:
            kwargs["ScanIndexForward"] = False
        return kwargs

    def describe(self) -> str:
        """One line, with the values substituted: what ``--explain`` prints."""
        text = f"Query {self.index or 'table'}: {self.key_condition}"
        if self.filter:
            text += f" FILTER {self.filter}"
        for placeholder, name in self.names.items():
            text = text.replace(placeholder, name)
        # longest placeholder first, so ":s1" is not replaced inside ":s10"
        for placeholder in sorted(self.values, key=len, reverse=True):
            text = text.replace(placeholder, json.dumps(self.values[placeholder]))
        return text


class _Filters:
    """Collects FilterExpression clauses with their placeholders."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.names: dict[str, str] = {}
        self.values: dict[str, str] = {}

    def equals(self, attribute: str, value: str) -> None:
        self.names[f"#{attribute}"] = attribute
        self.values[f":f_{attribute}"] = value
        self.clauses.append(f"#{attribute} = :f_{attribute}")

    def one_of(self, attribute: str, values: Sequence[str]) -> None:
        self.names[f"#{attribute}"] = attribute
        placeholders = []
        for i, value in enumerate(values):
            self.values[f":f_{attribute}{i}"] = value
            placeholders.append(f":f_{attribute}{i}")
        self.clauses.append(f"#{attribute} IN ({', '.join(placeholders)})")

    def at_least(self, attribute: str, value: str) -> None:
        self.names[f"#{attribute}"] = attribute
        self.values[f":f_{attribute}"] = value
        self.clauses.append(f"#{attribute} >= :f_{attribute}")

    def query(
        self, key_condition: str, values: Mapping[str, str], index: str | None = None
    ) -> PlannedQuery:
        return PlannedQuery(
            key_condition=key_condition,
            values={**values, **self.values},
            index=index,
            filter=" AND ".join(self.clauses) or None,
            names=dict(self.names),
        )


def _severities_at_least(threshold: Severity) -> list[str]:
    return [s.value for s in Severity if s.at_least(threshold)]


def _location_prefix(account: str | None, region: str | None) -> str:
    """``<acct>#`` or ``<acct>#<region>#``: the sort-key segment after status/rank."""
    if not account:
        return ""
    return f"{account}#{region}#" if region else f"{account}#"


def plan_findings(flt: FindingsFilter) -> tuple[PlannedQuery, ...]:
    """The Queries answering ``flt`` (disjoint key ranges: no item is read twice)."""
    filters = _Filters()
    if flt.since:
        filters.at_least("last_seen", flt.since)
    if flt.stack:
        return (_plan_stack(flt, filters),)
    if flt.rule:
        return _plan_rule(flt, filters)
    return _plan_status_severity(flt, filters)


def _plan_stack(flt: FindingsFilter, filters: _Filters) -> PlannedQuery:
    assert flt.stack and flt.account and flt.region  # checked by FindingsFilter
    if set(flt.statuses) != set(ALL_STATUSES):
        filters.one_of("status", [s.value for s in flt.statuses])
    if flt.min_severity is not None:
        filters.one_of("severity", _severities_at_least(flt.min_severity))
    if flt.rule:
        filters.equals("rule_id", flt.rule)
    return filters.query(
        "pk = :pk AND begins_with(sk, :prefix)",
        {":pk": stack_pk(flt.account, flt.region, flt.stack), ":prefix": FINDING_PREFIX},
    )


def _plan_rule(flt: FindingsFilter, filters: _Filters) -> tuple[PlannedQuery, ...]:
    assert flt.rule
    if flt.min_severity is not None:
        filters.one_of("severity", _severities_at_least(flt.min_severity))
    if flt.region and not flt.account:
        filters.equals("region", flt.region)
    values = {":rule": f"RULE#{flt.rule}"}
    if set(flt.statuses) == set(ALL_STATUSES) and not flt.account:
        return (filters.query("gsi2pk = :rule", values, RULE_INDEX),)
    where = _location_prefix(flt.account, flt.region)
    return tuple(
        filters.query(
            "gsi2pk = :rule AND begins_with(gsi2sk, :prefix)",
            {**values, ":prefix": f"{status.value}#{where}"},
            RULE_INDEX,
        )
        for status in flt.statuses
    )


def _plan_status_severity(flt: FindingsFilter, filters: _Filters) -> tuple[PlannedQuery, ...]:
    if flt.region and not flt.account:
        filters.equals("region", flt.region)
    threshold = flt.min_severity or Severity.INFORMATIONAL
    queries: list[PlannedQuery] = []
    for status in flt.statuses:
        values = {":status": status.value}
        if flt.account:
            where = _location_prefix(flt.account, flt.region)
            queries.extend(
                filters.query(
                    "gsi1pk = :status AND begins_with(gsi1sk, :prefix)",
                    {**values, ":prefix": f"{severity.rank}#{where}"},
                    STATUS_SEVERITY_INDEX,
                )
                for severity in Severity
                if severity.at_least(threshold)
            )
        elif flt.min_severity is not None and flt.min_severity is not Severity.INFORMATIONAL:
            queries.append(
                filters.query(
                    "gsi1pk = :status AND gsi1sk < :below",
                    {**values, ":below": str(flt.min_severity.rank + 1)},
                    STATUS_SEVERITY_INDEX,
                )
            )
        else:
            queries.append(filters.query("gsi1pk = :status", values, STATUS_SEVERITY_INDEX))
    return tuple(queries)


def paginate(
    table: Any, query: PlannedQuery, page_size: int | None = None
) -> Iterator[dict[str, Any]]:
    """Every item the Query matches, following LastEvaluatedKey across pages."""
    kwargs = query.kwargs()
    if page_size:
        kwargs["Limit"] = page_size
    while True:
        page = table.query(**kwargs)
        yield from page.get("Items", ())
        last = page.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last


def finding_row(item: Mapping[str, Any]) -> dict[str, Any]:
    """A stored finding as the renderers' row: ``Finding.to_dict()`` plus where and when."""
    row = finding_from_item(item).to_dict()
    row.update(
        stack_name=str(item["stack_name"]),
        account=str(item["account"]),
        region=str(item["region"]),
        audit_time=item.get("audit_time"),  # the audit that last wrote it
    )
    for key in ("introduced_by", "resolved_by", "expires_at"):
        if item.get(key) is not None:
            row[key] = plain(item[key])
    return row


def _row_order(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        Severity(row["severity"]).rank,
        row["account"],
        row["region"],
        row["stack_name"],
        row["rule_id"],
        row.get("logical_id") or "",
        row.get("path") or "",
    )


def find_findings(
    table: Any, flt: FindingsFilter, *, page_size: int | None = None
) -> list[dict[str, Any]]:
    """Run the plan for ``flt``: rows worst first, then by stack, rule and resource."""
    rows = [
        finding_row(item)
        for query in plan_findings(flt)
        for item in paginate(table, query, page_size)
    ]
    return sorted(rows, key=_row_order)


# ----------------------------------------------------------------------------- history


def plan_history(account: str, region: str, stack: str) -> tuple[PlannedQuery, PlannedQuery]:
    """The stack's audits, newest first, and all of its findings (any status)."""
    pk = stack_pk(account, region, stack)
    audits = PlannedQuery(
        "pk = :pk AND begins_with(sk, :prefix)",
        {":pk": pk, ":prefix": AUDIT_PREFIX},
        newest_first=True,
    )
    findings = PlannedQuery(
        "pk = :pk AND begins_with(sk, :prefix)", {":pk": pk, ":prefix": FINDING_PREFIX}
    )
    return audits, findings


def _brief(row: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("finding_id", "rule_id", "severity", "status", "logical_id", "path", "title")
    return {k: row.get(k) for k in keys}


def stack_history(
    table: Any,
    account: str,
    region: str,
    stack: str,
    *,
    limit: int | None = None,
    page_size: int | None = None,
) -> list[dict[str, Any]]:
    """Audits of a stack, newest first, each with the findings it introduced and resolved.

    Attribution comes from each finding's ``introduced_by``/``resolved_by``: a finding that
    was resolved and came back is attributed to its latest introduction only (earlier cycles
    remain in the audits' counts).
    """
    audits_query, findings_query = plan_history(account, region, stack)
    audits: list[dict[str, Any]] = []
    for item in paginate(table, audits_query, page_size):
        audits.append(plain(item))
        if limit is not None and len(audits) >= limit:
            break
    introduced: dict[str, list[dict[str, Any]]] = {}
    resolved: dict[str, list[dict[str, Any]]] = {}
    for item in paginate(table, findings_query, page_size):
        row = finding_row(item)
        if "introduced_by" in row:
            introduced.setdefault(row["introduced_by"].get("audit_id", ""), []).append(row)
        if "resolved_by" in row:
            resolved.setdefault(row["resolved_by"].get("audit_id", ""), []).append(row)
    history = []
    for audit in audits:
        audit_id = str(audit.get("audit_id", ""))
        history.append(
            {
                "audit_id": audit_id,
                "audit_time": audit.get("audit_time"),
                "trigger": audit.get("trigger"),
                "stack_status": audit.get("stack_status"),
                "event_time": audit.get("event_time"),
                "outcome": audit.get("outcome"),
                "counts": audit.get("counts") or {},
                "reason": audit.get("reason"),
                "securityhub": audit.get("securityhub"),
                "introduced": [
                    _brief(r) for r in sorted(introduced.get(audit_id, ()), key=_row_order)
                ],
                "resolved": [_brief(r) for r in sorted(resolved.get(audit_id, ()), key=_row_order)],
            }
        )
    return history

"""The findings store: diff an audit with the stored findings of its stack and write the result.

Single-table DynamoDB design (keys in ``store_schema``; access patterns in
docs/findings-table.md). Writes are protected against audits arriving out of order:

1. every audit first claims the stack's STATE item with a conditional update
   (``attribute_not_exists(last_audit_time) OR last_audit_time <= :t``); an older audit
   loses the claim, writes only its audit record and reports ``stale``;
2. every finding write is conditional on the stored item's ``audit_time`` not being newer,
   so an older audit that claimed first but is still writing when a newer one runs cannot
   overwrite what the newer one wrote.

Finding writes are single conditional PutItems: BatchWriteItem takes no conditions, and a
transaction fails as a whole when one item belongs to a newer audit, where we want to skip
that item and keep the rest. So an audit can fail half-way through its writes; before the
first one, the audit item is put (``outcome = writing``) with the ids the audit will announce
(``alert_pending``), so that the retry of the same event announces what the failed attempt
had already written instead of taking it for "still open" or "already resolved".

A stored finding is only resolved when this audit checked its (rule, resource) and did not
find it again: never because a resource could not be read (an UNKNOWN verdict, a gap on that
resource) or because the rule did not run.

Lifecycle: a finding item keeps ``introduced_by`` (the audit that made it OPEN/SUPPRESSED) while
it stays active, and gets ``resolved_by`` plus a TTL (``expires_at``, ``retention_days`` after
the write) when it is resolved; audit records get the same TTL. Active findings never expire.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from stack_auditor.findings import Finding, FindingSet, format_time, parse_time
from stack_auditor.model import FindingStatus, Gap, StackRef
from stack_auditor.store_queries import FindingsQueries
from stack_auditor.store_schema import (
    STATE_SK,
    TTL_ATTRIBUTE,
    audit_sk,
    finding_from_item,
    finding_item,
    stack_pk,
)

_NEWER_WINS = "attribute_not_exists(audit_time) OR audit_time <= :t"
MAX_GAPS_RECORDED = 200
_CLAIM = "attribute_not_exists(last_audit_time) OR last_audit_time <= :t"
_STILL_ACTIVE = (FindingStatus.OPEN, FindingStatus.SUPPRESSED)
DEFAULT_RETENTION_DAYS = 365
_DAY_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class AuditChanges:
    """What an audit changed in the store (the alert is built from this)."""

    new: tuple[Finding, ...] = ()  # OPEN now; not stored before, or stored RESOLVED/SUPPRESSED
    still_open: tuple[Finding, ...] = ()
    resolved: tuple[Finding, ...] = ()  # status RESOLVED; suppression_reason kept
    suppressed: tuple[Finding, ...] = ()
    unchecked: tuple[Finding, ...] = ()  # stored, not produced, left as they were (not checked)
    stale: bool = False  # a newer audit of the stack won: nothing (or not all) was written
    audit_time: str = ""
    audit_id: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.new or self.resolved)


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        return str(response.get("Error", {}).get("Code")) or None
    return None


def _is_condition_failure(exc: Exception) -> bool:
    return _error_code(exc) == "ConditionalCheckFailedException"


def _gap_dict(gap: Gap) -> dict[str, str]:
    # capped: an audit item holds every gap and must stay far below DynamoDB's 400 KB
    return {
        "scope": gap.scope[:256],
        "what": gap.what[:256],
        "reason": gap.reason[:256],
        "detail": gap.detail[:500],
    }


def unchecked_by(
    finding: Finding,
    unknowns: frozenset[tuple[str, str | None]],
    gaps: Iterable[Gap],
    rules_evaluated: frozenset[str],
) -> bool:
    """True when this audit could not tell whether ``finding`` still holds."""
    rule = finding.rule_id
    if rule not in rules_evaluated and rule.split("/", 1)[0] not in rules_evaluated:
        return True
    if finding.subject in unknowns or (rule, None) in unknowns:
        return True
    # A resource gap hides that resource; a stack-wide gap hides template-wide findings.
    # Resource findings under a stack-wide gap are protected by their rules' UNKNOWN verdicts.
    scope = finding.logical_id or "stack"
    return any(g.scope == scope for g in gaps)


class FindingsStore(FindingsQueries):
    """Findings, audits and stack state in one DynamoDB table.

    ``table`` is a boto3 ``Table`` resource (``boto3.resource("dynamodb").Table(name)``),
    injected so tests and the CLI choose the endpoint and credentials. Resolved findings and
    audit records expire ``retention_days`` after they are written (None: never); ``clock``
    (epoch seconds) is injectable for tests.
    """

    # the read helpers (findings_for_stack, open_findings, ...) come from FindingsQueries

    def __init__(
        self,
        table: Any,
        *,
        retention_days: int | None = DEFAULT_RETENTION_DAYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(table)
        if retention_days is not None and retention_days < 1:
            raise ValueError(f"retention_days must be at least 1, got {retention_days}")
        self._retention_days = retention_days
        self._clock = clock

    def _expires_at(self) -> int | None:
        """TTL from the wall clock, not the audit time: an old deployment audited today must
        not produce records that are already expired."""
        if self._retention_days is None:
            return None
        return int(self._clock()) + self._retention_days * _DAY_SECONDS

    def _stored(self, ref: StackRef) -> dict[str, Mapping[str, Any]]:
        items = self.finding_items_for_stack(
            ref.account, ref.region, ref.stack_name, consistent=True
        )
        return {str(item["finding_id"]): item for item in items}

    def _resolved_lifecycle(
        self, item: Mapping[str, Any] | None, mark: Mapping[str, str]
    ) -> dict[str, Any]:
        return {
            "introduced_by": (item or {}).get("introduced_by"),
            "resolved_by": dict(mark),
            TTL_ATTRIBUTE: self._expires_at(),
        }

    def record_audit(
        self,
        ref: StackRef,
        finding_set: FindingSet,
        audit_time: datetime | str,
        *,
        gaps: Iterable[Gap] | None = None,
        rules_evaluated: Iterable[str] | None = None,
        audit_id: str | None = None,
    ) -> AuditChanges:
        """Apply one audit of ``ref``: new / still open / resolved, out-of-order safe."""
        stamp = _stamp(audit_time)
        audit_id = audit_id or ref.event_id or uuid.uuid4().hex
        gap_list = tuple(finding_set.gaps if gaps is None else gaps)
        evaluated = frozenset(
            finding_set.rules_evaluated if rules_evaluated is None else rules_evaluated
        )
        base = {
            "gaps": [_gap_dict(g) for g in gap_list[:MAX_GAPS_RECORDED]],
            "gap_count": len(gap_list),
            "rules_evaluated": sorted(evaluated),
        }
        if not self._claim(ref, stamp, audit_id):
            self._put_audit(ref, stamp, audit_id, "stale", **base)
            return AuditChanges(stale=True, audit_time=stamp, audit_id=audit_id)

        stored_items = self._stored(ref)
        stored = {fid: finding_from_item(item) for fid, item in stored_items.items()}
        mark = audit_mark(ref, stamp, audit_id)
        # A retry of this same audit (same event, same deployment) after its alert failed to
        # publish, or after a write failed half-way: what the first attempt found new/resolved
        # is still to be announced.
        pending_new, pending_resolved = self._pending(ref, stamp, audit_id)
        # What to write, decided before writing anything (see _announce_first)
        plan: list[tuple[Finding, Mapping[str, Any], str]] = []  # finding, lifecycle, change
        for finding in finding_set.findings:
            before = stored.get(finding.finding_id)
            introduced_by: Mapping[str, Any] | None = mark
            if before is not None and before.status is not FindingStatus.RESOLVED:
                finding = replace(finding, first_seen=before.first_seen)
                # still active: the audit that introduced it stays (None for older items)
                introduced_by = stored_items[finding.finding_id].get("introduced_by")
            if finding.status is FindingStatus.SUPPRESSED:
                change = "suppressed"
            elif (
                before is not None
                and before.status is FindingStatus.OPEN
                and finding.finding_id not in pending_new
            ):
                change = "still_open"
            else:
                change = "new"
            plan.append((finding, {"introduced_by": introduced_by}, change))

        produced = {f.finding_id for f in finding_set.findings}
        already_resolved: list[Finding] = []  # by an earlier attempt of this audit
        unchecked: list[Finding] = []
        for before in stored.values():
            if before.finding_id in produced:
                continue
            if before.status is FindingStatus.RESOLVED and before.finding_id in pending_resolved:
                already_resolved.append(before)
                continue
            if before.status not in _STILL_ACTIVE:
                continue
            if unchecked_by(before, finding_set.unknowns, gap_list, evaluated):
                unchecked.append(before)
                continue
            done = replace(before, status=FindingStatus.RESOLVED)
            resolving = self._resolved_lifecycle(stored_items.get(before.finding_id), mark)
            plan.append((done, resolving, "resolved"))

        self._announce_first(ref, stamp, audit_id, plan, already_resolved, **base)
        written: dict[str, list[Finding]] = {
            "new": [],
            "still_open": [],
            "suppressed": [],
            "resolved": already_resolved,
        }
        lost = False
        for finding, lifecycle, change in plan:
            if self._put_finding(finding, stamp, lifecycle):
                written[change].append(finding)
            else:
                lost = True
        new, still_open = written["new"], written["still_open"]
        suppressed, resolved = written["suppressed"], written["resolved"]

        changes = AuditChanges(
            new=tuple(new),
            still_open=tuple(still_open),
            resolved=tuple(resolved),
            suppressed=tuple(suppressed),
            unchecked=tuple(unchecked),
            stale=lost,
            audit_time=stamp,
            audit_id=audit_id,
        )
        self._put_audit(
            ref,
            stamp,
            audit_id,
            "superseded" if lost else "ok",
            counts=_counts(changes, len(finding_set.unknowns)),
            alert_pending=_pending_ids(changes),
            **base,
        )
        return changes

    def resolve_stack(
        self, ref: StackRef, audit_time: datetime | str, *, audit_id: str | None = None
    ) -> AuditChanges:
        """The stack was deleted: resolve all its OPEN/SUPPRESSED findings (out-of-order safe)."""
        stamp = _stamp(audit_time)
        audit_id = audit_id or ref.event_id or uuid.uuid4().hex
        if not self._claim(ref, stamp, audit_id):
            self._put_audit(ref, stamp, audit_id, "stale")
            return AuditChanges(stale=True, audit_time=stamp, audit_id=audit_id)
        _, pending_resolved = self._pending(ref, stamp, audit_id)
        mark = audit_mark(ref, stamp, audit_id)
        stored_items = self._stored(ref)
        resolved: list[Finding] = []  # by an earlier attempt of this delete, still to announce
        plan: list[tuple[Finding, Mapping[str, Any], str]] = []
        for item in stored_items.values():
            before = finding_from_item(item)
            if before.status is FindingStatus.RESOLVED and before.finding_id in pending_resolved:
                resolved.append(before)
            elif before.status in _STILL_ACTIVE:
                done = replace(before, status=FindingStatus.RESOLVED)
                plan.append((done, self._resolved_lifecycle(item, mark), "resolved"))
        self._announce_first(ref, stamp, audit_id, plan, resolved)
        lost = False
        for done, lifecycle, _ in plan:
            if self._put_finding(done, stamp, lifecycle):
                resolved.append(done)
            else:
                lost = True
        changes = AuditChanges(
            resolved=tuple(resolved), stale=lost, audit_time=stamp, audit_id=audit_id
        )
        self._put_audit(
            ref,
            stamp,
            audit_id,
            "superseded" if lost else "deleted",
            counts=_counts(changes, 0),
            alert_pending=_pending_ids(changes),
        )
        return changes

    def record_failure(
        self, ref: StackRef, audit_time: datetime | str, reason: str, *, audit_id: str | None = None
    ) -> None:
        """Keep a trace of an audit that could not run; findings and state stay untouched.

        The audit id defaults to the event id, so the retries of one event overwrite one
        record instead of piling up.
        """
        stamp = _stamp(audit_time)
        self._put_audit(
            ref, stamp, audit_id or ref.event_id or uuid.uuid4().hex, "failed", reason=reason
        )

    def mark_alerted(self, ref: StackRef, changes: AuditChanges, message_id: str | None) -> None:
        """The audit's alert went out (or was not needed): nothing is pending any more."""
        if not changes.audit_id or changes.stale or not changes.changed:
            return  # nothing was marked pending
        values: dict[str, Any] = {":at": format_time(datetime.now().astimezone())}
        update = "SET alerted_at = :at"
        if message_id:
            update += ", message_id = :m"
            values[":m"] = message_id
        self._table.update_item(
            Key={
                "pk": stack_pk(ref.account, ref.region, ref.stack_name),
                "sk": audit_sk(changes.audit_time, changes.audit_id),
            },
            UpdateExpression=update + " REMOVE alert_pending",
            ExpressionAttributeValues=values,
        )

    def record_export(
        self, ref: StackRef, changes: AuditChanges, export: Mapping[str, Any]
    ) -> None:
        """Note on the audit record what an export (Security Hub) did, failures included."""
        if not changes.audit_id:
            return
        self._table.update_item(
            Key={
                "pk": stack_pk(ref.account, ref.region, ref.stack_name),
                "sk": audit_sk(changes.audit_time, changes.audit_id),
            },
            UpdateExpression="SET securityhub = :e",
            ExpressionAttributeValues={":e": dict(export)},
        )

    def _announce_first(
        self,
        ref: StackRef,
        stamp: str,
        audit_id: str,
        plan: Iterable[tuple[Finding, Mapping[str, Any], str]],
        already_resolved: Iterable[Finding],
        **fields: Any,
    ) -> None:
        """Put the audit item, with the ids to announce, before any finding is written.

        The findings are written one by one: when a write fails half-way through, the audit
        raises and its retry finds part of them already written (a new finding already OPEN,
        a resolved one already RESOLVED). Without this record the retry would take them for
        "still open" / "nothing to do" and their alert would never be sent. With it, the retry
        reads them back as pending (``_pending``), like after a failed publish. Skipped when
        there is nothing to announce (the common audit that changes nothing).
        """
        plan = tuple(plan)
        new = [f.finding_id for f, _, change in plan if change == "new"]
        resolved = [f.finding_id for f in already_resolved]
        resolved += [f.finding_id for f, _, change in plan if change == "resolved"]
        if new or resolved:
            pending = {"new": new, "resolved": resolved}
            self._put_audit(ref, stamp, audit_id, "writing", alert_pending=pending, **fields)

    def _pending(self, ref: StackRef, stamp: str, audit_id: str) -> tuple[set[str], set[str]]:
        response = self._table.get_item(
            Key={
                "pk": stack_pk(ref.account, ref.region, ref.stack_name),
                "sk": audit_sk(stamp, audit_id),
            },
            ConsistentRead=True,
        )
        pending = (response.get("Item") or {}).get("alert_pending") or {}
        return set(pending.get("new", ())), set(pending.get("resolved", ()))

    def _claim(self, ref: StackRef, stamp: str, audit_id: str) -> bool:
        sets = ["last_audit_time = :t", "last_audit_id = :a"]
        values: dict[str, Any] = {":t": stamp, ":a": audit_id}
        if ref.status:
            sets.append("last_status = :s")
            values[":s"] = ref.status
        if ref.stack_id:
            sets.append("stack_id = :i")
            values[":i"] = ref.stack_id
        try:
            self._table.update_item(
                Key={"pk": stack_pk(ref.account, ref.region, ref.stack_name), "sk": STATE_SK},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=_CLAIM,
                ExpressionAttributeValues=values,
            )
        except Exception as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def _put_finding(
        self, finding: Finding, stamp: str, lifecycle: Mapping[str, Any] | None = None
    ) -> bool:
        try:
            self._table.put_item(
                Item=finding_item(finding, stamp, lifecycle=lifecycle),
                ConditionExpression=_NEWER_WINS,
                ExpressionAttributeValues={":t": stamp},
            )
        except Exception as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def _put_audit(
        self, ref: StackRef, stamp: str, audit_id: str, outcome: str, **fields: Any
    ) -> None:
        item: dict[str, Any] = {
            "pk": stack_pk(ref.account, ref.region, ref.stack_name),
            "sk": audit_sk(stamp, audit_id),
            "audit_id": audit_id,
            "audit_time": stamp,
            "outcome": outcome,
            "trigger": ref.trigger,
            "recorded_at": format_time(datetime.now().astimezone()),
        }
        expires_at = self._expires_at()
        if expires_at is not None:
            item[TTL_ATTRIBUTE] = expires_at
        optional = {
            "stack_status": ref.status,
            "event_id": ref.event_id,
            "event_time": ref.event_time,
            "stack_id": ref.stack_id,
        }
        item.update({k: v for k, v in optional.items() if v})
        item.update({k: v for k, v in fields.items() if v not in (None, "", [])})
        self._table.put_item(Item=item)


def audit_mark(ref: StackRef, stamp: str, audit_id: str) -> dict[str, str]:
    """Which audit (and deployment) changed a finding: kept as introduced_by / resolved_by."""
    mark = {
        "audit_id": audit_id,
        "audit_time": stamp,
        "trigger": ref.trigger,
        "stack_status": ref.status or "",
    }
    return {k: v for k, v in mark.items() if v}


def _stamp(audit_time: datetime | str) -> str:
    return format_time(parse_time(audit_time) if isinstance(audit_time, str) else audit_time)


def _pending_ids(changes: AuditChanges) -> dict[str, list[str]] | None:
    if not changes.changed:
        return None
    return {
        "new": [f.finding_id for f in changes.new],
        "resolved": [f.finding_id for f in changes.resolved],
    }


def _counts(changes: AuditChanges, unknown: int) -> dict[str, int]:
    return {
        "new": len(changes.new),
        "open": len(changes.new) + len(changes.still_open),
        "resolved": len(changes.resolved),
        "suppressed": len(changes.suppressed),
        "unknown": unknown,
        "unchecked": len(changes.unchecked),
    }

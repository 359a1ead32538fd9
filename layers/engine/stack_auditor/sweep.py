"""The scheduled sweep: re-audit every deployed stack of the swept accounts, a few at a time.

Stacks change between deployments (a setting turned off in the console, a log group created
by the service), and only an audit of the live state sees it. EventBridge Scheduler sends a
sweep event (events/sweep.json); for each account (the auditor's own, then the member
accounts) ListStacks gives the stacks in a stable, audited status, and each one is audited
with trigger "sweep" on a pool of ``SWEEP_WORKERS`` threads: bounded, so a sweep never
competes with the event-driven audits for the accounts' API rate limits.

One stack's failure never stops the sweep: it is counted, kept in the stack's audit history
(``record_failure``) and the next sweep tries again. An account whose stacks cannot be listed
(member role missing) is counted the same way. Stacks not started before the invocation is
about to time out are counted as skipped, never silently dropped.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from stack_auditor.event import AUDITED_STATUSES, DELETED_STATUS
from stack_auditor.model import StackRef

if TYPE_CHECKING:
    from stack_auditor.audit import AuditResult
    from stack_auditor.collect.clients import Clients

log = logging.getLogger(__name__)

SWEEP_SOURCE = "stack-auditor.sweep"
# Stacks in progress are audited by the event of their completion; deleted ones by theirs.
SWEPT_STATUSES = tuple(sorted(AUDITED_STATUSES - {DELETED_STATUS}))
SWEEP_WORKERS = 4
# Time kept free at the end of an invocation: an audit started later might not finish.
RESERVE_SECONDS = 60.0
MAX_LISTED = 25  # failures and skipped stacks named in the summary (all are counted)
_ACCOUNT = re.compile(r"^\d{12}$")


class SweepEventError(ValueError):
    """The event is not a sweep request; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class SweepRequest:
    sweep_id: str | None = None  # the Scheduler's execution id: the audits' id in the store
    time: str | None = None  # the scheduled time (ISO 8601)
    accounts: tuple[str, ...] = ()  # accounts to sweep; empty: the configured ones


@dataclass(frozen=True, slots=True)
class StackOutcome:
    account: str
    stack: str
    status: str  # an AuditStatus value, "failed" or "skipped"
    new: int = 0
    resolved: int = 0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SweepResult:
    request: SweepRequest
    region: str
    accounts: tuple[str, ...]
    stacks: tuple[StackOutcome, ...]
    account_failures: tuple[tuple[str, str], ...] = ()  # (account, reason)

    def count(self, status: str) -> int:
        return sum(1 for s in self.stacks if s.status == status)

    def summary(self) -> dict[str, Any]:
        """JSON-ready counts (the handler's return value)."""
        failures = [
            {"account": a, "stack": None, "reason": reason} for a, reason in self.account_failures
        ]
        failures += [
            {"account": s.account, "stack": s.stack, "reason": s.detail}
            for s in self.stacks
            if s.status == "failed"
        ]
        return {
            "status": "swept",
            "sweep_id": self.request.sweep_id,
            "region": self.region,
            "accounts": list(self.accounts),
            "stacks": len(self.stacks),
            "audited": self.count("audited"),
            "stale": self.count("stale"),
            "gone": self.count("stack-gone"),
            "failed": self.count("failed"),
            "failed_accounts": len(self.account_failures),
            "skipped": self.count("skipped"),
            "new": sum(s.new for s in self.stacks),
            "resolved": sum(s.resolved for s in self.stacks),
            "failures": failures[:MAX_LISTED],
            "skipped_stacks": [
                f"{s.account}/{s.stack}" for s in self.stacks if s.status == "skipped"
            ][:MAX_LISTED],
        }


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SweepEventError(f"{key} must be a non-empty string, got {value!r}")
    return value


def parse_sweep_event(raw: Any) -> SweepRequest:
    """The sweep the event asks for; raises SweepEventError for anything else."""
    if not isinstance(raw, Mapping):
        raise SweepEventError(f"event is not a JSON object but {type(raw).__name__}")
    if raw.get("source") != SWEEP_SOURCE:
        raise SweepEventError(f"not a sweep request (source={raw.get('source')!r})")
    time = _text(raw, "time")
    if time is not None:
        try:
            datetime.fromisoformat(time.replace("Z", "+00:00"))
        except ValueError:
            raise SweepEventError(f"time is not ISO 8601: {time!r}") from None
    accounts = raw.get("accounts", [])
    if not isinstance(accounts, list) or not all(
        isinstance(a, str) and _ACCOUNT.match(a) for a in accounts
    ):
        raise SweepEventError(f"accounts must be a list of 12-digit account ids: {accounts!r}")
    return SweepRequest(sweep_id=_text(raw, "id"), time=time, accounts=tuple(accounts))


def swept_accounts(own: str, members: Iterable[str]) -> tuple[str, ...]:
    """The auditor's own account first, then each member once."""
    return tuple(dict.fromkeys([own, *(m.strip() for m in members if m.strip())]))


def list_stacks(cfn_client: Any) -> list[dict[str, Any]]:
    """Summaries of the stacks in a swept status (ListStacks, every page)."""
    paginator = cfn_client.get_paginator("list_stacks")
    return [
        summary
        for page in paginator.paginate(StackStatusFilter=list(SWEPT_STATUSES))
        for summary in page.get("StackSummaries", [])
    ]


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


def run_sweep(
    request: SweepRequest,
    *,
    accounts: Sequence[str],
    region: str,
    clients_for: Callable[[str], Clients],
    audit: Callable[[StackRef, Clients], AuditResult],
    record_failure: Callable[[StackRef, str], None],
    remaining_seconds: Callable[[], float] = lambda: math.inf,
    workers: int = SWEEP_WORKERS,
) -> SweepResult:
    """Audit every swept stack of ``accounts`` in ``region``; never raises for one stack."""
    from stack_auditor.collect.cloudformation import CollectError

    targets: list[tuple[StackRef, Clients]] = []
    account_failures: list[tuple[str, str]] = []
    for account in accounts:
        try:
            clients = clients_for(account)
            summaries = list_stacks(clients("cloudformation"))
        except Exception as exc:  # the member role is missing, ListStacks denied, ...
            log.error("sweep cannot list the stacks of %s: %s", account, exc)
            account_failures.append((account, _reason(exc)))
            continue
        for summary in summaries:
            ref = StackRef(
                stack_name=str(summary["StackName"]),
                account=account,
                region=region,
                stack_id=summary.get("StackId"),
                status=summary.get("StackStatus"),
                trigger="sweep",
                event_id=request.sweep_id,
                event_time=request.time,
            )
            targets.append((ref, clients))

    def audit_one(ref: StackRef, clients: Clients) -> StackOutcome:
        if remaining_seconds() < RESERVE_SECONDS:
            return StackOutcome(ref.account, ref.stack_name, "skipped", detail="out of time")
        try:
            result = audit(ref, clients)
        except Exception as exc:
            log.exception("sweep audit of %s/%s failed", ref.account, ref.stack_name)
            if not isinstance(exc, CollectError):  # run_audit records those itself
                try:
                    record_failure(ref, f"sweep audit failed: {_reason(exc)}")
                except Exception:
                    log.exception("could not record the failed audit of %s", ref.stack_name)
            return StackOutcome(ref.account, ref.stack_name, "failed", detail=_reason(exc))
        changes = result.changes
        return StackOutcome(
            ref.account,
            ref.stack_name,
            result.status.value,
            new=len(changes.new) if changes else 0,
            resolved=len(changes.resolved) if changes else 0,
            detail=result.detail,
        )

    outcomes: list[StackOutcome] = []
    if targets:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets)))) as pool:
            futures = [pool.submit(audit_one, ref, clients) for ref, clients in targets]
            outcomes = [future.result() for future in futures]
    return SweepResult(
        request=request,
        region=region,
        accounts=tuple(accounts),
        stacks=tuple(outcomes),
        account_failures=tuple(account_failures),
    )

"""Faults injected per AWS call: an audit completes with its gaps recorded, or fails as a whole
and its retry converges; never a half-written state that resolves what it did not re-check.

Each scenario runs in a fresh moto world (``fault_world``): the sample stack is deployed and
audited once, then changed (a stack update and live changes) so that the second audit creates,
keeps and resolves findings, from the template and from the live side. That second audit (or
the stack's delete event) runs with one fault armed; the scenario's outcome is one of:

- ``gaps``: it completed, recorded its gaps on the audit item, resolved no finding in a gap's
  scope, and a later audit without the fault converges to the clean result;
- ``retried``: it raised; each finding it left is untouched or at its clean value; its retry
  (the same event again) converges to the clean result;
- ``absorbed``: it completed exactly like the clean run (the failed call did not matter: the
  write marking the alert as sent, after the publish; the audit item keeps ``alert_pending``);
- ``read-as-absent``: a NotFound answer that the collector reads as "not configured" (the API
  uses the code for both); nothing resolved that the clean run keeps, a later audit converges;
- ``duplicate-alert``: SNS Publish delivered but its answer was lost: the retry publishes
  again. At-least-once is the choice (a lost alert is worse); allowed for that fault only, and
  only as exactly one extra copy of the clean alert;
- ``stack-gone`` / ``audited`` (stack deleted during the audit): nothing was resolved that
  the clean run keeps, and the stack's delete event then resolves every finding, each announced
  once;
- ``failure``: anything else; the test fails and lists the scenario with what went wrong.

"Converges": the stored findings have exactly the statuses of the clean run, every new and
every resolved finding of the clean run was announced exactly once over all attempts (alerts
are read from an SQS queue subscribed to the topic), and the final audit item is ``ok`` with
nothing pending.

Families: ``per_call``: each operation the clean second audit made (``service:Operation``,
counted on every client: collectors', CloudFormation's, the store's and SNS's) x Throttling,
AccessDenied, NotFound, InternalError, on its first call and on every call, plus a lost
response on SNS Publish; ``audit_write_k`` / ``delete_write_k``: the k-th DynamoDB write of
the audit / of the delete event failing or losing its response, k = 1..N; ``publish``;
``stack_deleted``: the stack deleted just before one call. Operations come from the clean
run, so registering a collector adds its calls to the matrix.

CI runs a deterministic subset: each operation once (fault kinds rotated over operations),
k in {1, two in the middle, the last two} (kinds alternated), the deletion before each
CloudFormation call, the first collector call, the first DynamoDB call and the publish.
``FAULTS_FULL=1`` runs the whole matrix. ``FAULTS_JSON=benchmarks/results/faults.json`` writes
the figures (scenarios and outcomes per family, failures).
"""

from __future__ import annotations

import functools
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fault_world import (
    DELETE_STACK,
    ERROR_KINDS,
    LOST_RESPONSE,
    WRITE_OPERATIONS,
    Alerts,
    Fault,
    State,
    World,
    fresh_world,
)
from stack_auditor.audit import AuditResult, AuditStatus
from stack_auditor.model import FindingStatus, StackRef

FULL = os.environ.get("FAULTS_FULL") == "1"
FIGURES = os.environ.get("FAULTS_JSON")
OPEN, RESOLVED = FindingStatus.OPEN, FindingStatus.RESOLVED
PUBLISH = "sns:Publish"
_AUDITOR_SERVICES = ("cloudformation", "dynamodb", "sns")  # the rest are collectors' calls


@dataclass(frozen=True)
class Reference:
    """The clean run: what the second audit and then the delete event do without a fault."""

    baseline: State
    after: State
    alerts: Alerts
    calls: Counter[str]  # in the order first made
    writes: int  # DynamoDB writes of the second audit
    delete_writes: int  # DynamoDB writes of the delete event


@dataclass
class Trial:
    family: str
    fault: Fault
    outcome: str = "failure"
    partial: bool = False  # a failed attempt left part of its writes behind
    problems: list[str] = field(default_factory=list)


def _writes(calls: Counter[str]) -> int:
    return sum(n for op, n in calls.items() if op in WRITE_OPERATIONS)


@functools.cache
def reference() -> Reference:
    with fresh_world() as world:
        result = world.audit(world.ref("e2"))
        assert result.status is AuditStatus.AUDITED and not result.gaps, result.gaps
        calls = Counter(world.counter.calls)
        after, alerts = world.findings(), world.alerts()
        world.counter.reset()
        world.delete_stack()
        world.audit(world.ref("e-del", status="DELETE_COMPLETE"))
        delete_writes = _writes(world.counter.calls)
    return Reference(world.baseline, after, alerts, calls, _writes(calls), delete_writes)


def _status(state: State, fid: str) -> FindingStatus | None:
    return state[fid][2] if fid in state else None


def _pairs(state: State, ids: Iterable[str]) -> Counter[tuple[str, str | None]]:
    return Counter((state[i][0], state[i][1]) for i in ids)


def _attempt(
    world: World, ref: StackRef, fault: Fault
) -> tuple[AuditResult | None, Exception | None]:
    world.injector.arm(fault)
    try:
        return world.audit(ref), None
    except Exception as exc:  # the audit failing as a whole is one of the allowed outcomes
        return None, exc
    finally:
        world.injector.disarm()


def _consistent(before: State, clean: State, now: State) -> list[str]:
    """Each stored finding is untouched or at its clean value: no half-way or foreign state."""
    problems = []
    for fid, (rule, logical_id, status) in now.items():
        allowed = {s for s in (_status(before, fid), _status(clean, fid)) if s}
        if status not in allowed:
            problems.append(f"{rule} on {logical_id} is {status}, expected one of {allowed}")
    return problems


def _announced_within(alerts: Alerts, clean: Alerts) -> list[str]:
    problems = [f"announced new {k} x{n}" for k, n in alerts.new.items() if n > clean.new[k]]
    problems += [
        f"announced resolved {k} x{n}" for k, n in alerts.resolved.items() if n > clean.resolved[k]
    ]
    return problems


def _converged(
    world: World, ref: Reference, alerts: Alerts, audit_id: str, copies: int = 1
) -> list[str]:
    """The stored findings, the announcements (``copies`` of the clean alert) and the final
    audit item are the clean run's."""
    problems = []
    now = world.findings()
    for fid in sorted(set(now) | set(ref.after)):
        if now.get(fid) != ref.after.get(fid):
            rule, logical_id, _ = now.get(fid) or ref.after[fid]
            problems.append(
                f"{rule} on {logical_id}: {_status(now, fid)}, clean {_status(ref.after, fid)}"
            )
    expected_new = Counter({k: n * copies for k, n in ref.alerts.new.items()})
    expected_resolved = Counter({k: n * copies for k, n in ref.alerts.resolved.items()})
    if alerts.new != expected_new or alerts.resolved != expected_resolved:
        problems.append(
            f"announced new {dict(alerts.new)} resolved {dict(alerts.resolved)}; expected new "
            f"{dict(expected_new)} resolved {dict(expected_resolved)}"
        )
    # a "failed" trace of the same event may precede it (the collect error was recorded)
    items = world.audit_items(audit_id)
    outcomes = sorted(str(i.get("outcome")) for i in items)
    pending = [i["alert_pending"] for i in items if "alert_pending" in i]
    if outcomes not in (["ok"], ["failed", "ok"]) or pending:
        problems.append(f"audit items of {audit_id}: {outcomes}, pending {pending}")
    return problems


def _gap_problems(world: World, result: AuditResult, before: State, now: State) -> list[str]:
    problems = []
    items = [i for i in world.audit_items("e2") if i.get("outcome") == "ok"]
    if len(items) != 1 or not items[0].get("gaps") or items[0]["gap_count"] != len(result.gaps):
        problems.append(f"gaps not recorded on the audit item: {items}")
    scopes = {g.scope for g in result.gaps}
    for fid, (rule, logical_id, status) in now.items():
        resolved_now = status is RESOLVED and _status(before, fid) is OPEN
        if resolved_now and (logical_id or "stack") in scopes:
            problems.append(f"{rule} on {logical_id} resolved under a gap of its scope")
    return problems


def _finish(trial: Trial) -> Trial:
    if trial.problems:
        trial.outcome = "failure"
    return trial


def update_trial(family: str, fault: Fault) -> Trial:
    """The second audit with ``fault`` armed, then its retry or a later audit."""
    ref = reference()
    trial = Trial(family, fault)
    with fresh_world() as world:
        result, error = _attempt(world, world.ref("e2"), fault)
        if not world.injector.fired:
            trial.problems.append("the fault never fired")
        now, alerts = world.findings(), world.alerts()
        trial.problems += _consistent(ref.baseline, ref.after, now)
        trial.problems += _announced_within(alerts, ref.alerts)
        trial.partial = error is not None and now != ref.baseline
        audited = result is not None and result.status is AuditStatus.AUDITED
        if error is not None:
            trial.outcome, follow_up = "retried", world.ref("e2")
        elif audited and result is not None and result.gaps:
            trial.outcome, follow_up = "gaps", world.ref("e3", trigger="sweep")
            trial.problems += _gap_problems(world, result, ref.baseline, now)
        elif audited and now == ref.after and alerts == ref.alerts:
            trial.outcome = "absorbed"
            return _finish(trial)
        elif audited and fault.kind == "NotFound":
            trial.outcome = "read-as-absent"
            world.audit(world.ref("e3", trigger="sweep"))
            if world.findings() != ref.after:
                trial.problems.append("a later audit did not converge")
            return _finish(trial)
        else:
            status = result.status if result else None
            trial.problems.append(f"completed ({status}) without a gap, unlike the clean run")
            return _finish(trial)
        try:
            again = world.audit(follow_up)
        except Exception as exc:
            trial.problems.append(f"the audit without the fault raised {exc!r}")
            return _finish(trial)
        if again.status is not AuditStatus.AUDITED:
            trial.problems.append(f"the audit without the fault ended {again.status}")
        alerts = alerts + world.alerts()
        lost_publish = fault.operations == {PUBLISH} and fault.kind == LOST_RESPONSE
        if lost_publish and not _converged(world, ref, alerts, follow_up.event_id or "", 2):
            trial.outcome = "duplicate-alert"
        else:
            trial.problems += _converged(world, ref, alerts, follow_up.event_id or "")
    return _finish(trial)


def delete_event_trial(family: str, fault: Fault) -> Trial:
    """The delete event with ``fault`` armed (after a clean second audit), then its retry."""
    trial = Trial(family, fault)
    with fresh_world() as world:
        world.audit(world.ref("e2"))
        world.alerts()
        before = world.findings()
        still_open = {fid for fid, (_, _, s) in before.items() if s is OPEN}
        world.delete_stack()
        deleted = world.ref("e-del", status="DELETE_COMPLETE")
        _, error = _attempt(world, deleted, fault)
        if not world.injector.fired:
            trial.problems.append("the fault never fired")
        now, alerts = world.findings(), world.alerts()
        trial.problems += [
            f"{rule} on {lid} is {s}"
            for fid, (rule, lid, s) in now.items()
            if s is not before[fid][2] and s is not RESOLVED
        ]
        trial.partial = error is not None and now != before
        trial.outcome = "absorbed" if error is None else "retried"
        if error is not None:
            world.audit(deleted)
            alerts = alerts + world.alerts()
        if any(s is not RESOLVED for _, _, s in world.findings().values()):
            trial.problems.append("findings left unresolved after the delete event")
        if alerts.new or alerts.resolved != _pairs(before, still_open):
            trial.problems.append(f"announced {alerts}, expected each open finding resolved once")
        items = world.audit_items("e-del")
        pending = error is not None and any("alert_pending" in i for i in items)
        if [i.get("outcome") for i in items] != ["deleted"] or pending:
            trial.problems.append(f"delete audit items: {items}")
    return _finish(trial)


def deleted_during_trial(family: str, fault: Fault) -> Trial:
    """The stack is deleted just before one call of the second audit; then its delete event."""
    ref = reference()
    trial = Trial(family, fault)
    with fresh_world() as world:
        result, error = _attempt(world, world.ref("e2"), fault)
        if not world.injector.fired:
            trial.problems.append("the deletion never happened")
        now, alerts = world.findings(), world.alerts()
        trial.problems += _consistent(ref.baseline, ref.after, now)
        trial.problems += _announced_within(alerts, ref.alerts)
        if error is not None:
            trial.outcome = "retried"
            try:
                world.audit(world.ref("e2"))
            except Exception as exc:
                trial.problems.append(f"the retry raised {exc!r}")
            alerts = alerts + world.alerts()
            trial.problems += _consistent(ref.baseline, ref.after, world.findings())
        elif result is not None and result.status is AuditStatus.STACK_GONE:
            trial.outcome = "stack-gone"
        elif result is not None and result.gaps:
            trial.outcome = "gaps"
            trial.problems += _gap_problems(world, result, ref.baseline, now)
        else:
            trial.outcome = "audited"
        ever_open = {fid for fid, (_, _, s) in world.findings().items() if s is OPEN}
        ever_open |= {fid for fid, (_, _, s) in ref.baseline.items() if s is OPEN}
        expected = _pairs(ref.after | ref.baseline, ever_open)
        world.audit(world.ref("e-del", status="DELETE_COMPLETE"))
        alerts = alerts + world.alerts()
        if any(s is not RESOLVED for _, _, s in world.findings().values()):
            trial.problems.append("findings left unresolved after the delete event")
        if alerts.resolved != expected or any(n > 1 for n in alerts.new.values()):
            trial.problems.append(f"announced {alerts}; expected each open finding resolved once")
    return _finish(trial)


# --- scenario lists: the full matrix, and CI's deterministic subset of it ---


def per_call_faults() -> list[Fault]:
    calls = reference().calls
    faults = []
    for index, op in enumerate(sorted(calls)):
        ops = frozenset({op})
        modes: list[int | None] = [None, 1] if calls[op] > 1 else [None]
        if FULL:
            faults += [Fault(ops, kind, mode) for kind in ERROR_KINDS for mode in modes]
        else:  # each operation once, the kinds (and for repeated calls the modes) rotated
            kind = ERROR_KINDS[index % len(ERROR_KINDS)]
            faults.append(Fault(ops, kind, modes[index % len(modes)]))
    # the write whose lost answer cannot be told from a failure: at-least-once
    return [*faults, Fault(frozenset({PUBLISH}), LOST_RESPONSE, None)]


def write_faults(count: int) -> list[Fault]:
    kinds = ("InternalError", LOST_RESPONSE)
    if FULL:
        return [Fault(WRITE_OPERATIONS, kind, k) for k in range(1, count + 1) for kind in kinds]
    middle = count // 2
    # the first write (the claim), two in the middle of the findings, the last two (the
    # audit item, then the mark that the alert went out)
    picked = {1, middle, middle + 1, count - 1, count}
    return [Fault(WRITE_OPERATIONS, kinds[k % 2], k) for k in sorted(picked) if 1 <= k <= count]


def deletion_faults() -> list[Fault]:
    calls = list(reference().calls)  # in the order first made
    if FULL:
        ops = calls
    else:
        collectors = [op for op in calls if not op.startswith(_AUDITOR_SERVICES)]
        dynamodb = [op for op in calls if op.startswith("dynamodb:")]
        ops = [op for op in calls if op.startswith("cloudformation:")]
        ops += [*collectors[:1], *dynamodb[:1], PUBLISH]
    return [Fault(frozenset({op}), DELETE_STACK, 1) for op in ops]


def run_family(
    family: str, faults: list[Fault], trial: Callable[[str, Fault], Trial]
) -> list[Trial]:
    trials = [trial(family, fault) for fault in faults]
    _record(family, trials)
    return trials


def _record(family: str, trials: list[Trial]) -> None:
    """Merge this family's figures into the FAULTS_JSON file, when asked for."""
    if not FIGURES:
        return
    path = Path(FIGURES)
    figures: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    if figures.get("full_matrix") != FULL:
        figures = {}
    figures["full_matrix"] = FULL
    families = figures.setdefault("families", {})
    families[family] = {
        "scenarios": len(trials),
        "outcomes": dict(Counter(t.outcome for t in trials)),
        "failed_attempts_left_partial_writes": sum(t.partial for t in trials),
        "failures": {t.fault.label: t.problems for t in trials if t.problems},
    }
    figures["operations"] = dict(sorted(reference().calls.items()))
    figures["scenarios"] = sum(f["scenarios"] for f in families.values())
    totals: Counter[str] = Counter()
    for entry in families.values():
        totals.update(entry["outcomes"])
    figures["outcomes"] = dict(sorted(totals.items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


def failures(trials: list[Trial]) -> dict[str, list[str]]:
    return {t.fault.label: t.problems for t in trials if t.outcome == "failure"}


# --- tests ---


def test_clean_run_creates_keeps_and_resolves_findings() -> None:
    ref = reference()
    assert ref.alerts.new == Counter(
        {
            ("lambda-logs-permission-missing", "WorkerFunction"): 1,
            ("sqs-queue-unencrypted", "OrdersQueue"): 1,  # live only
        }
    )
    assert ref.alerts.resolved == Counter(
        {
            ("iam-admin-access", "WorkerRole"): 1,
            ("iam-passrole-wildcard", "WorkerRole"): 1,
            ("iam-wildcard-action", "WorkerRole"): 1,
            ("iam-wildcard-resource", "WorkerRole"): 1,
            ("sqs-queue-unencrypted", "JobsQueue"): 1,  # fixed live
        }
    )
    # a live finding that stays: a gap hiding AuditQueue's live state must not resolve it
    assert ("sqs-queue-unencrypted", "AuditQueue", OPEN) in ref.after.values()
    assert {"cloudformation:GetTemplate", "sqs:GetQueueAttributes", PUBLISH} <= set(ref.calls)
    assert ref.writes > 10 and ref.delete_writes > 5


def test_each_call_failing_gives_gaps_or_a_whole_failure_that_retries_clean() -> None:
    trials = run_family("per_call", per_call_faults(), update_trial)
    assert failures(trials) == {}
    outcomes = Counter(t.outcome for t in trials)
    assert outcomes["gaps"] > 0 and outcomes["retried"] > 0
    assert outcomes["duplicate-alert"] == 1  # the lost Publish answer, and nothing else


def test_dynamodb_write_failing_halfway_through_the_audit_retries_clean() -> None:
    trials = run_family("audit_write_k", write_faults(reference().writes), update_trial)
    assert failures(trials) == {}
    assert sum(t.partial for t in trials) > 0  # attempts really left half their writes


def test_dynamodb_write_failing_halfway_through_the_delete_event_retries_clean() -> None:
    trials = run_family(
        "delete_write_k", write_faults(reference().delete_writes), delete_event_trial
    )
    assert failures(trials) == {}
    assert sum(t.partial for t in trials) > 0


def test_publish_failing_is_announced_by_the_retry() -> None:
    kinds = ("Throttling", "InternalError") if FULL else ("InternalError",)
    trials = run_family(
        "publish", [Fault(frozenset({PUBLISH}), kind, None) for kind in kinds], update_trial
    )
    assert failures(trials) == {}
    assert {t.outcome for t in trials} == {"retried"}


def test_stack_deleted_during_the_audit_resolves_only_through_its_delete_event() -> None:
    trials = run_family("stack_deleted", deletion_faults(), deleted_during_trial)
    assert failures(trials) == {}

"""Fill a deployed stack's snapshot with live state: StackSnapshot -> StackSnapshot (live).

Only the collectors whose service a selected rule reads run (``RuleMeta.live_services``), and
each gets only the stack's own resources of its types that have a physical id. A resource of
its types without one (the resource list could not be read, or the resource is gone) is a gap:
nothing was read for it, so the template alone must not vouch for it. The tasks run on one
bounded thread pool; a task that raises becomes a gap on the resources it was reading.
The result is a new snapshot: ``live`` set on every resource something was read for, the
collectors' account-level facts in ``extras``, their gaps appended, ``live_read`` True.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from stack_auditor.collect.live import ClientSource, Collector, LiveContext, Task
from stack_auditor.model import Resource, StackSnapshot, freeze
from stack_auditor.resolve import partition_of

if TYPE_CHECKING:
    from stack_auditor.rule import Rule

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 8  # bounded: a big stack must not trip the account's API rate limits


def needed_services(rules: Iterable[Rule]) -> frozenset[str]:
    services: set[str] = set()
    for rule in rules:
        services |= rule.meta.live_services()
    return frozenset(services)


def selected_collectors(
    rules: Iterable[Rule], collectors: Sequence[Collector] | None = None
) -> tuple[Collector, ...]:
    """The collectors the rules need, in registry order."""
    if collectors is None:
        from stack_auditor.collect.registry import COLLECTORS

        collectors = COLLECTORS
    services = needed_services(rules)
    return tuple(c for c in collectors if c.service in services)


def _targets(snapshot: StackSnapshot, collector: Collector) -> list[Resource]:
    return [r for r in snapshot.resources.values() if r.physical_id and collector.wants(r.type)]


def _unlocated(snapshot: StackSnapshot, collector: Collector) -> list[Resource]:
    return [r for r in snapshot.resources.values() if not r.physical_id and collector.wants(r.type)]


def _no_physical_id_gap(snapshot: StackSnapshot) -> tuple[str, str]:
    """(reason, detail) of the gap on a resource the collectors could not locate."""
    for gap in snapshot.gaps:
        if gap.scope == "stack" and gap.what == "cloudformation:ListStackResources":
            return (
                gap.reason,
                f"no physical id: the stack's resource list was not read ({gap.detail})",
            )
    return "NotFound", "no physical id: the stack does not list this resource as deployed"


def _run(task: Task, context: LiveContext) -> None:
    try:
        task.run()
    except Exception as exc:  # every failure is a gap on what the task was reading
        log.info("live read %s for %s failed: %s", task.action, task.scopes, exc)
        for scope in task.scopes:
            context.gap(scope, task.action, exc)


def collect_live(
    snapshot: StackSnapshot,
    clients: ClientSource,
    rules: Iterable[Rule],
    *,
    collectors: Sequence[Collector] | None = None,
    max_workers: int = DEFAULT_WORKERS,
) -> StackSnapshot:
    """The snapshot with the live state the rules read; never raises for an AWS error."""
    rules = tuple(rules)
    ref = snapshot.ref
    context = LiveContext(
        clients=clients,
        account=ref.account,
        region=ref.region,
        partition=partition_of(ref.region),
        snapshot=snapshot,
    )
    tasks: list[Task] = []
    for collector in selected_collectors(rules, collectors):
        targets = _targets(snapshot, collector)
        # Without a physical id nothing can be read: a gap, or rules would judge the template
        # alone (a resource list failing or a stack deleted mid-audit would resolve findings).
        for resource in _unlocated(snapshot, collector):
            reason, detail = _no_physical_id_gap(snapshot)
            context.gap(resource.logical_id, f"{collector.service}:*", reason, detail)
        try:
            tasks.extend(collector.plan(context, targets))
        except Exception as exc:  # a broken plan costs its own service, not the audit
            log.exception("planning %s failed", collector.service)
            for resource in targets:
                context.gap(resource.logical_id, f"{collector.service}:*", exc)

    if tasks:
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(tasks)))) as pool:
            for future in [pool.submit(_run, task, context) for task in tasks]:
                future.result()

    resources = dict(snapshot.resources)
    for logical_id, values in context.live.items():
        if logical_id in resources:
            resources[logical_id] = replace(resources[logical_id], live=freeze(values))
    extras = dict(snapshot.extras)
    extras.update(context.extras)
    return replace(
        snapshot,
        resources=MappingProxyType(resources),
        extras=freeze(extras),
        gaps=snapshot.gaps + tuple(context.gaps),
        live_read=True,
    )

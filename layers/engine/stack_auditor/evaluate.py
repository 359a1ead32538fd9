"""Run the rule catalog over one snapshot: StackSnapshot -> verdicts.

A rule that raises does not stop the audit: it becomes one UNKNOWN verdict naming the
exception, and the traceback is logged. On a live snapshot, a PASS from a rule whose live read
of that resource failed (a gap of one of the services it reads) becomes UNKNOWN: what could not
be seen is never reported as compliant.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable
from dataclasses import replace

from stack_auditor.config import AuditConfig
from stack_auditor.model import Gap, Outcome, StackSnapshot, Verdict
from stack_auditor.rule import Rule
from stack_auditor.rules import CATALOG

logger = logging.getLogger(__name__)


def select_rules(config: AuditConfig, rules: Iterable[Rule] = CATALOG) -> tuple[Rule, ...]:
    """The rules the configuration enables, in catalog order."""
    return tuple(rule for rule in rules if rule.meta.id not in config.disabled_rules)


def evaluate(
    snapshot: StackSnapshot, config: AuditConfig, rules: Iterable[Rule] = CATALOG
) -> tuple[Verdict, ...]:
    # The rules allocate many small short-lived containers, and each pass of the cyclic
    # collector walks every object of the (large, long-lived) snapshot: on a 500-resource
    # template that doubled the catalog's time (docs/benchmarks.md). The rules make no
    # reference cycles worth collecting mid-audit, so collection waits until they are done.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _evaluate(snapshot, config, select_rules(config, rules))
    finally:
        if collecting:
            gc.enable()


def _evaluate(
    snapshot: StackSnapshot, config: AuditConfig, rules: Iterable[Rule]
) -> tuple[Verdict, ...]:
    verdicts: list[Verdict] = []
    live_gaps = _live_gaps(snapshot)
    for rule in rules:
        try:
            found = rule.check(snapshot, config)
            services = rule.meta.live_services() if live_gaps else frozenset()
            verdicts.extend(_unseen(v, live_gaps, services) for v in found)
        except Exception as error:  # a broken rule must not cost the rest of the audit
            logger.exception("rule %s failed on stack %s", rule.meta.id, snapshot.ref.stack_name)
            verdicts.append(
                Verdict(
                    rule_id=rule.meta.id,
                    outcome=Outcome.UNKNOWN,
                    logical_id=None,
                    resource_type=None,
                    message=(
                        f"The rule {rule.meta.id} could not be evaluated: "
                        f"{type(error).__name__}: {error}"
                    ),
                    path="",
                    evidence={"source": "engine", "error": type(error).__name__},
                )
            )
    return tuple(verdicts)


def _live_gaps(snapshot: StackSnapshot) -> dict[str, list[Gap]]:
    """Resource logical id -> the gaps of its live reads (empty for a template scan)."""
    found: dict[str, list[Gap]] = {}
    if snapshot.live_read:
        for gap in snapshot.gaps:
            if ":" in gap.what and gap.scope != "stack":
                found.setdefault(gap.scope, []).append(gap)
    return found


def _unseen(verdict: Verdict, live_gaps: dict[str, list[Gap]], services: frozenset[str]) -> Verdict:
    """A PASS on a resource whose live state this rule reads but could not read -> UNKNOWN."""
    if verdict.outcome is not Outcome.PASS or not services or verdict.logical_id is None:
        return verdict
    missed = [g for g in live_gaps.get(verdict.logical_id, ()) if g.what.split(":")[0] in services]
    if not missed:
        return verdict
    gap = missed[0]
    return replace(
        verdict,
        outcome=Outcome.UNKNOWN,
        message=(
            f"{verdict.logical_id}: live state could not be read ({gap.what}: {gap.reason}); "
            "the template alone cannot show this setting is still compliant."
        ),
        evidence={**dict(verdict.evidence), "gap": f"{gap.what}: {gap.reason}"},
    )

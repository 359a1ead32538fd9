"""Run the rule catalog over one snapshot: StackSnapshot -> verdicts.

A rule that raises does not stop the audit: it becomes one UNKNOWN verdict naming the
exception, and the traceback is logged.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Outcome, StackSnapshot, Verdict
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
    for rule in rules:
        try:
            verdicts.extend(rule.check(snapshot, config))
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

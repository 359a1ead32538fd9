"""suppression-without-reason: a suppression that does not suppress (no reason, unknown rule).

``stack_auditor.suppressions`` is imported as a module: it imports this package's helpers,
and this module is imported while the package initialises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stack_auditor import suppressions
from stack_auditor.config import AuditConfig
from stack_auditor.model import Outcome, Severity, Side, StackSnapshot, Verdict, thaw
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._template_resources import written_verdict

META = RuleMeta(
    id="suppression-without-reason",
    title="Every suppression names a known rule and gives a reason",
    severity=Severity.LOW,
    family="Suppression",
    subject_types=("*",),
    sides=frozenset({Side.TEMPLATE}),
    risk=(
        "A suppression without a reason cannot be reviewed, and one naming an unknown rule id "
        "(a typo) silences nothing while its author believes otherwise."
    ),
    remediation=(
        "Write Metadata: {stack-auditor: {suppress: [{rule: <catalog rule id>, reason: <why "
        "this finding is accepted>}]}}."
    ),
    reference="docs/rule-catalog.md#suppression",
)


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    resources = snapshot.template.get("Resources")
    resources = resources if isinstance(resources, Mapping) else {}
    for suppression in suppressions.written_suppressions(snapshot):
        scope = suppression.scope
        body = resources.get(scope) if scope is not None and resources else None
        kind = body.get("Type") if isinstance(body, Mapping) else None
        where = f"{scope}" if scope is not None else "the template"
        problems = []
        if not suppressions.is_known_rule_id(suppression.rule):
            problems.append(f"names the unknown rule id {thaw(suppression.rule)!r}")
        if not suppression.has_reason:
            problems.append("gives no reason")
        evidence = {"source": "template", "rule": thaw(suppression.rule)}
        if problems:
            yield written_verdict(
                META,
                Outcome.FAIL,
                scope,
                kind,
                f"The suppression at {suppression.path} on {where} {' and '.join(problems)}, "
                "so it suppresses nothing.",
                path=suppression.path,
                evidence=evidence,
            )
        else:
            yield written_verdict(
                META,
                Outcome.PASS,
                scope,
                kind,
                META.title,
                path=suppression.path,
                evidence=evidence,
            )


RULE = Rule(META, check)

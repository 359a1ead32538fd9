"""Shared shape of the hardcoded-* rules: one FAIL per literal that matches, PASS per resource.

Each rule supplies a function from a template literal to what it found in it (account ids,
region names, ...). Findings are per property path, not per occurrence, so the finding id is
stable while the author edits the same value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from stack_auditor.model import Outcome, StackSnapshot, Verdict
from stack_auditor.rule import RuleMeta
from stack_auditor.rules._literals import SUB_VARIABLE, Literal, template_literals

_ENVIRONMENT_VALUE = ".Environment.Variables."

FindInLiteral = Callable[[Literal, StackSnapshot], tuple[str, ...]]
Describe = Callable[[Literal, tuple[str, ...]], str]


def literal_verdicts(
    meta: RuleMeta,
    snapshot: StackSnapshot,
    find: FindInLiteral,
    describe: Describe,
    *,
    found_is_value: bool = True,
) -> Iterator[Verdict]:
    """``found_is_value``: what ``find`` returns is part of the literal (an account id, an
    ARN), so it is withheld for environment variable values."""
    failed_ids: set[str] = set()
    for literal in template_literals(snapshot):
        found = tuple(f.replace(SUB_VARIABLE, "${...}") for f in find(literal, snapshot))
        if not found:
            continue
        if found_is_value and _ENVIRONMENT_VALUE in literal.path:
            # Environment variable values may be secrets: never copy any part of them.
            found = ("(inside an environment variable value, not shown)",)
        if literal.logical_id is not None:
            failed_ids.add(literal.logical_id)
        yield Verdict(
            rule_id=meta.id,
            outcome=Outcome.FAIL,
            logical_id=literal.logical_id,
            resource_type=literal.resource_type,
            message=describe(literal, found),
            path=literal.path,
            evidence={"source": "template", "path": literal.path, "found": list(found)},
        )
    resources = snapshot.template.get("Resources")
    if isinstance(resources, Mapping):
        for logical_id, body in resources.items():
            if logical_id in failed_ids:
                continue
            kind = body.get("Type") if isinstance(body, Mapping) else None
            yield Verdict(
                rule_id=meta.id,
                outcome=Outcome.PASS,
                logical_id=str(logical_id),
                resource_type=kind if isinstance(kind, str) else None,
                message=meta.title,
            )


def where(literal: Literal) -> str:
    """'resource X at Properties.Y' / 'output at Outputs.Z.Value' for messages."""
    if literal.logical_id is None:
        return f"the template at {literal.path}"
    return f"{literal.logical_id} ({literal.resource_type}) at {literal.path}"

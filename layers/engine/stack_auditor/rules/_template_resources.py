"""Resources of the template as written (``snapshot.template``), for the T-side rules.

T-side rules report on the logical ids the author wrote (a SAM function, not its generated
role), which may have no entry in ``snapshot.resources``; their verdicts are built here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from stack_auditor.model import EMPTY, Outcome, StackSnapshot, Verdict
from stack_auditor.rule import RuleMeta


def written_resources(
    snapshot: StackSnapshot, types: frozenset[str] | None = None
) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(logical id, type, properties as written) of the original template, in order."""
    resources = snapshot.template.get("Resources")
    if not isinstance(resources, Mapping):
        return
    for logical_id, body in resources.items():
        if not isinstance(body, Mapping):
            continue
        kind = body.get("Type")
        if not isinstance(kind, str) or (types is not None and kind not in types):
            continue
        props = body.get("Properties")
        yield str(logical_id), kind, props if isinstance(props, Mapping) else EMPTY


def written_verdict(
    meta: RuleMeta,
    outcome: Outcome,
    logical_id: str | None,
    resource_type: str | None,
    message: str,
    *,
    path: str = "",
    evidence: Mapping[str, Any] = EMPTY,
) -> Verdict:
    return Verdict(
        rule_id=meta.id,
        outcome=outcome,
        logical_id=logical_id,
        resource_type=resource_type,
        message=message,
        path=path,
        evidence=evidence,
    )

"""Suppressions written in the template: which verdicts they silence, and which are invalid.

A resource's ``Metadata: {stack-auditor: {suppress: [{rule: <id>, reason: <text>}]}}``
suppresses that rule on that resource; a resource SAM generated also honours the Metadata of
the SAM resource it came from (``Resource.source_logical_id``); the template's top-level
``Metadata`` suppresses for the whole stack. A suppression without a non-empty reason does not
suppress, and neither does one naming a rule id the catalog does not have: both are reported
by ``suppression-without-reason``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from stack_auditor.model import StackSnapshot, Verdict
from stack_auditor.rules._snapshot_cache import per_snapshot

METADATA_KEY = "stack-auditor"
SUPPRESSION_RULE_ID = "suppression-without-reason"


@dataclass(frozen=True, slots=True)
class Suppression:
    scope: str | None  # logical id as written in the template, None for the whole stack
    rule: Any  # as written: usually a rule id string
    reason: Any
    path: str  # where it is written: "Resources.Fn.Metadata.stack-auditor.suppress[0]"

    @property
    def has_reason(self) -> bool:
        return isinstance(self.reason, str) and bool(self.reason.strip())


@cache
def known_rule_ids() -> frozenset[str]:
    """Every rule id of the catalog and of the engine: a suppression may name any of them."""
    from stack_auditor.rules import CATALOG  # at call time: the rules import this module

    text = resources.files("stack_auditor.data").joinpath("rule_ids.json").read_text()
    return frozenset(json.loads(text)) | {rule.meta.id for rule in CATALOG}


def is_known_rule_id(rule_id: Any) -> bool:
    return isinstance(rule_id, str) and (
        rule_id in known_rule_ids() or rule_id.startswith("cfn-lint/")
    )


@per_snapshot
def written_suppressions(snapshot: StackSnapshot) -> tuple[Suppression, ...]:
    """Every suppression entry of the template, valid or not, in template order."""
    found = list(_entries(snapshot.template.get("Metadata"), None, "Metadata"))
    written = snapshot.template.get("Resources")
    if isinstance(written, Mapping):
        for logical_id, body in written.items():
            if isinstance(body, Mapping):
                path = f"Resources.{logical_id}.Metadata"
                found.extend(_entries(body.get("Metadata"), str(logical_id), path))
    # Resources that exist only in the processed template (SAM-generated) may carry their own.
    for res in snapshot.resources.values():
        if isinstance(written, Mapping) and res.logical_id in written:
            continue
        found.extend(_entries(res.metadata, res.logical_id, f"Resources.{res.logical_id}.Metadata"))
    return tuple(found)


def _entries(metadata: Any, scope: str | None, path: str) -> Iterator[Suppression]:
    if not isinstance(metadata, Mapping):
        return
    block = metadata.get(METADATA_KEY)
    if not isinstance(block, Mapping):
        return
    entries = block.get("suppress")
    if isinstance(entries, Mapping):
        entries = (entries,)
    if not isinstance(entries, (list, tuple)):
        return
    for index, entry in enumerate(entries):
        where = f"{path}.{METADATA_KEY}.suppress[{index}]"
        if isinstance(entry, Mapping):
            yield Suppression(scope, entry.get("rule"), entry.get("reason"), where)
        else:
            yield Suppression(scope, None, None, where)


@per_snapshot
def _valid_by_scope(snapshot: StackSnapshot) -> Mapping[tuple[str | None, str], str]:
    """(scope, rule id) -> reason, for valid suppressions; the first one written wins."""
    valid: dict[tuple[str | None, str], str] = {}
    for suppression in written_suppressions(snapshot):
        if suppression.has_reason and is_known_rule_id(suppression.rule):
            valid.setdefault((suppression.scope, suppression.rule), suppression.reason.strip())
    return valid


def suppression_for(snapshot: StackSnapshot, verdict: Verdict) -> str | None:
    """The reason a valid suppression gives for silencing this verdict, else None."""
    if verdict.rule_id == SUPPRESSION_RULE_ID:
        return None  # an invalid suppression cannot hide its own report
    valid = _valid_by_scope(snapshot)
    if not valid:
        return None
    scopes: list[str | None] = []
    if verdict.logical_id is not None:
        scopes.append(verdict.logical_id)
        res = snapshot.resources.get(verdict.logical_id)
        if res is not None and res.source_logical_id:
            scopes.append(res.source_logical_id)
    scopes.append(None)
    for scope in scopes:
        reason = valid.get((scope, verdict.rule_id))
        if reason is not None:
            return reason
    return None

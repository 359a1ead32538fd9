"""The failed live read behind a resource's missing live state, for rules that must say UNKNOWN.

On a live snapshot, a resource whose description is absent either was not asked for (no
collector reads it: the template is all there is) or could not be read (a gap). Only the
second is unknown: the deployed value may differ from the template's, so neither PASS nor FAIL
can be claimed from the template alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stack_auditor.model import Gap, Resource, StackSnapshot, Verdict

if TYPE_CHECKING:
    from stack_auditor.rule import RuleMeta


def live_gap(snapshot: StackSnapshot, resource: Resource, *services: str) -> Gap | None:
    """The first gap of a live read of ``resource`` by one of ``services`` (IAM prefixes)."""
    if not snapshot.live_read:
        return None
    for gap in snapshot.gaps:
        if gap.scope == resource.logical_id and gap.what.split(":")[0] in services:
            return gap
    return None


def unread(
    meta: RuleMeta, resource: Resource, gap: Gap, path: str, noun: str, what: str
) -> Verdict:
    """UNKNOWN: the deployed ``noun`` ("topic", "table's backups") could not be read, and the
    template alone cannot show ``what``."""
    return meta.unknown(
        resource,
        f"{resource.logical_id} ({resource.type}) {path}: the deployed {noun} could not be read "
        f"({gap.what}: {gap.reason}); the template alone cannot show {what}.",
        path=path,
        evidence={"source": "live", "gap": f"{gap.what}: {gap.reason}"},
    )

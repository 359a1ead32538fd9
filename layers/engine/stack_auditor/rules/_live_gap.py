"""The failed live read behind a resource's missing live state, for rules that must say UNKNOWN.

On a live snapshot, a resource whose description is absent either was not asked for (no
collector reads it: the template is all there is) or could not be read (a gap). Only the
second is unknown: the deployed value may differ from the template's, so neither PASS nor FAIL
can be claimed from the template alone.
"""

from __future__ import annotations

from stack_auditor.model import Gap, Resource, StackSnapshot


def live_gap(snapshot: StackSnapshot, resource: Resource, *services: str) -> Gap | None:
    """The first gap of a live read of ``resource`` by one of ``services`` (IAM prefixes)."""
    if not snapshot.live_read:
        return None
    for gap in snapshot.gaps:
        if gap.scope == resource.logical_id and gap.what.split(":")[0] in services:
            return gap
    return None

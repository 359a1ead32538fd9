"""Does a function's execution role grant what its configuration needs? Shared by the X rules.

The function's settings are read from live state when collected (``resource.live``), else
from the resolved template. The role's grants come from ``_iam_sources.role_grants`` (every
source); a role outside the stack or an unreadable policy makes a missing grant UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stack_auditor.model import Resource, StackSnapshot, Verdict
from stack_auditor.rule import RuleMeta
from stack_auditor.rules._iam import Access, access
from stack_auditor.rules._iam_sources import grants_of_function
from stack_auditor.rules._literals import partition_of

# (action, resource ARNs any of which may be granted)
Need = tuple[str, tuple[str, ...]]


def setting(function: Resource, *path: str | int) -> Any:
    """A function setting: live when collected, else resolved from the template."""
    if function.live is not None and path and path[0] in function.live:
        node: Any = function.live
        for key in path:
            node = node.get(key) if hasattr(node, "get") else None
        return node
    return function.prop(*path)


def arn_prefix(snapshot: StackSnapshot, service: str) -> str:
    ref = snapshot.ref
    return f"arn:{partition_of(ref.region)}:{service}:{ref.region}:{ref.account}"


def judge_needs(
    meta: RuleMeta,
    snapshot: StackSnapshot,
    function: Resource,
    needs: Sequence[Need],
    *,
    need_all: bool,
    path: str,
    purpose: str,
    actions_label: str | None = None,
    target_label: str | None = None,
) -> Verdict:
    """PASS when the role grants all (``need_all``) or any of ``needs``; else FAIL/UNKNOWN.

    ``actions_label`` stands for the list of actions in messages and evidence when the list
    is long (e.g. "any dynamodb action"); ``target_label`` stands for the resource ARNs when
    they must not be shown (they may equal an environment variable's value).
    """
    where = f"{function.logical_id} (AWS::Lambda::Function) {path}"
    grants = grants_of_function(snapshot, function)
    if isinstance(grants, str):
        return meta.unknown(
            function,
            f"{where}: cannot tell whether the role allows {purpose}: {grants}.",
            path=path,
            evidence={"source": "resolved", "reason": grants},
        )
    results = {
        action: access(grants.statements, action, arns, complete=grants.complete)
        for action, arns in needs
    }
    granted = [a for a, r in results.items() if r is Access.ALLOWED]
    missing = [a for a, r in results.items() if r is Access.NOT_ALLOWED]
    unknown = [a for a, r in results.items() if r is Access.UNKNOWN]
    if actions_label is not None:
        granted, missing, unknown = (
            [actions_label] if x else [] for x in (granted, missing, unknown)
        )
    role = grants.role.logical_id
    resources = sorted({arn for _a, arns in needs for arn in arns})
    evidence: dict[str, Any] = {
        "source": "resolved",
        "role": role,
        "resources": [target_label] if target_label else resources,
        "granted": granted,
        "missing": missing,
    }
    if (granted and not need_all) or (need_all and not missing and not unknown):
        return meta.passed(function, path=path, evidence=evidence)
    if unknown:
        reasons = "; ".join(grants.unreadable) or "part of a statement cannot be resolved"
        evidence["unknown"] = unknown
        return meta.unknown(
            function,
            f"{where}: cannot tell whether role {role} allows {', '.join(unknown)} "
            f"for {purpose} ({reasons}).",
            path=path,
            evidence=evidence,
        )
    wanted = missing if need_all or actions_label else [a for a, _ in needs]
    joiner = " and " if need_all else " or "
    return meta.failed(
        function,
        f"{where} needs {purpose}, but its role {role} grants no {joiner.join(wanted)} "
        f"on {target_label or ', '.join(resources)}: the calls fail at run time with AccessDenied.",
        path=path,
        evidence=evidence,
    )

"""Shared shape of the IAM statement rules: one FAIL per offending statement, PASS per holder."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from stack_auditor.model import Resource, StackSnapshot, Verdict, thaw
from stack_auditor.rule import RuleMeta
from stack_auditor.rules._iam import Statement
from stack_auditor.rules._iam_live import policy_view
from stack_auditor.rules._iam_sources import AuthoredDocument

# Returns why the statement fails the rule, or None.
JudgeStatement = Callable[[AuthoredDocument, Statement], str | None]


def statement_verdicts(
    meta: RuleMeta,
    snapshot: StackSnapshot,
    judge: JudgeStatement,
    *,
    resource_policies: bool = True,
    extra_failures: Callable[[Resource], Iterator[Verdict]] | None = None,
) -> Iterator[Verdict]:
    """One FAIL per offending Allow statement (on the deployed documents when read, see
    ``_iam_live``), UNKNOWN for unreadable documents and unread holders, else PASS."""
    view = policy_view(snapshot)
    judged: set[str] = set()  # holders with a FAIL or UNKNOWN verdict
    reported: set[tuple[str, str]] = set()  # one policy read on several roles: one finding
    for document in view.documents:
        if document.is_resource_policy and not resource_policies:
            continue
        holder = document.holder
        if document.problem is not None:
            judged.add(holder.logical_id)
            yield meta.unknown(
                holder,
                f"{holder.logical_id} ({holder.type}) {document.path}: {document.problem}.",
                path=document.path,
                evidence={"source": document.source, "reason": document.problem},
            )
        for statement in document.statements:
            if not statement.allows or (holder.logical_id, statement.path) in reported:
                continue
            why = judge(document, statement)
            if why is None:
                continue
            judged.add(holder.logical_id)
            reported.add((holder.logical_id, statement.path))
            yield _failed(meta, document, statement, why)
    if extra_failures is not None:
        for res in snapshot.resources.values():
            for verdict in extra_failures(res):
                judged.add(res.logical_id)
                yield verdict
    for res in snapshot.of_type(*meta.subject_types):
        if res.logical_id in judged:
            continue
        if res.logical_id in view.unseen:
            gap = view.unseen[res.logical_id]
            yield meta.unknown(
                res,
                f"{res.logical_id} ({res.type}): its deployed policies could not be read "
                f"({gap}); the template alone cannot show they are compliant.",
                evidence={"source": "live", "gap": gap},
            )
            continue
        evidence = view.evidence(res.logical_id)
        drift = evidence.get("drift")
        message = f"{meta.title} (as deployed). Drift: {'; '.join(drift)}." if drift else ""
        yield meta.passed(res, message, evidence=evidence)


def _failed(meta: RuleMeta, document: AuthoredDocument, statement: Statement, why: str) -> Verdict:
    holder = document.holder
    where = f"{holder.logical_id} ({holder.type}) {statement.path}"
    evidence: dict[str, Any] = {
        "source": document.source,
        "statement": statement_evidence(statement),
    }
    if document.source == "live":
        where += " (deployed)"
    if statement.path in document.added:
        why += (
            " The template does not have this statement: it was added outside "
            "CloudFormation (drift)."
        )
        evidence["drift"] = "deployed, not in the template"
    return meta.failed(holder, f"{where}: {why}", path=statement.path, evidence=evidence)


def statement_evidence(statement: Statement) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "Effect": statement.effect,
        "NotAction" if statement.not_action else "Action": thaw(statement.actions),
        "NotResource" if statement.not_resource else "Resource": thaw(statement.resources),
    }
    if statement.condition:
        evidence["Condition"] = thaw(statement.condition)
    return evidence


_ROOT = re.compile(r"^(?:arn:[\w-]+:iam::(\d{12}):root|(\d{12}))$")


def is_kms_default_root_statement(document: AuthoredDocument, statement: Statement) -> bool:
    """The key policy statement every KMS key gets by default: account root, kms:*, *."""
    if document.holder.type != "AWS::KMS::Key":
        return False
    principal = statement.principal
    values = principal.get("AWS") if isinstance(principal, Mapping) else None
    values = values if isinstance(values, tuple) else (values,)
    roots = [v for v in values if isinstance(v, str) and _ROOT.match(v)]
    return (
        bool(roots)
        and len(roots) == len(values)
        and all(isinstance(a, str) and a.lower() in ("kms:*", "*") for a in statement.actions)
    )

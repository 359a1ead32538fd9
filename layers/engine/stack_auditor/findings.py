"""Turn a rule run's verdicts into findings: stable ids, severity, suppression, remediation.

A finding is a FAIL verdict placed in its stack and its time. UNKNOWN verdicts are not
findings, but they are kept in the ``FindingSet`` because the store must know which
(rule, resource) pairs this audit could not check, so it never resolves them.

Messages, evidence and gap details pass through the stack's ``redact.redactor`` here, the one
door to the store, the alert and every output: whatever a rule or a library echoed, a secret
value of the stack leaves as ``****``. Messages and paths are capped in length too: a rule
quoting a 1 MB property value would make the finding too big for a DynamoDB item (400 KB), and
every later audit of the stack would fail the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import (
    EMPTY,
    FindingStatus,
    Gap,
    Outcome,
    Resource,
    Severity,
    StackRef,
    StackSnapshot,
    Verdict,
    freeze,
    thaw,
)
from stack_auditor.rule import Rule, RuleMeta

Suppressor = Callable[[StackSnapshot, Verdict], "str | None"]

# Verdicts of rules unknown to the catalog (e.g. "cfn-lint/E3012" when only "cfn-lint" is in
# the catalog) still become findings; this is their severity when the verdict gives none.
_FALLBACK_SEVERITY = Severity.MEDIUM
# Caps on what a finding carries (see the module docstring).
MESSAGE_LIMIT = 2000  # the longest message over the 393-template corpus has 878 characters
PATH_LIMIT = 1000
TYPE_LIMIT = 256


def capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _type_of(verdict: Verdict, resource: Resource | None) -> str | None:
    kind = verdict.resource_type or (resource.type if resource else None)
    return capped(kind, TYPE_LIMIT) if kind else kind


def format_time(moment: datetime) -> str:
    """Canonical UTC ISO 8601 with microseconds: strings compare in time order.

    The store's out-of-order protection compares these strings inside DynamoDB condition
    expressions, so every timestamp it writes must have exactly this shape.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` or offset; naive means UTC)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def finding_id(ref: StackRef, rule_id: str, logical_id: str | None, path: str) -> str:
    """Same stack (account, region, name), rule, resource and property path -> same id.

    The stack id (with its UUID) is deliberately left out: a stack deleted and re-created
    under the same name is the same thing to the people reading the findings.
    """
    key = "\x1f".join((ref.account, ref.region, ref.stack_name, rule_id, logical_id or "", path))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Finding:
    finding_id: str
    rule_id: str
    severity: Severity
    status: FindingStatus
    logical_id: str | None  # None: about the template as a whole
    physical_id: str | None
    resource_type: str | None
    message: str
    remediation: str
    evidence: Mapping[str, Any]
    path: str
    first_seen: str  # format_time()
    last_seen: str
    stack_name: str
    account: str
    region: str
    title: str = ""
    file: str | None = None  # scan: the template file
    line: int | None = None  # scan: line of the resource in that file
    suppression_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (CLI output, alert rendering)."""
        return {
            "finding_id": self.finding_id,
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "status": self.status.value,
            "logical_id": self.logical_id,
            "physical_id": self.physical_id,
            "resource_type": self.resource_type,
            "message": self.message,
            "remediation": self.remediation,
            "evidence": thaw(self.evidence),
            "path": self.path,
            "file": self.file,
            "line": self.line,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "title": self.title,
            "suppression_reason": self.suppression_reason,
        }

    @property
    def subject(self) -> tuple[str, str | None]:
        """(rule id, logical id): the unit the store protects when it could not be checked."""
        return (self.rule_id, self.logical_id)


@dataclass(frozen=True, slots=True)
class FindingSet:
    """One audit's findings plus what it could not check."""

    findings: tuple[Finding, ...] = ()
    unknowns: frozenset[tuple[str, str | None]] = frozenset()  # (rule id, logical id)
    gaps: tuple[Gap, ...] = ()
    rules_evaluated: frozenset[str] = field(default_factory=frozenset)

    @property
    def open(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status is FindingStatus.OPEN)

    @property
    def suppressed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status is FindingStatus.SUPPRESSED)


def meta_for(rule_id: str, metas: Mapping[str, RuleMeta]) -> RuleMeta | None:
    """The catalog entry for a rule id; "cfn-lint/E3012" falls back to "cfn-lint"."""
    return metas.get(rule_id) or metas.get(rule_id.split("/", 1)[0])


def _default_suppressor() -> Suppressor:
    # Imported late: the suppressions module belongs to the rules package and is only
    # needed once there are verdicts.
    from stack_auditor.suppressions import suppression_for

    return suppression_for


def to_findings(
    snapshot: StackSnapshot,
    verdicts: Iterable[Verdict],
    rules: Iterable[Rule],
    config: AuditConfig,
    seen_at: datetime,
    *,
    suppressor: Suppressor | None = None,
) -> FindingSet:
    """FAIL verdicts -> findings (OPEN, or SUPPRESSED with the reason); UNKNOWN -> unknowns.

    ``first_seen`` and ``last_seen`` are both ``seen_at`` here; the store keeps the stored
    ``first_seen`` of a finding that was already open.
    """
    from stack_auditor.redact import redactor  # late: it reads the rules' name heuristics

    rules = tuple(rules)
    metas = {r.meta.id: r.meta for r in rules}
    suppress = suppressor or _default_suppressor()
    redact = redactor(snapshot)
    ref = snapshot.ref
    stamp = format_time(seen_at)
    findings: dict[str, Finding] = {}
    unknowns: set[tuple[str, str | None]] = set()
    for verdict in verdicts:
        if verdict.outcome is Outcome.UNKNOWN:
            unknowns.add((verdict.rule_id, verdict.logical_id))
            continue
        if verdict.outcome is not Outcome.FAIL:
            continue
        meta = meta_for(verdict.rule_id, metas)
        default = meta.severity if meta else _FALLBACK_SEVERITY
        severity = verdict.severity or config.severity_for(verdict.rule_id, default)
        reason = suppress(snapshot, verdict)
        resource = snapshot.resources.get(verdict.logical_id) if verdict.logical_id else None
        fid = finding_id(ref, verdict.rule_id, verdict.logical_id, verdict.path)
        findings.setdefault(  # a rule repeating itself on one path is one finding
            fid,
            Finding(
                finding_id=fid,
                rule_id=verdict.rule_id,
                severity=severity,
                status=FindingStatus.SUPPRESSED if reason else FindingStatus.OPEN,
                logical_id=verdict.logical_id,
                physical_id=resource.physical_id if resource else None,
                resource_type=_type_of(verdict, resource),
                message=capped(redact.text(verdict.message), MESSAGE_LIMIT),
                remediation=meta.remediation if meta else "",
                evidence=freeze(redact.value(verdict.evidence)) if verdict.evidence else EMPTY,
                path=capped(verdict.path, PATH_LIMIT),
                first_seen=stamp,
                last_seen=stamp,
                stack_name=ref.stack_name,
                account=ref.account,
                region=ref.region,
                title=meta.title if meta else verdict.rule_id,
                file=snapshot.source_file,
                line=resource.line if resource else None,
                suppression_reason=reason,
            ),
        )
    ordered = sorted(
        findings.values(), key=lambda f: (f.severity.rank, f.rule_id, f.logical_id or "", f.path)
    )
    return FindingSet(
        findings=tuple(ordered),
        unknowns=frozenset(unknowns),
        gaps=tuple(redact.gap(g) for g in snapshot.gaps),
        rules_evaluated=evaluated_rule_ids(rules, config),
    )


def evaluated_rule_ids(rules: Iterable[Rule], config: AuditConfig) -> frozenset[str]:
    """Rules this configuration runs: only their stored findings may be resolved."""
    ids = {r.meta.id for r in rules if r.meta.id not in config.disabled_rules}
    if not config.cfn_lint:
        ids.discard("cfn-lint")  # opt-in: off means "not checked", not "all fixed"
    return frozenset(ids)

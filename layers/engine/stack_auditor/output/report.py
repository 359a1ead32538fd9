"""The renderer-neutral result of one scan or audit: JSON-ready findings, unknowns and gaps.

Every output format reads this one value, so the table, JSON and SARIF views can never
disagree about what was found. Findings are plain ``Finding.to_dict()`` mappings: the demo
renders findings read back from DynamoDB through the same path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stack_auditor import __version__
from stack_auditor.findings import MESSAGE_LIMIT, capped
from stack_auditor.model import FindingStatus, Gap, Outcome, Severity, StackSnapshot, Verdict

TOOL_NAME = "stack-auditor"
TOOL_URI = "https://github.com/stack-auditor/stack-auditor"


@dataclass(frozen=True, slots=True)
class Report:
    template: str | None  # the scanned file; None for a deployed stack
    stack_name: str | None
    findings: tuple[Mapping[str, Any], ...]  # Finding.to_dict() rows, worst first
    unknown: tuple[Mapping[str, Any], ...] = ()  # UNKNOWN verdicts: what could not be checked
    gaps: tuple[Mapping[str, Any], ...] = ()  # what could not be read, and why

    @property
    def open(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(f for f in self.findings if f.get("status") == FindingStatus.OPEN.value)

    @property
    def suppressed(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(f for f in self.findings if f.get("status") == FindingStatus.SUPPRESSED.value)

    def open_at_least(self, threshold: Severity | None) -> tuple[Mapping[str, Any], ...]:
        """OPEN findings as bad as ``threshold`` or worse (none when threshold is None)."""
        if threshold is None:
            return ()
        return tuple(f for f in self.open if severity_of(f).at_least(threshold))

    def summary(self) -> dict[str, Any]:
        by_severity = {s.value: 0 for s in Severity}
        for finding in self.open:
            by_severity[severity_of(finding).value] += 1
        return {
            "open_by_severity": by_severity,
            "open": len(self.open),
            "suppressed": len(self.suppressed),
            "unknown": len(self.unknown),
            "gaps": len(self.gaps),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": {"name": TOOL_NAME, "version": __version__},
            "template": self.template,
            "stack_name": self.stack_name,
            "summary": self.summary(),
            "findings": [dict(f) for f in self.findings],
            "unknown": [dict(u) for u in self.unknown],
            "gaps": [dict(g) for g in self.gaps],
        }


def severity_of(finding: Mapping[str, Any]) -> Severity:
    """A finding row's severity; an unreadable label counts as MEDIUM rather than vanishing."""
    try:
        return Severity.parse(str(finding.get("severity", "")))
    except ValueError:
        return Severity.MEDIUM


def sort_findings(findings: Iterable[Mapping[str, Any]]) -> tuple[Mapping[str, Any], ...]:
    """Worst first, then by file position, so output is stable from run to run."""
    return tuple(
        sorted(
            findings,
            key=lambda f: (
                severity_of(f).rank,
                f.get("line") or 0,
                str(f.get("rule_id", "")),
                str(f.get("logical_id") or ""),
                str(f.get("path", "")),
            ),
        )
    )


def unknown_rows(
    snapshot: StackSnapshot, verdicts: Sequence[Verdict]
) -> tuple[dict[str, Any], ...]:
    """UNKNOWN verdicts as rows with the resource's file position (they are not findings).

    Their messages are masked and capped like the findings' (``findings.to_findings``).
    """
    from stack_auditor.redact import redactor  # late: it reads the rules' name heuristics

    redact = redactor(snapshot)
    rows = []
    for verdict in verdicts:
        if verdict.outcome is not Outcome.UNKNOWN:
            continue
        resource = snapshot.resources.get(verdict.logical_id) if verdict.logical_id else None
        rows.append(
            {
                "rule_id": verdict.rule_id,
                "logical_id": verdict.logical_id,
                "resource_type": verdict.resource_type or (resource.type if resource else None),
                "message": capped(redact.text(verdict.message), MESSAGE_LIMIT),
                "path": verdict.path,
                "file": snapshot.source_file,
                "line": resource.line if resource else None,
            }
        )
    rows.sort(key=lambda r: (r["line"] or 0, r["rule_id"], r["logical_id"] or "", r["path"]))
    return tuple(rows)


def gap_rows(gaps: Iterable[Gap]) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"scope": g.scope, "what": g.what, "reason": g.reason, "detail": g.detail} for g in gaps
    )


def _redacted_gaps(snapshot: StackSnapshot) -> tuple[Gap, ...]:
    from stack_auditor.redact import redactor

    redact = redactor(snapshot)
    return tuple(redact.gap(g) for g in snapshot.gaps)


def build_report(
    snapshot: StackSnapshot,
    verdicts: Sequence[Verdict],
    findings: Iterable[Mapping[str, Any]],
    *,
    template: str | None,
) -> Report:
    return Report(
        template=template,
        stack_name=snapshot.ref.stack_name,
        findings=sort_findings(findings),
        unknown=unknown_rows(snapshot, verdicts),
        gaps=gap_rows(_redacted_gaps(snapshot)),
    )

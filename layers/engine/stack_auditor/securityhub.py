"""Send one audit's findings to AWS Security Hub (opt-in: the SecurityHubExport parameter).

After the store write, the findings this audit found (new, still open, suppressed) are
imported ACTIVE and the ones it resolved are imported ARCHIVED, with BatchImportFindings in
batches of 100 and the deterministic ids of ``output.asff`` (a re-import updates in place).

Only the audited stack's findings are ever sent: the rows come from this audit's changes and
are checked against the audited stack, so an audit can never archive another stack's findings.
Findings the audit could not check (``unchecked``) are not sent: Security Hub keeps what it had.

Failures never fail the audit (the findings are already stored and the alert still goes out):
the caller logs the result and records it on the audit item. A failed import catches up at
the stack's next audit for active findings; an archive that failed stays ACTIVE in Security
Hub until the finding is resolved again or archived by hand (history shows which audit it was).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from stack_auditor.findings import Finding
from stack_auditor.model import FindingStatus, StackRef
from stack_auditor.output.asff import asff_finding
from stack_auditor.store import AuditChanges

log = logging.getLogger(__name__)

BATCH_SIZE = 100  # BatchImportFindings takes at most 100 findings per call


@dataclass(frozen=True, slots=True)
class ExportResult:
    active: int = 0  # imported as ACTIVE
    archived: int = 0  # imported as ARCHIVED (resolved by this audit)
    failed: int = 0  # findings Security Hub rejected, or in a batch whose call failed
    error: str | None = None  # the first call failure, if any

    @property
    def ok(self) -> bool:
        return not self.failed and self.error is None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "active": self.active,
            "archived": self.archived,
            "failed": self.failed,
        }
        if self.error:
            result["error"] = self.error
        return result


def _row(finding: Finding, audit_time: str) -> dict[str, Any]:
    return {
        **finding.to_dict(),
        "stack_name": finding.stack_name,
        "account": finding.account,
        "region": finding.region,
        "audit_time": audit_time,
    }


def _belongs_to(finding: Finding, ref: StackRef) -> bool:
    return (finding.account, finding.region, finding.stack_name) == (
        ref.account,
        ref.region,
        ref.stack_name,
    )


def audit_rows(ref: StackRef, changes: AuditChanges) -> list[dict[str, Any]]:
    """The rows to send: this audit's active findings, then those it resolved."""
    active = (*changes.new, *changes.still_open, *changes.suppressed)
    resolved = tuple(f for f in changes.resolved if f.status is FindingStatus.RESOLVED)
    rows = []
    for finding in (*active, *resolved):
        if not _belongs_to(finding, ref):  # cannot happen through the store; never send it
            log.error("finding %s is not of the audited stack; not sent", finding.finding_id)
            continue
        rows.append(_row(finding, changes.audit_time))
    return rows


def _batches(items: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def import_findings(client: Any, findings: Iterable[dict[str, Any]]) -> tuple[int, int, str | None]:
    """BatchImportFindings in batches: (succeeded, failed, first error)."""
    succeeded = failed = 0
    error: str | None = None
    for batch in _batches(list(findings), BATCH_SIZE):
        try:
            response = client.batch_import_findings(Findings=list(batch))
        except Exception as exc:  # keep going: the other batches may still get through
            failed += len(batch)
            error = error or f"{type(exc).__name__}: {exc}"[:500]
            continue
        failed += int(response.get("FailedCount", 0))
        succeeded += int(response.get("SuccessCount", 0))
        for item in response.get("FailedFindings") or ():
            log.warning(
                "Security Hub rejected %s: %s %s",
                item.get("Id"),
                item.get("ErrorCode"),
                item.get("ErrorMessage"),
            )
    return succeeded, failed, error


def export_audit(client: Any, ref: StackRef, changes: AuditChanges) -> ExportResult:
    """Import this audit's findings into Security Hub; archive the ones it resolved."""
    rows = audit_rows(ref, changes)
    findings = [asff_finding(r) for r in rows]
    succeeded, failed, error = import_findings(client, findings)
    archived = sum(1 for f in findings if f["RecordState"] == "ARCHIVED")
    if failed or error:
        # per-state success counts are unknown when some failed: report what was attempted
        return ExportResult(
            active=len(findings) - archived, archived=archived, failed=failed, error=error
        )
    return ExportResult(active=succeeded - archived, archived=archived)

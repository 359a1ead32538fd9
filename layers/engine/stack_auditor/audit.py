"""The audit pipeline shared by the Lambda handler and the CLI ``audit`` command.

StackRef -> snapshot (live) -> verdicts -> findings -> store -> alert -> SNS. The alert is
published only after the store write succeeded, so an alert never names findings nobody can
look up. Until the publish succeeds the audit record keeps the ids it has to announce
(``alert_pending``); a failed publish raises, and the retry of the same event (same audit id,
same deployment time) announces them again instead of finding "nothing new".

With a Security Hub client (the SecurityHubExport option) the audit's findings are also sent
to Security Hub after the store write and before the alert. An export failure does not fail
the audit: it is logged, recorded on the audit item (``securityhub``) and in the result.

Without a store (the CLI ``audit`` without ``--store``) the audit stops after the findings:
nothing is written, nothing is compared with earlier audits, no alert is built.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stack_auditor.alert import Alert, build_alert, publish
from stack_auditor.config import AuditConfig
from stack_auditor.event import DELETED_STATUS
from stack_auditor.findings import FindingSet, format_time, parse_time, to_findings
from stack_auditor.model import Gap, StackRef, StackSnapshot, Verdict
from stack_auditor.store import AuditChanges, FindingsStore

if TYPE_CHECKING:
    from stack_auditor.collect.live import ClientSource
    from stack_auditor.rule import Rule

log = logging.getLogger(__name__)


class AuditStatus(enum.StrEnum):
    AUDITED = "audited"
    STALE = "stale"  # an audit of a newer deployment already ran: nothing written
    DELETED = "deleted"  # DELETE_COMPLETE: the stack's findings were resolved
    STACK_GONE = "stack-gone"  # deleted before we could read it; its delete event resolves


@dataclass(frozen=True, slots=True)
class AuditResult:
    ref: StackRef
    status: AuditStatus
    audit_time: str = ""
    findings: FindingSet | None = None
    changes: AuditChanges | None = None
    alert: Alert | None = None
    message_id: str | None = None
    gaps: tuple[Gap, ...] = ()
    detail: str = ""
    securityhub: dict[str, Any] | None = None  # what the Security Hub export did, when enabled
    # what was judged, for reports (the CLI renders it like ``scan``); not in the summary
    snapshot: StackSnapshot | None = None
    verdicts: tuple[Verdict, ...] = ()

    def summary(self) -> dict[str, Any]:
        """Small JSON-ready summary (the handler's return value, the CLI's log line)."""
        changes = self.changes or AuditChanges()
        return {
            "status": self.status.value,
            "stack": self.ref.stack_name,
            "account": self.ref.account,
            "region": self.ref.region,
            "stack_status": self.ref.status,
            "audit_time": self.audit_time,
            "findings": len(self.findings.findings) if self.findings else 0,
            "new": len(changes.new),
            "still_open": len(changes.still_open),
            "resolved": len(changes.resolved),
            "suppressed": len(changes.suppressed),
            "unknown": len(self.findings.unknowns) if self.findings else 0,
            "gaps": len(self.gaps),
            "alerted": self.alert is not None,
            "message_id": self.message_id,
            "detail": self.detail,
            "securityhub": self.securityhub,
        }


def _event_time(ref: StackRef, now: datetime) -> datetime:
    return parse_time(ref.event_time) if ref.event_time else now


def _end_of_event_second(ref: StackRef, now: datetime) -> datetime:
    """The delete's ordering time when only the event time is known.

    Event times are whole seconds while deployment times have milliseconds: a stack updated
    at 10:00:00.400 and deleted in that same second gets an event stamped 10:00:00, which
    would sort before the update. The delete happened somewhere in that second, after the
    update it follows, so the end of the second orders it correctly.
    """
    moment = _event_time(ref, now)
    return moment.replace(microsecond=999_999) if moment.microsecond == 0 else moment


def _audit_time(last_updated: str | None, ref: StackRef, now: datetime) -> datetime:
    """The deployment's time orders audits of one stack; the event time stands in for it."""
    if last_updated:
        try:
            return parse_time(last_updated)
        except ValueError:
            log.warning("unparseable LastUpdatedTime %r, using the event time", last_updated)
    return _event_time(ref, now)


def _replaced_deployment(ref: StackRef, last_updated: str | None) -> str:
    """Why an event is about a deployment the stack has since replaced ("" when it is not).

    EventBridge gives no order: the create's event may arrive after the update that followed
    it. The stack read now is the update's, already audited by (or soon by) its own event, so
    the late event has nothing of its own to audit. Event times are whole seconds and the
    deployment's start has milliseconds: only an event from an earlier second is late.
    """
    if ref.trigger != "event" or not ref.event_time or not last_updated:
        return ""
    try:
        event_time = parse_time(ref.event_time)
        started = parse_time(last_updated).replace(microsecond=0)
    except ValueError:
        return ""
    if event_time >= started:
        return ""
    return (
        f"the event ({ref.status} at {ref.event_time}) is about a deployment the stack has "
        f"since replaced (current deployment started {last_updated}): its audit is that one's"
    )


def _deletion_time(cfn_client: Any, ref: StackRef) -> datetime | None:
    """DeletionTime of the deleted stack: the deployment time a delete is ordered by.

    Only a stack id finds a deleted stack. Any failure falls back to the event time, which
    CloudFormation sets at the same moment.
    """
    if not ref.stack_id or cfn_client is None:
        return None
    try:
        stacks = cfn_client.describe_stacks(StackName=ref.stack_id).get("Stacks") or []
    except Exception as exc:  # best effort: the event time is a good stand-in
        log.info("DescribeStacks of deleted stack failed: %s", exc)
        return None
    deleted = stacks[0].get("DeletionTime") if stacks else None
    if isinstance(deleted, datetime):
        return deleted
    return parse_time(deleted) if isinstance(deleted, str) else None


def _export_to_security_hub(
    ref: StackRef, changes: AuditChanges, store: FindingsStore, client: Any
) -> dict[str, Any] | None:
    """Best effort: the audit is stored whatever happens here (see the module docstring)."""
    if client is None or changes.stale:
        return None  # a superseded audit: the newer audit of the stack exports
    from stack_auditor.securityhub import export_audit

    try:
        result = export_audit(client, ref, changes).to_dict()
    except Exception as exc:  # never lose the audit over an export
        result = {"active": 0, "archived": 0, "failed": 0, "error": f"{exc}"[:500]}
    if result.get("failed") or result.get("error"):
        log.warning("Security Hub export incomplete: %s", result)
    try:
        store.record_export(ref, changes, result)
    except Exception as exc:
        log.warning("could not record the Security Hub export on the audit item: %s", exc)
    return result


def _alert_and_publish(
    ref: StackRef,
    changes: AuditChanges,
    config: AuditConfig,
    store: FindingsStore,
    sns_client: Any,
    topic_arn: str | None,
) -> tuple[Alert | None, str | None]:
    alert = build_alert(ref, changes, min_severity=config.alert_min_severity, account=ref.account)
    if alert is not None and sns_client is not None and topic_arn:
        message_id: str | None = publish(sns_client, topic_arn, alert)
    elif alert is not None:
        return alert, None  # dry run: keep the pending ids for a real run
    else:
        message_id = None
    try:
        store.mark_alerted(ref, changes, message_id)
    except Exception as exc:
        # The alert is out: raising now would have the retry publish it a second time. The
        # audit item keeps alert_pending without alerted_at (sent, not confirmed).
        log.warning("alert %s sent but not marked on the audit item: %s", message_id, exc)
    return alert, message_id


def run_audit(
    ref: StackRef,
    *,
    cfn_client: Any,
    store: FindingsStore | None,
    sns_client: Any,
    topic_arn: str | None,
    config: AuditConfig,
    rules: Sequence[Rule] | None = None,
    now: datetime | None = None,
    securityhub_client: Any = None,
    clients: ClientSource | None = None,
) -> AuditResult:
    """Audit one stack end to end. Raises when a retry may help (CollectError, AWS errors).

    ``sns_client``/``topic_arn`` may be None (CLI dry runs): the alert is built, not sent.
    ``securityhub_client`` (optional) receives the audit's findings after the store write.
    ``clients`` (the audited account's clients) turns on the live side: the collectors the
    selected rules need read the stack's resources (``collect.runner``); None: template only.
    ``store`` None evaluates only (see the module docstring).
    """
    now = now or datetime.now(UTC)
    if ref.status == DELETED_STATUS:
        if store is None:
            raise ValueError("a DELETE_COMPLETE event resolves stored findings: it needs a store")
        stamp = _deletion_time(cfn_client, ref) or _end_of_event_second(ref, now)
        changes = store.resolve_stack(ref, stamp)
        if changes.stale:
            return AuditResult(ref, AuditStatus.STALE, changes.audit_time, changes=changes)
        exported = _export_to_security_hub(ref, changes, store, securityhub_client)
        alert, message_id = _alert_and_publish(ref, changes, config, store, sns_client, topic_arn)
        return AuditResult(
            ref,
            AuditStatus.DELETED,
            changes.audit_time,
            changes=changes,
            alert=alert,
            message_id=message_id,
            securityhub=exported,
        )

    # Late imports: the collectors and the rule catalog are the heavy part of the engine,
    # and the handler module must import fast (DELETE events never need them).
    from stack_auditor.collect.cloudformation import (
        CollectError,
        StackGone,
        confirm_deployed,
        snapshot_from_stack,
    )
    from stack_auditor.evaluate import evaluate

    if rules is None:
        from stack_auditor.rules import CATALOG

        rules = CATALOG
    try:
        snapshot = snapshot_from_stack(cfn_client, ref)
        replaced = _replaced_deployment(ref, snapshot.last_updated)
        if replaced:
            return AuditResult(ref, AuditStatus.STALE, detail=replaced)
        if clients is not None:
            from stack_auditor.collect.runner import collect_live
            from stack_auditor.evaluate import select_rules

            snapshot = collect_live(snapshot, clients, select_rules(config, rules))
            # a stack deleted while being read: its reads saw resources vanish, not its state
            confirm_deployed(cfn_client, snapshot.ref)
    except StackGone as exc:
        return AuditResult(
            ref, AuditStatus.STACK_GONE, detail=f"stack no longer exists: {exc}"[:500]
        )
    except CollectError as exc:
        # Keep a trace, then raise: the template may be readable on the retry (throttling,
        # eventual consistency right after the deployment). Nothing stored is touched.
        if store is not None:
            store.record_failure(ref, _event_time(ref, now), f"collect failed: {exc}"[:1000])
        raise

    audit_time = _audit_time(snapshot.last_updated, ref, now)
    verdicts = evaluate(snapshot, config, rules=tuple(rules))
    finding_set = to_findings(snapshot, verdicts, rules, config, audit_time)
    if store is None:
        return AuditResult(
            snapshot.ref,
            AuditStatus.AUDITED,
            format_time(audit_time),
            findings=finding_set,
            gaps=finding_set.gaps,
            detail="not stored",
            snapshot=snapshot,
            verdicts=verdicts,
        )
    changes = store.record_audit(
        ref,
        finding_set,
        audit_time,
        gaps=finding_set.gaps,
        rules_evaluated=finding_set.rules_evaluated,
    )
    if changes.stale and not (changes.new or changes.resolved or changes.still_open):
        return AuditResult(
            ref,
            AuditStatus.STALE,
            changes.audit_time,
            findings=finding_set,
            changes=changes,
            gaps=finding_set.gaps,
            detail="a newer deployment of this stack was already audited",
            snapshot=snapshot,
            verdicts=verdicts,
        )
    exported = _export_to_security_hub(ref, changes, store, securityhub_client)
    alert, message_id = _alert_and_publish(ref, changes, config, store, sns_client, topic_arn)
    return AuditResult(
        ref,
        AuditStatus.AUDITED,
        changes.audit_time,
        findings=finding_set,
        changes=changes,
        alert=alert,
        message_id=message_id,
        gaps=finding_set.gaps,
        securityhub=exported,
        snapshot=snapshot,
        verdicts=verdicts,
    )

"""Lambda entry point: wire an EventBridge stack status event to the audit pipeline.

Everything real lives in the ``stack_auditor`` layer; this module reads the environment,
creates the AWS clients once per container and maps outcomes to what Lambda should do:
malformed and ignored events return normally (a retry would fail the same way), unexpected
errors raise so EventBridge/Lambda retry and the dead-letter queue keeps what still fails.

At-least-once delivery: an event is audited once per EventBridge event id (Powertools
idempotency, records in the findings table). A duplicate delivered after the audit returns
the first audit's summary without auditing, storing or alerting again; one arriving while it
runs raises IdempotencyAlreadyInProgressError, so it is retried and then returns that summary.
Different events of one deployment, and events arriving out of order, are ordered by the
store's conditional writes (stack_auditor.store).

Environment: FINDINGS_TABLE, ALERT_TOPIC_ARN, POWERTOOLS_SERVICE_NAME, and the audit policy:
POLICY_SSM_PARAMETER (an SSM String parameter holding the policy YAML; else the bundled
default) overridden by REQUIRED_TAGS, ALERT_MIN_SEVERITY and CFN_LINT when they are non-empty
(stack_auditor.policy_source). FINDINGS_RETENTION_DAYS: days resolved findings and audit records
are kept (DynamoDB TTL; default 365). SECURITY_HUB_EXPORT=true also sends each audit's findings
to Security Hub (stack_auditor.securityhub).
boto3 honours AWS_ENDPOINT_URL, which points the clients at an emulator in tests.

Multi-account: an event whose account is not the function's own (forwarded by a member
account's rule, member/forwarding-rule.yaml) is audited through the member role
MEMBER_ROLE_NAME in that account (stack_auditor.accounts). When that role cannot be assumed
the failure is recorded on the stack's audit history and the invocation raises: the event is
retried, then kept in the dead-letter queue until the role exists (redrive it), and the
errors alarm tells the operators. A delete event is never held back by it: it resolves the
stack's findings without reading the member account.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from stack_auditor.audit import AuditStatus, run_audit
from stack_auditor.config import AuditConfig
from stack_auditor.config_file import ConfigError
from stack_auditor.event import EventAction, parse_event
from stack_auditor.lambda_env import (
    IDEMPOTENCY_SECONDS,
    PolicyCache,
    auditor_clients,
    cached_config,
    remaining_seconds,
    ssm_client,
)
from stack_auditor.model import StackRef

if TYPE_CHECKING:
    from stack_auditor.accounts import AccountClients
    from stack_auditor.collect.clients import Clients

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="StackAuditor")

# A changed policy parameter reaches warm containers within this many seconds.
POLICY_CACHE_SECONDS = 300.0
_policy_cache: PolicyCache = {}


def config_from_env(env: Mapping[str, str] | None = None) -> AuditConfig:
    """The audit policy, kept per container for POLICY_CACHE_SECONDS per set of settings."""
    env = dict(os.environ) if env is None else env
    try:
        return cached_config(_policy_cache, env, _ssm_client, POLICY_CACHE_SECONDS)
    except ConfigError as exc:
        # Loud on purpose: no audit with half a policy; the event ends in the dead-letter queue.
        logger.error("invalid audit policy, audit not run", extra={"policy_error": str(exc)})
        raise


@cache
def _ssm_client() -> Any:
    """Created only when a policy parameter is configured."""
    return ssm_client()


@cache
def _clients() -> dict[str, Any]:
    """One set of clients per container, created on first use (not at import: cold start)."""
    return auditor_clients(os.environ)


def _audited_account(ref: StackRef, context: LambdaContext, is_delete: bool) -> Clients | None:
    """The clients of the stack's account; None for a delete whose member role failed."""
    from stack_auditor.accounts import MemberAccessError

    accounts: AccountClients = _clients()["accounts"]
    try:
        return accounts.for_account(ref.account, ref.region, valid_for=remaining_seconds(context))
    except MemberAccessError as exc:
        metrics.add_metric(name="MemberAccessFailures", unit=MetricUnit.Count, value=1)
        if is_delete:
            logger.warning("member role failed; resolving without it", extra={"error": str(exc)})
            return None
        logger.error("member account not readable, audit not run", extra={"error": str(exc)})
        stamp = ref.event_time or datetime.now(UTC)
        _clients()["store"].record_failure(ref, stamp, str(exc)[:1000])
        raise


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    parsed = parse_event(event)
    if parsed.action is EventAction.REJECT:
        logger.warning("rejected event", extra={"reason": parsed.reason})
        metrics.add_metric(name="RejectedEvents", unit=MetricUnit.Count, value=1)
        return {"status": "rejected", "reason": parsed.reason}
    ref = parsed.ref
    if ref is None:  # AUDIT and IGNORE always carry the stack; keeps the type checker honest
        raise RuntimeError(f"parsed event without a stack: {parsed}")
    logger.append_keys(stack=ref.stack_name, stack_status=ref.status, event_id=ref.event_id)
    if parsed.action is EventAction.IGNORE:
        logger.info("ignored event", extra={"reason": parsed.reason})
        metrics.add_metric(name="IgnoredEvents", unit=MetricUnit.Count, value=1)
        return {"status": "ignored", "stack": ref.stack_name, "reason": parsed.reason}

    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    once = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=IDEMPOTENCY_SECONDS)
    once.register_lambda_context(context)
    audit_once = idempotent_function(
        data_keyword_argument="event",
        persistence_store=_clients()["idempotency"],
        config=once,
        key_prefix="audit",  # stable across code versions: not the module's qualified name
    )(_audit)
    return dict(audit_once(event=event, ref=ref, is_delete=parsed.is_delete, context=context))


def _audit(*, event: Any, ref: StackRef, is_delete: bool, context: LambdaContext) -> dict[str, Any]:
    """One audit of ``ref`` (``event`` is what idempotency keys on)."""
    config = config_from_env()
    audited = _audited_account(ref, context, is_delete)
    clients = _clients()
    result = run_audit(
        ref,
        cfn_client=audited("cloudformation") if audited is not None else None,
        store=clients["store"],
        sns_client=clients["sns"],
        topic_arn=os.environ.get("ALERT_TOPIC_ARN") or None,
        config=config,
        securityhub_client=clients["securityhub"],
        clients=audited,
    )
    summary = result.summary()
    logger.info("audit done", extra={"summary": summary})
    metrics.add_metric(name="Audits", unit=MetricUnit.Count, value=1)
    if result.status is AuditStatus.AUDITED:
        metrics.add_metric(name="NewFindings", unit=MetricUnit.Count, value=summary["new"])
        metrics.add_metric(
            name="ResolvedFindings", unit=MetricUnit.Count, value=summary["resolved"]
        )
        metrics.add_metric(name="Gaps", unit=MetricUnit.Count, value=summary["gaps"])
    return summary


handler = lambda_handler

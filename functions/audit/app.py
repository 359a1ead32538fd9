"""Lambda entry point: wire an EventBridge stack status event to the audit pipeline.

Everything real lives in the ``stack_auditor`` layer; this module reads the environment,
creates the AWS clients once per container and maps outcomes to what Lambda should do:
malformed and ignored events return normally (a retry would fail the same way), unexpected
errors raise so EventBridge/Lambda retry and the dead-letter queue keeps what still fails.

Environment: FINDINGS_TABLE, ALERT_TOPIC_ARN, POWERTOOLS_SERVICE_NAME, and the audit policy:
POLICY_SSM_PARAMETER (an SSM String parameter holding the policy YAML; else the bundled
default) overridden by REQUIRED_TAGS, ALERT_MIN_SEVERITY and CFN_LINT when they are non-empty
(stack_auditor.policy_source). FINDINGS_RETENTION_DAYS: days resolved findings and audit records
are kept (DynamoDB TTL; default 365). SECURITY_HUB_EXPORT=true also sends each audit's findings
to Security Hub (stack_auditor.securityhub).
boto3 honours AWS_ENDPOINT_URL, which points the clients at an emulator in tests.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from stack_auditor.audit import AuditStatus, run_audit
from stack_auditor.config import AuditConfig
from stack_auditor.config_file import ConfigError
from stack_auditor.event import EventAction, parse_event
from stack_auditor.policy_source import (
    OVERRIDE_VARIABLES,
    POLICY_PARAMETER_VARIABLE,
    load_lambda_config,
)
from stack_auditor.store import DEFAULT_RETENTION_DAYS, FindingsStore

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="StackAuditor")

# A changed policy parameter reaches warm containers within this many seconds.
POLICY_CACHE_SECONDS = 300.0
_policy_cache: dict[tuple[str, ...], tuple[float, AuditConfig]] = {}


def config_from_env(env: Mapping[str, str] | None = None) -> AuditConfig:
    """The audit policy, kept per container for POLICY_CACHE_SECONDS per set of settings."""
    env = dict(os.environ) if env is None else env
    key = tuple(env.get(name, "") for name in (POLICY_PARAMETER_VARIABLE, *OVERRIDE_VARIABLES))
    now = time.monotonic()
    cached = _policy_cache.get(key)
    if cached is not None and now < cached[0]:
        return cached[1]
    try:
        config = load_lambda_config(env, _ssm_client)
    except ConfigError as exc:
        # Loud on purpose: no audit with half a policy; the event ends in the dead-letter queue.
        logger.error("invalid audit policy, audit not run", extra={"policy_error": str(exc)})
        raise
    _policy_cache[key] = (now + POLICY_CACHE_SECONDS, config)
    return config


@cache
def _ssm_client() -> Any:
    """Created only when a policy parameter is configured."""
    import boto3
    from botocore.config import Config

    retry = Config(retries={"mode": "adaptive", "max_attempts": 10})
    return boto3.session.Session().client("ssm", config=retry)


@cache
def _clients() -> dict[str, Any]:
    """One set of clients per container, created on first use (not at import: cold start)."""
    import boto3
    from botocore.config import Config

    retry = Config(retries={"mode": "adaptive", "max_attempts": 10})
    session = boto3.session.Session()
    table = session.resource("dynamodb", config=retry).Table(os.environ["FINDINGS_TABLE"])
    retention = os.environ.get("FINDINGS_RETENTION_DAYS", "").strip()
    export = os.environ.get("SECURITY_HUB_EXPORT", "").strip().lower() == "true"
    return {
        "cloudformation": session.client("cloudformation", config=retry),
        "sns": session.client("sns", config=retry),
        "securityhub": session.client("securityhub", config=retry) if export else None,
        "store": FindingsStore(
            table, retention_days=int(retention) if retention else DEFAULT_RETENTION_DAYS
        ),
    }


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

    clients = _clients()
    result = run_audit(
        ref,
        cfn_client=clients["cloudformation"],
        store=clients["store"],
        sns_client=clients["sns"],
        topic_arn=os.environ.get("ALERT_TOPIC_ARN") or None,
        config=config_from_env(),
        securityhub_client=clients["securityhub"],
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

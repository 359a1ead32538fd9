"""Lambda entry point: wire an EventBridge stack status event to the audit pipeline.

Everything real lives in the ``stack_auditor`` layer; this module reads the environment,
creates the AWS clients once per container and maps outcomes to what Lambda should do:
malformed and ignored events return normally (a retry would fail the same way), unexpected
errors raise so EventBridge/Lambda retry and the dead-letter queue keeps what still fails.

Environment: FINDINGS_TABLE, ALERT_TOPIC_ARN, ALERT_MIN_SEVERITY (default HIGH),
REQUIRED_TAGS (comma-separated keys, default iac-rlhf-amazon), POWERTOOLS_SERVICE_NAME.
boto3 honours AWS_ENDPOINT_URL, which points the clients at an emulator in tests.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from stack_auditor.audit import AuditStatus, run_audit
from stack_auditor.config import AuditConfig, RequiredTag
from stack_auditor.event import EventAction, parse_event
from stack_auditor.model import Severity
from stack_auditor.store import FindingsStore

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="StackAuditor")

DEFAULT_REQUIRED_TAGS = "iac-rlhf-amazon"


def config_from_env(env: dict[str, str] | None = None) -> AuditConfig:
    env = dict(os.environ) if env is None else env
    keys = [k.strip() for k in env.get("REQUIRED_TAGS", DEFAULT_REQUIRED_TAGS).split(",")]
    return AuditConfig(
        required_tags=tuple(RequiredTag(k) for k in keys if k),
        alert_min_severity=Severity.parse(env.get("ALERT_MIN_SEVERITY") or "HIGH"),
    )


@cache
def _clients() -> dict[str, Any]:
    """One set of clients per container, created on first use (not at import: cold start)."""
    import boto3
    from botocore.config import Config

    retry = Config(retries={"mode": "adaptive", "max_attempts": 10})
    session = boto3.session.Session()
    table = session.resource("dynamodb", config=retry).Table(os.environ["FINDINGS_TABLE"])
    return {
        "cloudformation": session.client("cloudformation", config=retry),
        "sns": session.client("sns", config=retry),
        "store": FindingsStore(table),
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

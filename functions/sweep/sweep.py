"""Lambda entry point of the scheduled sweep: wire a sweep event to ``stack_auditor.sweep``.

EventBridge Scheduler invokes this function with the sweep event (events/sweep.json; the
SweepSchedule template parameter sets the rate). It audits every deployed stack of the
function's own account and of MEMBER_ACCOUNT_IDS in this region, SWEEP_WORKERS at a time,
through the same pipeline as the audit function (``run_audit``, trigger "sweep"), and returns
the counts. One stack's failure does not stop the sweep: it is recorded on that stack's audit
history and counted in ``failed``. The SweepFailures metric (alarmed) counts the stacks and
accounts a sweep could not audit: failed, unlistable, or skipped for lack of time.

Environment: as the audit function (FINDINGS_TABLE, ALERT_TOPIC_ARN, the policy variables,
FINDINGS_RETENTION_DAYS, SECURITY_HUB_EXPORT), plus MEMBER_ROLE_NAME and MEMBER_ACCOUNT_IDS.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from stack_auditor.config import AuditConfig
from stack_auditor.config_file import ConfigError
from stack_auditor.lambda_env import (
    PolicyCache,
    auditor_clients,
    cached_config,
    findings_store,
    member_accounts,
    remaining_seconds,
    ssm_client,
)

if TYPE_CHECKING:
    from stack_auditor.accounts import AccountClients
    from stack_auditor.audit import AuditResult
    from stack_auditor.collect.clients import Clients
    from stack_auditor.model import StackRef
    from stack_auditor.store import FindingsStore

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="StackAuditor")

POLICY_CACHE_SECONDS = 300.0
_policy_cache: PolicyCache = {}
# One findings store per pool thread: boto3 sessions and resources are not thread-safe.
_local = threading.local()


def config_from_env(env: Mapping[str, str] | None = None) -> AuditConfig:
    env = dict(os.environ) if env is None else env
    try:
        return cached_config(_policy_cache, env, _ssm_client, POLICY_CACHE_SECONDS)
    except ConfigError as exc:
        logger.error("invalid audit policy, sweep not run", extra={"policy_error": str(exc)})
        raise


@cache
def _ssm_client() -> Any:
    return ssm_client()


@cache
def _clients() -> dict[str, Any]:
    return auditor_clients(os.environ)


def _thread_store() -> FindingsStore:
    store: FindingsStore | None = getattr(_local, "store", None)
    if store is None:
        store = _local.store = findings_store(os.environ)
    return store


def _region() -> str:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise RuntimeError("AWS_REGION is not set")
    return region


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    from stack_auditor.audit import run_audit
    from stack_auditor.sweep import SweepEventError, parse_sweep_event, run_sweep, swept_accounts

    try:
        request = parse_sweep_event(event)
    except SweepEventError as exc:
        logger.warning("rejected event", extra={"reason": str(exc)})
        metrics.add_metric(name="RejectedEvents", unit=MetricUnit.Count, value=1)
        return {"status": "rejected", "reason": str(exc)}
    logger.append_keys(sweep_id=request.sweep_id)
    config = config_from_env()
    clients = _clients()
    accounts: AccountClients = clients["accounts"]
    region = _region()
    targets = request.accounts or swept_accounts(
        accounts.own_account(region), member_accounts(os.environ)
    )
    topic_arn = os.environ.get("ALERT_TOPIC_ARN") or None

    def audit(ref: StackRef, audited: Clients) -> AuditResult:
        return run_audit(
            ref,
            cfn_client=audited("cloudformation"),
            store=_thread_store(),
            sns_client=clients["sns"],
            topic_arn=topic_arn,
            config=config,
            securityhub_client=clients["securityhub"],
            clients=audited,
        )

    def record_failure(ref: StackRef, reason: str) -> None:
        _thread_store().record_failure(ref, ref.event_time or datetime.now(UTC), reason)

    result = run_sweep(
        request,
        accounts=targets,
        region=region,
        clients_for=lambda account: accounts.for_account(
            account, region, valid_for=remaining_seconds(context)
        ),
        audit=audit,
        record_failure=record_failure,
        remaining_seconds=lambda: remaining_seconds(context),
    )
    summary = result.summary()
    incomplete = summary["failed"] + summary["failed_accounts"] + summary["skipped"]
    (logger.error if incomplete else logger.info)("sweep done", extra={"summary": summary})
    metrics.add_metric(name="SweptStacks", unit=MetricUnit.Count, value=summary["stacks"])
    metrics.add_metric(name="SweepFailures", unit=MetricUnit.Count, value=incomplete)
    metrics.add_metric(name="NewFindings", unit=MetricUnit.Count, value=summary["new"])
    metrics.add_metric(name="ResolvedFindings", unit=MetricUnit.Count, value=summary["resolved"])
    return summary


handler = lambda_handler

"""What the Lambda entry points (audit, sweep) build from their environment.

Each handler keeps the results per container in its own caches; this module only builds them,
the same way for both functions:

- the audit policy (``cached_config``): SSM or the bundled default, then the overrides
  (``stack_auditor.policy_source``), kept ``seconds`` per set of settings;
- the auditor's own side (``auditor_clients``): the findings store, the alert topic's and
  Security Hub's clients, and the clients of audited accounts (``AccountClients``: its own,
  or a member's through ``MEMBER_ROLE_NAME``).

Environment: FINDINGS_TABLE, FINDINGS_RETENTION_DAYS, SECURITY_HUB_EXPORT, MEMBER_ROLE_NAME,
MEMBER_ACCOUNT_IDS (comma-separated; the sweep's member accounts). boto3 honours
AWS_ENDPOINT_URL, which points every client at an emulator in tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from stack_auditor.accounts import DEFAULT_MEMBER_ROLE, MEMBER_ROLE_VARIABLE, AccountClients
from stack_auditor.config import AuditConfig
from stack_auditor.policy_source import (
    OVERRIDE_VARIABLES,
    POLICY_PARAMETER_VARIABLE,
    load_lambda_config,
)
from stack_auditor.store import DEFAULT_RETENTION_DAYS, FindingsStore

MEMBER_ACCOUNTS_VARIABLE = "MEMBER_ACCOUNT_IDS"

PolicyCache = dict[tuple[str, ...], tuple[float, AuditConfig]]


def cached_config(
    cache: PolicyCache,
    env: Mapping[str, str],
    ssm_client_factory: Callable[[], Any],
    seconds: float,
) -> AuditConfig:
    """The audit policy of ``env``, reused from ``cache`` for ``seconds``; raises ConfigError."""
    key = tuple(env.get(name, "") for name in (POLICY_PARAMETER_VARIABLE, *OVERRIDE_VARIABLES))
    now = time.monotonic()
    cached = cache.get(key)
    if cached is not None and now < cached[0]:
        return cached[1]
    config = load_lambda_config(env, ssm_client_factory)
    cache[key] = (now + seconds, config)
    return config


def _retry() -> Any:
    from botocore.config import Config

    return Config(retries={"mode": "adaptive", "max_attempts": 10})


def ssm_client() -> Any:
    import boto3

    return boto3.session.Session().client("ssm", config=_retry())


def findings_store(env: Mapping[str, str]) -> FindingsStore:
    """A store on its own boto3 session: sessions and resources must not be shared by threads."""
    import boto3

    session = boto3.session.Session()
    table = session.resource("dynamodb", config=_retry()).Table(env["FINDINGS_TABLE"])
    retention = env.get("FINDINGS_RETENTION_DAYS", "").strip()
    return FindingsStore(
        table, retention_days=int(retention) if retention else DEFAULT_RETENTION_DAYS
    )


IDEMPOTENCY_PK = "IDEMPOTENCY#audit"
# EventBridge retries a failed delivery for up to 24 hours (the rule's retry policy): a
# duplicate arriving within that window returns the first audit's summary.
IDEMPOTENCY_SECONDS = 24 * 3600


def idempotency_store(env: Mapping[str, str]) -> Any:
    """Powertools idempotency records, kept in the findings table under their own partition
    (``pk = IDEMPOTENCY#audit``, ``sk`` = hash of the event id) and expired by its TTL."""
    import boto3
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    client = boto3.session.Session().client("dynamodb", config=_retry())
    return DynamoDBPersistenceLayer(
        table_name=env["FINDINGS_TABLE"],
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value=IDEMPOTENCY_PK,
        expiry_attr="expires_at",
        boto3_client=client,
    )


def auditor_clients(env: Mapping[str, str]) -> dict[str, Any]:
    """The auditor's store, SNS and (when exporting) Security Hub clients, and ``accounts``."""
    import boto3

    session = boto3.session.Session()
    retry = _retry()
    export = env.get("SECURITY_HUB_EXPORT", "").strip().lower() == "true"
    return {
        "sns": session.client("sns", config=retry),
        "securityhub": session.client("securityhub", config=retry) if export else None,
        "store": findings_store(env),
        "idempotency": idempotency_store(env),
        "accounts": AccountClients(
            role_name=env.get(MEMBER_ROLE_VARIABLE, "").strip() or DEFAULT_MEMBER_ROLE
        ),
    }


def member_accounts(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get(MEMBER_ACCOUNTS_VARIABLE, "")
    return tuple(a.strip() for a in raw.split(",") if a.strip())


def remaining_seconds(context: Any) -> float:
    """Seconds left in this invocation (a generous default when the context cannot tell)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000.0 if callable(remaining) else 900.0

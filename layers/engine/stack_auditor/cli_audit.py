"""The CLI ``audit`` command's AWS side: the deployed auditor's pipeline, run on one stack.

It builds what the audit function builds, from the caller's credentials: a boto3 session
(``--profile``, ``--region``), ``Clients`` for the live reads (``--endpoint-url`` for
emulators) and the CloudFormation client from them; with ``--store`` the findings store on
that table, and with ``--alert-topic`` the topic the alert goes to. Then ``run_audit`` with
trigger "audit". Without ``--store`` nothing is written anywhere: the findings are judged and
printed, never compared with earlier audits. cli.py parses the arguments and prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stack_auditor.audit import AuditResult, AuditStatus, run_audit
from stack_auditor.collect.clients import Clients
from stack_auditor.config import AuditConfig
from stack_auditor.event import parse_stack_arn
from stack_auditor.model import StackRef

MAX_NAMED = 50  # findings named per change kind in the store summary


class TargetError(Exception):
    """The stack, region or profile cannot be used (a usage error, exit 2)."""


def connect(profile: str | None, region: str | None, endpoint_url: str | None) -> Clients:
    import boto3
    import botocore.exceptions

    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound as exc:
        raise TargetError(str(exc)) from None
    if not session.region_name:
        raise TargetError("no region: pass --region or set AWS_REGION")
    return Clients(session, endpoint_url=endpoint_url, region=session.region_name)


def stack_ref(stack: str, clients: Clients) -> StackRef:
    """The stack named by ``stack`` (a name, or a stack ARN) in the caller's account."""
    arn = parse_stack_arn(stack)
    if arn is not None:
        if arn.region != clients.region:
            raise TargetError(f"{stack} is in {arn.region}: pass --region {arn.region}")
        return StackRef(arn.name, arn.account, arn.region, stack_id=stack, trigger="audit")
    account = str(clients("sts").get_caller_identity()["Account"])
    assert clients.region is not None  # connect() checks
    return StackRef(stack, account, clients.region, trigger="audit")


def audit_deployed_stack(
    stack: str,
    *,
    config: AuditConfig,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    store_table: str | None = None,
    alert_topic: str | None = None,
) -> AuditResult:
    """Audit one deployed stack; raises TargetError when it does not exist, AWS errors as is."""
    clients = connect(profile, region, endpoint_url)
    ref = stack_ref(stack, clients)
    store = None
    if store_table:
        from stack_auditor.store import FindingsStore

        table = clients.session.resource(
            "dynamodb", region_name=clients.region, endpoint_url=endpoint_url
        ).Table(store_table)
        store = FindingsStore(table)
    result = run_audit(
        ref,
        cfn_client=clients("cloudformation"),
        store=store,
        sns_client=clients("sns") if store and alert_topic else None,
        topic_arn=alert_topic if store else None,
        config=config,
        clients=clients,
    )
    if result.status is AuditStatus.STACK_GONE:
        raise TargetError(f"stack {stack} not found in account {ref.account} {ref.region}")
    return result


def _named(findings: Any) -> list[dict[str, Any]]:
    return [
        {
            "finding_id": f.finding_id,
            "rule_id": f.rule_id,
            "severity": f.severity.value,
            "logical_id": f.logical_id,
        }
        for f in findings[:MAX_NAMED]
    ]


def store_summary(result: AuditResult, table: str) -> dict[str, Any]:
    """What the stored audit changed (JSON-ready); only for an audit run with a store."""
    changes = result.changes
    assert changes is not None
    return {
        "table": table,
        "status": result.status.value,
        "audit_id": changes.audit_id,
        "audit_time": changes.audit_time,
        "new": _named(changes.new),
        "resolved": _named(changes.resolved),
        "still_open": len(changes.still_open),
        "suppressed": len(changes.suppressed),
        "unchecked": len(changes.unchecked),
        "alerted": result.message_id is not None,
        "detail": result.detail,
    }


def store_lines(summary: Mapping[str, Any]) -> list[str]:
    """The store summary as text, one line per change (the table format's epilogue)."""
    lines = [
        f"Stored in {summary['table']} (audit {summary['audit_id']}, {summary['status']}): "
        f"{len(summary['new'])} new · {len(summary['resolved'])} resolved · "
        f"{summary['still_open']} still open · {summary['unchecked']} not checked"
        + ("" if summary["alerted"] else " · no alert sent")
    ]
    for sign, key in (("+", "new"), ("-", "resolved")):
        lines += [
            f"  {sign} {f['severity']} {f['rule_id']} {f['logical_id'] or '(template)'}"
            for f in summary[key]
        ]
    return lines

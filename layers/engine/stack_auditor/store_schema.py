"""The findings table's single-table key design and the item <-> Finding mapping.

One partition per stack, ``pk = STACK#<account>#<region>#<stack_name>``, holding:

- finding items, ``sk = FINDING#<finding_id>``: every Finding field, plus ``audit_time``
  (the audit that last wrote it) and the index keys below;
- audit items, ``sk = AUDIT#<audit_time>#<audit_id>``: one per audit, newest last in the
  sort order (read them with ScanIndexForward=False);
- one state item, ``sk = STATE``: the newest audit time applied to the stack, which every
  audit claims with a conditional write so an older audit never overwrites a newer one.

Indexes (projection ALL):

- ``ByStatusSeverity``: ``gsi1pk = <status>``, ``gsi1sk = <rank>#<account>#<region>#<stack>#<id>``
  with rank 0 (CRITICAL) .. 4 (INFORMATIONAL), so "open, HIGH and above, across stacks" is
  ``gsi1pk = OPEN AND gsi1sk < "2"``.
- ``ByRule``: ``gsi2pk = RULE#<rule_id>``, ``gsi2sk = <status>#<account>#<region>#<stack>#<id>``,
  so "open findings of a rule" is ``begins_with(gsi2sk, "OPEN#")``.

Only finding items carry index keys: audit and state items stay out of both indexes.

Lifecycle attributes: a finding item carries ``introduced_by`` (the audit that made it OPEN or
SUPPRESSED) and, once RESOLVED, ``resolved_by`` and ``expires_at`` (DynamoDB TTL, epoch
seconds); audit items carry ``expires_at`` too. OPEN/SUPPRESSED findings and the STATE item
never do, and every finding write replaces the whole item, so a re-opened finding loses it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from stack_auditor.findings import Finding
from stack_auditor.model import FindingStatus, Severity, freeze

STATUS_SEVERITY_INDEX = "ByStatusSeverity"
RULE_INDEX = "ByRule"
FINDING_PREFIX = "FINDING#"
AUDIT_PREFIX = "AUDIT#"
STATE_SK = "STATE"
EVIDENCE_LIMIT = 32_000  # characters of evidence JSON kept per finding
TTL_ATTRIBUTE = "expires_at"  # template.yaml's FindingsTable TimeToLiveSpecification
INDEX_KEYS = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")

# The table definition in CreateTable terms; template.yaml's FindingsTable has the same keys
# (the emulator reads the template, this copy serves the docs and the key-shape tests).
KEY_SCHEMA: tuple[dict[str, str], ...] = (
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"},
)
ATTRIBUTE_DEFINITIONS: tuple[dict[str, str], ...] = tuple(
    {"AttributeName": name, "AttributeType": "S"}
    for name in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
)
GLOBAL_SECONDARY_INDEXES: tuple[dict[str, Any], ...] = (
    {
        "IndexName": STATUS_SEVERITY_INDEX,
        "KeySchema": [
            {"AttributeName": "gsi1pk", "KeyType": "HASH"},
            {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    },
    {
        "IndexName": RULE_INDEX,
        "KeySchema": [
            {"AttributeName": "gsi2pk", "KeyType": "HASH"},
            {"AttributeName": "gsi2sk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    },
)


def stack_pk(account: str, region: str, stack_name: str) -> str:
    return f"STACK#{account}#{region}#{stack_name}"


def finding_sk(finding_id: str) -> str:
    return f"{FINDING_PREFIX}{finding_id}"


def audit_sk(audit_time: str, audit_id: str) -> str:
    return f"{AUDIT_PREFIX}{audit_time}#{audit_id}"


def _stack_tail(finding: Finding) -> str:
    return f"{finding.account}#{finding.region}#{finding.stack_name}#{finding.finding_id}"


def _evidence_text(evidence: Any) -> str:
    # DynamoDB items stop at 400 KB; a rule quoting a whole policy must not fail the write.
    text = json.dumps(evidence, sort_keys=True, default=str)
    if len(text) <= EVIDENCE_LIMIT:
        return text
    return json.dumps({"truncated": True, "preview": text[: EVIDENCE_LIMIT - 100]})


def finding_item(
    finding: Finding,
    audit_time: str,
    *,
    lifecycle: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The DynamoDB item (resource-level types) for a finding, index keys included.

    Evidence is stored as JSON text: it is free-form (floats, empty strings, nesting) and
    only ever read back whole. ``lifecycle`` adds ``introduced_by``/``resolved_by``/
    ``expires_at`` (the store decides them); empty values are left out.
    """
    item: dict[str, Any] = {
        "pk": stack_pk(finding.account, finding.region, finding.stack_name),
        "sk": finding_sk(finding.finding_id),
        "gsi1pk": finding.status.value,
        "gsi1sk": f"{finding.severity.rank}#{_stack_tail(finding)}",
        "gsi2pk": f"RULE#{finding.rule_id}",
        "gsi2sk": f"{finding.status.value}#{_stack_tail(finding)}",
        "audit_time": audit_time,
    }
    for key, value in finding.to_dict().items():
        if key == "evidence":
            item[key] = _evidence_text(value)
        elif value is not None and value != "":
            item[key] = value
    item["stack_name"] = finding.stack_name
    item["account"] = finding.account
    item["region"] = finding.region
    item.update({k: v for k, v in (lifecycle or {}).items() if v})
    return item


def finding_from_item(item: Mapping[str, Any]) -> Finding:
    """Inverse of ``finding_item`` (numbers come back from boto3 as Decimal)."""
    line = item.get("line")
    evidence_text = item.get("evidence")
    return Finding(
        finding_id=str(item["finding_id"]),
        rule_id=str(item["rule_id"]),
        severity=Severity(item["severity"]),
        status=FindingStatus(item["status"]),
        logical_id=item.get("logical_id"),
        physical_id=item.get("physical_id"),
        resource_type=item.get("resource_type"),
        message=str(item.get("message", "")),
        remediation=str(item.get("remediation", "")),
        evidence=freeze(json.loads(evidence_text)) if evidence_text else freeze({}),
        path=str(item.get("path", "")),
        first_seen=str(item.get("first_seen", "")),
        last_seen=str(item.get("last_seen", "")),
        stack_name=str(item["stack_name"]),
        account=str(item["account"]),
        region=str(item["region"]),
        title=str(item.get("title", "")),
        file=item.get("file"),
        line=int(line) if isinstance(line, (int, Decimal)) else None,
        suppression_reason=item.get("suppression_reason"),
    )


def plain(value: Any) -> Any:
    """Decimal -> int/float, recursively: boto3 returns every number as Decimal."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, set):
        return sorted(plain(v) for v in value)
    return value

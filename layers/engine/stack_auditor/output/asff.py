"""AWS Security Finding Format (ASFF) for stored findings: the ``--format asff`` export and the
payload the Lambda sends to Security Hub with BatchImportFindings.

Choices:
- ``Id`` is derived from the finding's stable id, so importing the same finding again updates
  it in Security Hub instead of creating a duplicate;
- the product is the account's default product
  (``arn:<partition>:securityhub:<region>:<account>:product/<account>/default``), the one any
  account may import its own findings to;
- a RESOLVED finding is ``RecordState: ARCHIVED``, ``Compliance.Status: PASSED`` and
  ``Workflow.Status: RESOLVED`` (Security Hub takes the workflow from the first import only;
  the record state is what archives an existing finding);
- the affected resource is ``Other`` (CloudFormation types have no ASFF resource type of their
  own) with the logical id and type in ``Details.Other``, plus the stack as
  ``AwsCloudFormationStack`` whose Id is the stack ARN without its UUID: a re-created stack is
  the same stack to these findings, as to their ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from stack_auditor.model import FindingStatus

SCHEMA_VERSION = "2018-10-08"
PRODUCT_NAME = "stack-auditor"
FINDING_TYPE = "Software and Configuration Checks/AWS Security Best Practices"
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 1024
RECOMMENDATION_LIMIT = 512
DETAIL_LIMIT = 1024


def partition_for(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def product_arn(account: str, region: str) -> str:
    """The account's default product: where BatchImportFindings accepts its own findings."""
    return f"arn:{partition_for(region)}:securityhub:{region}:{account}:product/{account}/default"


def asff_id(row: Mapping[str, Any]) -> str:
    return f"{product_arn(row['account'], row['region'])}/{PRODUCT_NAME}/{row['finding_id']}"


def stack_resource_id(account: str, region: str, stack_name: str) -> str:
    return f"arn:{partition_for(region)}:cloudformation:{region}:{account}:stack/{stack_name}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _states(status: str) -> tuple[str, str, str]:
    """(RecordState, Workflow.Status, Compliance.Status) for a finding status."""
    if status == FindingStatus.RESOLVED.value:
        return "ARCHIVED", "RESOLVED", "PASSED"
    if status == FindingStatus.SUPPRESSED.value:
        return "ACTIVE", "SUPPRESSED", "FAILED"
    return "ACTIVE", "NEW", "FAILED"


def asff_finding(row: Mapping[str, Any]) -> dict[str, Any]:
    """One ASFF finding from a finding row (``Finding.to_dict()`` plus stack_name, account,
    region and, when known, ``audit_time``: the audit that last wrote it)."""
    account, region, stack = str(row["account"]), str(row["region"]), str(row["stack_name"])
    partition = partition_for(region)
    updated = str(row.get("audit_time") or row.get("last_seen") or row.get("first_seen"))
    created = str(row.get("first_seen") or updated)
    record_state, workflow, compliance = _states(str(row["status"]))
    logical_id = row.get("logical_id")
    where = f"{logical_id} in stack {stack}" if logical_id else f"stack {stack}"
    message = str(row.get("message") or row.get("title") or row["rule_id"])
    path = row.get("path")
    description = f"{message} (path: {path})" if path and path not in message else message

    stack_resource = {
        "Type": "AwsCloudFormationStack",
        "Id": stack_resource_id(account, region, stack),
        "Partition": partition,
        "Region": region,
    }
    resources: list[dict[str, Any]] = []
    if logical_id:
        details = {
            "LogicalId": str(logical_id),
            "ResourceType": str(row.get("resource_type") or ""),
            "StackName": stack,
        }
        resources.append(
            {
                "Type": "Other",
                "Id": str(row.get("physical_id") or f"{stack}/{logical_id}"),
                "Partition": partition,
                "Region": region,
                "Details": {"Other": {k: _clip(v, DETAIL_LIMIT) for k, v in details.items() if v}},
            }
        )
    resources.append(stack_resource)

    finding: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": asff_id(row),
        "ProductArn": product_arn(account, region),
        "ProductName": PRODUCT_NAME,
        "GeneratorId": str(row["rule_id"]),
        "AwsAccountId": account,
        "Region": region,
        "Types": [FINDING_TYPE],
        "CreatedAt": created,
        "UpdatedAt": updated,
        "Severity": {"Label": str(row["severity"]), "Original": str(row["severity"])},
        "Title": _clip(f"{row['rule_id']}: {where}", TITLE_LIMIT),
        "Description": _clip(description, DESCRIPTION_LIMIT),
        "Resources": resources,
        "RecordState": record_state,
        "Workflow": {"Status": workflow},
        "Compliance": {"Status": compliance},
        "ProductFields": {
            "stack-auditor/FindingId": str(row["finding_id"]),
            "stack-auditor/RuleId": str(row["rule_id"]),
            "stack-auditor/Status": str(row["status"]),
        },
    }
    if row.get("remediation"):
        finding["Remediation"] = {
            "Recommendation": {"Text": _clip(str(row["remediation"]), RECOMMENDATION_LIMIT)}
        }
    if row.get("suppression_reason"):
        finding["Note"] = {
            "Text": _clip(f"suppressed: {row['suppression_reason']}", 512),
            "UpdatedBy": PRODUCT_NAME,
            "UpdatedAt": updated,
        }
    return finding


def render_asff(rows: Iterable[Mapping[str, Any]]) -> str:
    """``{"Findings": [...]}``: the BatchImportFindings request shape, so the file can be sent
    with ``aws securityhub batch-import-findings --cli-input-json file://...`` (100 at a time)."""
    document = {"Findings": [asff_finding(r) for r in rows]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

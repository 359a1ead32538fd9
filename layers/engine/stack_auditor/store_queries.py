"""Read side of the findings table: one Query per access pattern, every page followed.

The access patterns (docs/findings-table.md): findings of a stack, audits of a stack
(newest first), the stack's audit state, open findings across stacks by severity
(``ByStatusSeverity``), findings of a rule (``ByRule``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stack_auditor.findings import Finding
from stack_auditor.model import FindingStatus, Severity
from stack_auditor.store_schema import (
    AUDIT_PREFIX,
    FINDING_PREFIX,
    RULE_INDEX,
    STATE_SK,
    STATUS_SEVERITY_INDEX,
    finding_from_item,
    plain,
    stack_pk,
)


class FindingsQueries:
    """Queries over the findings table; ``table`` is a boto3 ``Table`` resource."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def _query(self, page_size: int | None = None, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item a Query matches, following LastEvaluatedKey across pages."""
        if page_size:
            kwargs["Limit"] = page_size
        while True:
            page = self._table.query(**kwargs)
            yield from page.get("Items", ())
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def findings_for_stack(
        self,
        account: str,
        region: str,
        stack_name: str,
        *,
        status: FindingStatus | None = None,
        page_size: int | None = None,
        consistent: bool = False,
    ) -> list[Finding]:
        """All findings of one stack (optionally of one status): Query on the stack partition."""
        items = self.finding_items_for_stack(
            account, region, stack_name, status=status, page_size=page_size, consistent=consistent
        )
        return [finding_from_item(i) for i in items]

    def finding_items_for_stack(
        self,
        account: str,
        region: str,
        stack_name: str,
        *,
        status: FindingStatus | None = None,
        page_size: int | None = None,
        consistent: bool = False,
    ) -> list[dict[str, Any]]:
        """The raw finding items of one stack (lifecycle attributes included)."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": stack_pk(account, region, stack_name),
                ":prefix": FINDING_PREFIX,
            },
            "ConsistentRead": consistent,
        }
        if status is not None:
            kwargs["FilterExpression"] = "#status = :status"
            kwargs["ExpressionAttributeNames"] = {"#status": "status"}
            kwargs["ExpressionAttributeValues"][":status"] = status.value
        return list(self._query(page_size, **kwargs))

    def open_findings(
        self, min_severity: Severity = Severity.HIGH, *, page_size: int | None = None
    ) -> list[Finding]:
        """Open findings across all stacks at or above ``min_severity``, worst first."""
        return [
            finding_from_item(i)
            for i in self._query(
                page_size,
                IndexName=STATUS_SEVERITY_INDEX,
                KeyConditionExpression="gsi1pk = :status AND gsi1sk < :below",
                ExpressionAttributeValues={
                    ":status": FindingStatus.OPEN.value,
                    ":below": str(min_severity.rank + 1),
                },
            )
        ]

    def findings_by_rule(
        self,
        rule_id: str,
        *,
        status: FindingStatus | None = None,
        page_size: int | None = None,
    ) -> list[Finding]:
        """Findings of one rule across stacks, optionally of one status."""
        condition = "gsi2pk = :rule"
        values: dict[str, Any] = {":rule": f"RULE#{rule_id}"}
        if status is not None:
            condition += " AND begins_with(gsi2sk, :status)"
            values[":status"] = f"{status.value}#"
        return [
            finding_from_item(i)
            for i in self._query(
                page_size,
                IndexName=RULE_INDEX,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        ]

    def audits_for_stack(
        self,
        account: str,
        region: str,
        stack_name: str,
        *,
        limit: int | None = None,
        page_size: int | None = None,
    ) -> list[dict[str, Any]]:
        """Audit records of one stack, newest first (at most ``limit``)."""
        audits: list[dict[str, Any]] = []
        for item in self._query(
            page_size,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": stack_pk(account, region, stack_name),
                ":prefix": AUDIT_PREFIX,
            },
            ScanIndexForward=False,
        ):
            audits.append(plain(item))
            if limit is not None and len(audits) >= limit:
                break
        return audits

    def stack_state(self, account: str, region: str, stack_name: str) -> dict[str, Any] | None:
        """The STATE item of a stack (last audit time and status), or None."""
        response = self._table.get_item(
            Key={"pk": stack_pk(account, region, stack_name), "sk": STATE_SK},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return plain(item) if item else None

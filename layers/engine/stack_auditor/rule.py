"""What a rule is: typed metadata plus one pure function of the snapshot that yields verdicts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import EMPTY, Outcome, Resource, Severity, Side, StackSnapshot, Verdict


@dataclass(frozen=True, slots=True)
class RuleMeta:
    """A catalog row (shared/spec/rule-catalog.md) as a typed value."""

    id: str
    title: str  # the compliant state, e.g. "DynamoDB tables have point-in-time recovery"
    severity: Severity
    family: str  # catalog section, e.g. "IAM"
    subject_types: tuple[str, ...]  # CloudFormation types it reports on; ("*",) for any
    sides: frozenset[Side]
    risk: str  # why it matters
    remediation: str  # the exact fix
    seeds: tuple[str, ...] = ()  # seed reports it comes from, e.g. ("000 #2",)
    reference: str = ""  # AWS documentation URL
    # IAM service prefixes of the live reads the rule's L side uses ("logs" for a function's
    # log group). Empty: the services of its subject types. Selects the collectors an audit
    # runs, and which gaps turn the rule's PASS into UNKNOWN.
    live_reads: tuple[str, ...] = ()

    def live_services(self) -> frozenset[str]:
        """The services whose live state this rule reads (none without an L side)."""
        if Side.LIVE not in self.sides:
            return frozenset()
        if self.live_reads:
            return frozenset(self.live_reads)
        return frozenset(service_of(t) for t in self.subject_types if t != "*")

    def verdict(
        self,
        outcome: Outcome,
        subject: Resource | None,
        message: str,
        *,
        path: str = "",
        evidence: Mapping[str, Any] = EMPTY,
    ) -> Verdict:
        return Verdict(
            rule_id=self.id,
            outcome=outcome,
            logical_id=subject.logical_id if subject else None,
            resource_type=subject.type if subject else None,
            message=message,
            path=path,
            evidence=evidence,
        )

    def passed(self, subject: Resource | None, message: str = "", **kw: Any) -> Verdict:
        return self.verdict(Outcome.PASS, subject, message or self.title, **kw)

    def failed(self, subject: Resource | None, message: str, **kw: Any) -> Verdict:
        return self.verdict(Outcome.FAIL, subject, message, **kw)

    def unknown(self, subject: Resource | None, message: str, **kw: Any) -> Verdict:
        return self.verdict(Outcome.UNKNOWN, subject, message, **kw)

    def not_applicable(self, subject: Resource | None, message: str = "", **kw: Any) -> Verdict:
        return self.verdict(Outcome.NOT_APPLICABLE, subject, message or "not applicable", **kw)


_SERVICE_ALIASES = {"apigatewayv2": "apigateway", "elasticloadbalancingv2": "elasticloadbalancing"}


def service_of(resource_type: str) -> str:
    """IAM service prefix of a CloudFormation type: AWS::ApiGatewayV2::Stage -> apigateway."""
    parts = resource_type.split("::")
    service = parts[1].lower() if len(parts) > 2 else resource_type.lower()
    return _SERVICE_ALIASES.get(service, service)


Check = Callable[[StackSnapshot, AuditConfig], Iterable[Verdict]]


@dataclass(frozen=True, slots=True)
class Rule:
    meta: RuleMeta
    check: Check

"""Audit policy: which tags are required, which rules run, thresholds. One immutable value."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from stack_auditor.model import Severity

DEFAULT_ENVIRONMENT_PARAMETERS = (
    "EnvironmentSuffix",
    "Environment",
    "EnvironmentName",
    "Env",
    "Stage",
)
DEFAULT_PRODUCTION_PATTERN = r"prod|production|prd|live"


@dataclass(frozen=True, slots=True)
class RequiredTag:
    key: str
    allowed_values: tuple[str, ...] = ()  # empty: any value


@dataclass(frozen=True, slots=True)
class AuditConfig:
    required_tags: tuple[RequiredTag, ...] = (RequiredTag("iac-rlhf-amazon"),)
    environment_parameters: tuple[str, ...] = DEFAULT_ENVIRONMENT_PARAMETERS
    production_pattern: str = DEFAULT_PRODUCTION_PATTERN
    denied_resource_types: tuple[str, ...] = ("AWS::Config::*",)
    required_log_retention_days: int | None = None
    log_retention_mode: str = "minimum"  # "minimum" or "exact"
    disabled_rules: frozenset[str] = frozenset()
    severity_overrides: Any = field(default_factory=lambda: MappingProxyType({}))
    alert_min_severity: Severity = Severity.HIGH
    cfn_lint: bool = False

    def severity_for(self, rule_id: str, default: Severity) -> Severity:
        value = self.severity_overrides.get(rule_id)
        return value if isinstance(value, Severity) else default

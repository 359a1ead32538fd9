"""Read an audit policy from a YAML file (or an already parsed mapping) into AuditConfig.

The CLI's ``--config`` and the Lambda share this, so a policy means the same thing in CI and
in the account. Validation is strict and fails fast: an unknown key or a wrong value raises
``ConfigError`` whose message names the file and the key path, because a typo in a policy
file silently turning a rule off is worse than a failed run.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from stack_auditor.config import AuditConfig, RequiredTag
from stack_auditor.model import Severity

# CloudWatch Logs accepts only these RetentionInDays values.
VALID_RETENTION_DAYS = frozenset(
    {
        1,
        3,
        5,
        7,
        14,
        30,
        60,
        90,
        120,
        150,
        180,
        365,
        400,
        545,
        731,
        1096,
        1827,
        2192,
        2557,
        2922,
        3288,
        3653,
    }
)
LOG_RETENTION_MODES = ("minimum", "exact")
# Rule ids generated at run time rather than listed in the catalog.
DYNAMIC_RULE_PREFIXES = ("cfn-lint/",)


class ConfigError(ValueError):
    """The policy is invalid; ``str()`` is one line naming the file and the key."""


def load_config(path: str | Path, *, known_rules: Collection[str] | None = None) -> AuditConfig:
    """Parse and validate a YAML policy file. ``known_rules`` enables rule id checking."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not UTF-8 text") from None
    return config_from_yaml(text, source=source, known_rules=known_rules)


def config_from_yaml(
    text: str, *, source: str = "config", known_rules: Collection[str] | None = None
) -> AuditConfig:
    """Parse and validate policy YAML text (a file's content, an SSM parameter's value)."""
    import yaml  # the Lambda imports this module before it has any text to parse

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"{source}:{where} invalid YAML: {problem}") from None
    if data is None:
        data = {}
    return config_from_mapping(data, source=source, known_rules=known_rules)


def config_from_mapping(
    data: Any, *, source: str = "config", known_rules: Collection[str] | None = None
) -> AuditConfig:
    """Validate a parsed policy; keys left out keep AuditConfig's defaults."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping of settings, got {_kind(data)}")
    reader = _Reader(source, known_rules)
    unknown = sorted(str(k) for k in data if k not in _FIELDS)
    if unknown:
        allowed = ", ".join(sorted(_FIELDS))
        raise ConfigError(f"{source}: {unknown[0]}: unknown key (allowed: {allowed})")
    values = {key: _FIELDS[key](reader, key, value) for key, value in data.items()}
    return AuditConfig(**values)


class _Reader:
    def __init__(self, source: str, known_rules: Collection[str] | None) -> None:
        self.source = source
        self.known_rules = frozenset(known_rules) if known_rules is not None else None

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {problem}")

    def string(self, key: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected a non-empty string, got {_kind(value)}")
        return value.strip()

    def strings(self, key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of strings, got {_kind(value)}")
        return tuple(self.string(f"{key}[{i}]", item) for i, item in enumerate(value))

    def severity(self, key: str, value: Any) -> Severity:
        if not isinstance(value, str):
            raise self.fail(key, f"expected a severity name, got {_kind(value)}")
        try:
            return Severity.parse(value)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    def rule_id(self, key: str, value: Any) -> str:
        rule_id = self.string(key, value)
        if (
            self.known_rules is not None
            and rule_id not in self.known_rules
            and not rule_id.startswith(DYNAMIC_RULE_PREFIXES)
        ):
            raise self.fail(key, f"unknown rule id {rule_id!r}")
        return rule_id


def _required_tags(r: _Reader, key: str, value: Any) -> tuple[RequiredTag, ...]:
    if not isinstance(value, list):
        raise r.fail(key, f"expected a list of tag keys or {{key, values}}, got {_kind(value)}")
    tags = []
    for i, item in enumerate(value):
        where = f"{key}[{i}]"
        if isinstance(item, str):
            tags.append(RequiredTag(r.string(where, item)))
            continue
        if not isinstance(item, Mapping):
            raise r.fail(where, f"expected a tag key or {{key, values}}, got {_kind(item)}")
        extra = sorted(str(k) for k in item if k not in ("key", "values"))
        if extra:
            raise r.fail(f"{where}.{extra[0]}", "unknown key (allowed: key, values)")
        if "key" not in item:
            raise r.fail(f"{where}.key", "missing")
        values: tuple[str, ...] = ()
        if item.get("values") is not None:
            raw = item["values"]
            # YAML turns `true`/`1` into bool/int; tag values are strings on AWS.
            if isinstance(raw, list):
                raw = [_scalar_text(v) for v in raw]
            values = r.strings(f"{where}.values", raw)
        tags.append(RequiredTag(r.string(f"{where}.key", item["key"]), values))
    return tuple(tags)


def _scalar_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _disabled_rules(r: _Reader, key: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list):
        raise r.fail(key, f"expected a list of rule ids, got {_kind(value)}")
    return frozenset(r.rule_id(f"{key}[{i}]", item) for i, item in enumerate(value))


def _severity_overrides(r: _Reader, key: str, value: Any) -> Mapping[str, Severity]:
    if not isinstance(value, Mapping):
        raise r.fail(key, f"expected a mapping of rule id to severity, got {_kind(value)}")
    overrides = {}
    for rule_id, severity in value.items():
        checked = r.rule_id(f"{key}.{rule_id}", rule_id)
        overrides[checked] = r.severity(f"{key}.{rule_id}", severity)
    return MappingProxyType(overrides)


def _alert_min_severity(r: _Reader, key: str, value: Any) -> Severity:
    return r.severity(key, value)


def _environment_parameters(r: _Reader, key: str, value: Any) -> tuple[str, ...]:
    names = r.strings(key, value)
    if not names:
        raise r.fail(key, "expected at least one parameter name")
    return names


def _production_pattern(r: _Reader, key: str, value: Any) -> str:
    pattern = r.string(key, value)
    try:
        re.compile(pattern)
    except re.error as exc:
        raise r.fail(key, f"invalid regular expression: {exc}") from None
    return pattern


def _denied_resource_types(r: _Reader, key: str, value: Any) -> tuple[str, ...]:
    types = r.strings(key, value)
    for i, pattern in enumerate(types):
        # "AWS::Config::*" style patterns: a type name, optionally ending in a wildcard.
        if not re.fullmatch(r"[A-Za-z0-9]+(::[A-Za-z0-9]+){0,2}(::\*)?|\*", pattern):
            raise r.fail(f"{key}[{i}]", f"not a resource type or pattern: {pattern!r}")
    return types


def _retention_days(r: _Reader, key: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise r.fail(key, f"expected a number of days, got {_kind(value)}")
    if value not in VALID_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in sorted(VALID_RETENTION_DAYS))
        raise r.fail(key, f"{value} is not a CloudWatch Logs retention ({allowed})")
    return value


def _log_retention_mode(r: _Reader, key: str, value: Any) -> str:
    mode = r.string(key, value)
    if mode not in LOG_RETENTION_MODES:
        raise r.fail(key, f"expected one of {', '.join(LOG_RETENTION_MODES)}, got {mode!r}")
    return mode


def _cfn_lint(r: _Reader, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise r.fail(key, f"expected true or false, got {_kind(value)}")
    return value


_FIELDS: Mapping[str, Any] = {
    "required_tags": _required_tags,
    "disabled_rules": _disabled_rules,
    "severity_overrides": _severity_overrides,
    "alert_min_severity": _alert_min_severity,
    "environment_parameters": _environment_parameters,
    "production_pattern": _production_pattern,
    "denied_resource_types": _denied_resource_types,
    "required_log_retention_days": _retention_days,
    "log_retention_mode": _log_retention_mode,
    "cfn_lint": _cfn_lint,
}


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"

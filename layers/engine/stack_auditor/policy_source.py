"""Where the Lambda's audit policy comes from: SSM or the bundled default, then the environment.

Precedence, lowest first:

1. the bundled default policy (``data/default-policy.yaml``, equal to ``AuditConfig()``), or,
   when ``POLICY_SSM_PARAMETER`` names one, the YAML text of that SSM String parameter;
2. the environment variables the template's parameters set, each only when non-empty:
   ``REQUIRED_TAGS`` (comma-separated keys), ``ALERT_MIN_SEVERITY``, ``CFN_LINT``
   ("true"/"false"). Empty means "as the policy says".

Both fail loudly: an invalid policy or variable raises ``ConfigError`` naming the key (a
misconfigured auditor must not audit with half a policy), and an SSM read error raises
``PolicyReadError`` (the invocation is retried). The function is pure given its inputs; the
handler decides how long to keep the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from importlib import resources
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.config_file import ConfigError, config_from_mapping, config_from_yaml

POLICY_PARAMETER_VARIABLE = "POLICY_SSM_PARAMETER"
DEFAULT_POLICY_FILE = "default-policy.yaml"
# Environment variable -> policy key it overrides.
OVERRIDE_VARIABLES = {
    "REQUIRED_TAGS": "required_tags",
    "ALERT_MIN_SEVERITY": "alert_min_severity",
    "CFN_LINT": "cfn_lint",
}


class PolicyReadError(RuntimeError):
    """The policy parameter could not be read (a retry may succeed)."""


def default_policy_text() -> str:
    """The bundled default policy's YAML text."""
    return resources.files("stack_auditor.data").joinpath(DEFAULT_POLICY_FILE).read_text()


def load_lambda_config(
    env: Mapping[str, str], ssm_client_factory: Callable[[], Any]
) -> AuditConfig:
    """The audit policy for this environment; ``ssm_client_factory`` is called only if needed."""
    known = _known_rule_ids()
    name = (env.get(POLICY_PARAMETER_VARIABLE) or "").strip()
    if name:
        text, source = read_policy_parameter(ssm_client_factory(), name)
    else:
        text, source = default_policy_text(), f"bundled {DEFAULT_POLICY_FILE}"
    config = config_from_yaml(text, source=source, known_rules=known)
    return apply_environment_overrides(config, env)


def read_policy_parameter(ssm_client: Any, name: str) -> tuple[str, str]:
    """(YAML text, source label naming the parameter and its version) of an SSM parameter."""
    try:
        parameter = ssm_client.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    except Exception as exc:  # botocore ClientError, endpoint or credential errors alike
        raise PolicyReadError(
            f"cannot read the audit policy from SSM parameter {name!r}: {_error_text(exc)}"
        ) from exc
    if parameter.get("Type") == "StringList":
        # a StringList value is comma-joined text, never the YAML document it was meant to be
        raise ConfigError(f"SSM parameter {name}: expected a String parameter holding YAML")
    return str(parameter.get("Value", "")), f"SSM parameter {name} v{parameter.get('Version')}"


def apply_environment_overrides(config: AuditConfig, env: Mapping[str, str]) -> AuditConfig:
    """``config`` with the keys the environment sets (non-empty variables only) replaced."""
    changes: dict[str, Any] = {}
    for variable, key in OVERRIDE_VARIABLES.items():
        raw = (env.get(variable) or "").strip()
        if not raw:
            continue
        value: Any = raw
        if key == "required_tags":
            value = [k.strip() for k in raw.split(",") if k.strip()]
        elif key == "cfn_lint":
            value = {"true": True, "false": False}.get(raw.lower(), raw)
        parsed = config_from_mapping({key: value}, source=f"environment variable {variable}")
        changes[key] = getattr(parsed, key)
    return replace(config, **changes) if changes else config


def _known_rule_ids() -> frozenset[str]:
    from stack_auditor.rules import CATALOG  # imported when a policy is read, not at cold start

    return frozenset(rule.meta.id for rule in CATALOG)


def _error_text(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        error = response.get("Error") or {}
        code, message = error.get("Code"), error.get("Message")
        if code:
            return f"{code}: {message}" if message else str(code)
    return " ".join(f"{type(exc).__name__}: {exc}".split())

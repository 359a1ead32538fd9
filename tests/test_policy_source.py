"""Where the audit policy comes from: the example and bundled policies, SSM, env overrides."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from stack_auditor.config import AuditConfig, RequiredTag
from stack_auditor.config_file import ConfigError, load_config
from stack_auditor.model import Severity
from stack_auditor.policy_source import (
    PolicyReadError,
    default_policy_text,
    load_lambda_config,
)
from stack_auditor.rules import CATALOG

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "policy.example.yaml"
DEFAULT = ROOT / "layers/engine/stack_auditor/data/default-policy.yaml"
PARAMETER = "/stack-auditor/policy"
KNOWN = [r.meta.id for r in CATALOG]


def no_ssm() -> Any:
    raise AssertionError("SSM must not be called without POLICY_SSM_PARAMETER")


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("ssm")


def put_policy(ssm: Any, text: str, name: str = PARAMETER) -> None:
    ssm.put_parameter(Name=name, Value=text, Type="String", Overwrite=True)


# --- the shipped policy files -------------------------------------------------------------


def test_bundled_default_policy_is_audit_config_defaults() -> None:
    assert load_config(DEFAULT, known_rules=KNOWN) == AuditConfig()
    assert default_policy_text() == DEFAULT.read_text()


def test_example_policy_sets_every_key_to_the_documented_values() -> None:
    config = load_config(EXAMPLE, known_rules=KNOWN)
    assert config.required_tags == (
        RequiredTag("iac-rlhf-amazon"),
        RequiredTag("Environment", ("dev", "staging", "prod")),
        RequiredTag("CostCenter"),
    )
    assert config.required_log_retention_days == 30
    assert config.log_retention_mode == "minimum"
    assert config.denied_resource_types == ("AWS::Config::*", "AWS::EC2::Instance")
    assert config.environment_parameters == ("EnvironmentSuffix", "Stage")
    assert config.production_pattern == "prod|production|prd|live"
    assert config.disabled_rules == frozenset({"hardcoded-partition"})
    assert dict(config.severity_overrides) == {
        "hardcoded-region": Severity.LOW,
        "iam-wildcard-resource": Severity.HIGH,
    }
    assert config.alert_min_severity is Severity.HIGH
    assert config.cfn_lint is False


def test_example_policy_documents_every_key() -> None:
    from stack_auditor.config_file import _FIELDS

    text = EXAMPLE.read_text()
    for key in _FIELDS:
        assert f"\n{key}:" in text, f"docs/policy.example.yaml lacks {key}"


# --- load_lambda_config ---------------------------------------------------------------------


def test_without_a_parameter_the_bundled_default_applies_and_ssm_is_not_called() -> None:
    assert load_lambda_config({}, no_ssm) == AuditConfig()
    assert load_lambda_config({"POLICY_SSM_PARAMETER": "  "}, no_ssm) == AuditConfig()


def test_policy_is_read_from_the_ssm_parameter(ssm: Any) -> None:
    put_policy(ssm, EXAMPLE.read_text())
    config = load_lambda_config({"POLICY_SSM_PARAMETER": PARAMETER}, lambda: ssm)
    assert config == load_config(EXAMPLE, known_rules=KNOWN)


def test_non_empty_environment_variables_override_the_policy(ssm: Any) -> None:
    put_policy(ssm, "required_tags: [owner]\nalert_min_severity: LOW\ncfn_lint: true\n")
    env = {"POLICY_SSM_PARAMETER": PARAMETER}
    base = load_lambda_config(env, lambda: ssm)
    assert base.required_tags == (RequiredTag("owner"),)
    assert base.alert_min_severity is Severity.LOW and base.cfn_lint is True

    # empty variables (the template parameters' defaults) leave the policy alone
    same = {**env, "REQUIRED_TAGS": "", "ALERT_MIN_SEVERITY": "", "CFN_LINT": ""}
    assert load_lambda_config(same, lambda: ssm) == base

    overridden = load_lambda_config(
        {**env, "REQUIRED_TAGS": "team, cost-center", "ALERT_MIN_SEVERITY": "critical",
         "CFN_LINT": "False"},
        lambda: ssm,
    )  # fmt: skip
    assert overridden.required_tags == (RequiredTag("team"), RequiredTag("cost-center"))
    assert overridden.alert_min_severity is Severity.CRITICAL
    assert overridden.cfn_lint is False


def test_overrides_apply_to_the_default_policy_too() -> None:
    config = load_lambda_config({"REQUIRED_TAGS": "team", "ALERT_MIN_SEVERITY": "MEDIUM"}, no_ssm)
    assert config == AuditConfig(
        required_tags=(RequiredTag("team"),), alert_min_severity=Severity.MEDIUM
    )


@pytest.mark.parametrize(
    ("policy", "key"),
    [
        (
            "severity_overrides:\n  iam-admin-access: SEVERE\n",
            "severity_overrides.iam-admin-access",
        ),
        ("disabled_rules: [no-such-rule]\n", "disabled_rules[0]"),
        ("required_tag: [x]\n", "required_tag"),
        ("required_log_retention_days: 31\n", "required_log_retention_days"),
        ("alert_min_severity: [HIGH\n", "invalid YAML"),
    ],
)
def test_an_invalid_policy_fails_fast_naming_the_parameter_and_key(
    ssm: Any, policy: str, key: str
) -> None:
    put_policy(ssm, policy)
    with pytest.raises(ConfigError) as info:
        load_lambda_config({"POLICY_SSM_PARAMETER": PARAMETER}, lambda: ssm)
    message = str(info.value)
    assert message.startswith(f"SSM parameter {PARAMETER} v1:")
    assert key in message and "\n" not in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ALERT_MIN_SEVERITY", "URGENT"), ("CFN_LINT", "yes"), ("REQUIRED_TAGS", ",")],
)
def test_an_invalid_environment_override_names_the_variable(variable: str, value: str) -> None:
    if variable == "REQUIRED_TAGS":
        # "," names no key: an empty list is a valid policy (no tag required)
        assert load_lambda_config({variable: value}, no_ssm).required_tags == ()
        return
    with pytest.raises(ConfigError, match=f"environment variable {variable}: "):
        load_lambda_config({variable: value}, no_ssm)


def test_a_missing_parameter_raises_a_read_error_for_retry(ssm: Any) -> None:
    with pytest.raises(PolicyReadError) as info:
        load_lambda_config({"POLICY_SSM_PARAMETER": "/no/such/policy"}, lambda: ssm)
    assert "'/no/such/policy'" in str(info.value)
    assert "ParameterNotFound" in str(info.value)


def test_a_string_list_parameter_is_rejected(ssm: Any) -> None:
    ssm.put_parameter(Name=PARAMETER, Value="a,b", Type="StringList")
    with pytest.raises(ConfigError, match="expected a String parameter"):
        load_lambda_config({"POLICY_SSM_PARAMETER": PARAMETER}, lambda: ssm)


# --- the handler's use of it -----------------------------------------------------------------


@pytest.fixture
def app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_app", ROOT / "functions/audit/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_handler_config_is_cached_until_it_expires(
    app: ModuleType, ssm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "_ssm_client", lambda: ssm)
    env = {"POLICY_SSM_PARAMETER": PARAMETER}
    put_policy(ssm, "alert_min_severity: LOW\n")
    assert app.config_from_env(env).alert_min_severity is Severity.LOW
    put_policy(ssm, "alert_min_severity: CRITICAL\n")
    assert app.config_from_env(env).alert_min_severity is Severity.LOW  # cached
    monkeypatch.setattr(app, "POLICY_CACHE_SECONDS", 0.0)
    app._policy_cache.clear()
    assert app.config_from_env(env).alert_min_severity is Severity.CRITICAL


def test_handler_logs_an_invalid_policy_and_raises(
    app: ModuleType,
    ssm: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(app, "_ssm_client", lambda: ssm)
    put_policy(ssm, "disabled_rules: [iam-admin-acces]\n")
    with caplog.at_level(logging.ERROR), pytest.raises(ConfigError):
        app.config_from_env({"POLICY_SSM_PARAMETER": PARAMETER})
    assert "invalid audit policy" in caplog.text

"""The stack's environment: which values count as production (catalog "Environment" paragraph)."""

from __future__ import annotations

import pytest
from stack_auditor.config import AuditConfig
from stack_auditor.model import Unresolved
from stack_auditor.rules._names import Environment
from stack_auditor.suppressions import is_known_rule_id


@pytest.mark.parametrize(
    ("value", "production"),
    [
        ("prod", True),
        ("PROD", True),
        ("production", True),
        ("prd", True),
        ("live", True),
        ("prod-eu-west-1", True),
        ("eu_prod", True),
        ("dev", False),
        ("preprod", False),
        ("nonprod", False),
        ("delivery", False),
        ("staging", False),
    ],
)
def test_production_is_a_whole_word(value: str, production: bool) -> None:
    assert Environment("EnvironmentSuffix", value).is_production(AuditConfig()) is production


def test_unresolved_environment_is_unknown() -> None:
    env = Environment("EnvironmentSuffix", Unresolved("parameter has no value"))
    assert env.is_production(AuditConfig()) is None


def test_engine_rule_ids_can_be_suppressed() -> None:
    assert is_known_rule_id("template-not-expanded")
    assert is_known_rule_id("cfn-lint/E3012")
    assert not is_known_rule_id("no-such-rule")

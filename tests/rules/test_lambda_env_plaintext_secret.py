"""lambda-env-plaintext-secret: its fixtures give exactly their expected verdicts, and a
secret's value never reaches a verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
from rule_fixtures import assert_fixture, fixture_params
from stack_auditor.config import AuditConfig
from stack_auditor.evaluate import evaluate
from stack_auditor.model import Outcome
from stack_auditor.rules import CATALOG
from stack_auditor.rules.lambda_.env_plaintext_secret import looks_secret
from stack_auditor.snapshot import snapshot_from_file

RULE_ID = "lambda-env-plaintext-secret"
CANARY = "canary-4f1d9c-value"

CANARY_TEMPLATE = f"""
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  DbPassword: {{Type: String, NoEcho: true, Default: {CANARY}-noecho}}
Globals:
  Function:
    Runtime: python3.12
    Handler: index.handler
    Environment:
      Variables:
        API_TOKEN: {CANARY}-global
Resources:
  CanaryFunction:
    Type: AWS::Serverless::Function
    Properties:
      InlineCode: "def handler(event, context):\\n    return event\\n"
      Environment:
        Variables:
          DB_PASSWORD: !Ref DbPassword
          CLIENT_SECRET: {CANARY}-literal
          DB_CREDENTIALS: !Sub "admin:${{DbPassword}}"
"""


@fixture_params(RULE_ID)
def test_fixture(fixture: Path) -> None:
    assert_fixture(RULE_ID, fixture)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DB_PASSWORD", True),
        ("db-passwd", True),
        ("apiKey", True),
        ("APIKEY", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("GITHUB_TOKEN", True),
        ("GOOGLE_CREDENTIALS", True),
        ("PASSWORD_SECRET_ARN", False),
        ("SECRET_ARN", False),
        ("TOKEN_TABLE", False),
        ("SECRET_NAME", False),
        ("AWS_ACCESS_KEY_ID", False),
        ("TOKENIZER", False),
        ("PARTITION_KEY", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert looks_secret(name) is secret


def test_value_never_copied_into_verdicts(tmp_path: Path) -> None:
    template = tmp_path / "canary.yaml"
    template.write_text(CANARY_TEMPLATE)
    snapshot = snapshot_from_file(template)
    rules = [r for r in CATALOG if r.meta.id == RULE_ID]
    verdicts = evaluate(snapshot, AuditConfig(), rules)
    assert {v.path for v in verdicts if v.outcome is Outcome.FAIL} == {
        "Properties.Environment.Variables.API_TOKEN",
        "Properties.Environment.Variables.DB_PASSWORD",
        "Properties.Environment.Variables.CLIENT_SECRET",
        "Properties.Environment.Variables.DB_CREDENTIALS",
    }
    for verdict in verdicts:
        assert CANARY not in repr(verdict)


def test_no_rule_of_the_catalog_copies_the_value(tmp_path: Path) -> None:
    template = tmp_path / "canary.yaml"
    template.write_text(CANARY_TEMPLATE)
    for verdict in evaluate(snapshot_from_file(template), AuditConfig()):
        assert CANARY not in repr(verdict), verdict.rule_id

"""apigw-account-logging-role-missing: its fixtures give exactly their expected verdicts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rule_fixtures import FIXTURES, assert_fixture, expectation, fixture_params, scan
from stack_auditor.evaluate import evaluate
from stack_auditor.rules import CATALOG

RULE_ID = "apigw-account-logging-role-missing"


@fixture_params(RULE_ID)
def test_fixture(fixture: Path) -> None:
    assert_fixture(RULE_ID, fixture)


def test_account_setting_read_live_decides() -> None:
    """GetAccount's result (snapshot.extras) turns the scan's UNKNOWN into FAIL or PASS."""
    path = FIXTURES / RULE_ID / "account_not_read.pass.yaml"
    expect = expectation(path)
    snapshot = scan(path, expect)
    rules = [r for r in CATALOG if r.meta.id == RULE_ID]
    logging_stages = expect.unknown
    for account, outcome in (
        ({}, "FAIL"),
        ({"cloudwatchRoleArn": "arn:aws:iam::1:role/r"}, "PASS"),
    ):
        live = dataclasses.replace(snapshot, extras={"apigateway_account": account})
        verdicts = evaluate(live, expect.config, rules)
        assert {v.logical_id for v in verdicts if v.outcome == outcome} == logging_stages

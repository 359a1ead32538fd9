"""lambda-runtime-deprecated: its fixtures give exactly their expected verdicts.

The fixtures use runtimes deprecated long ago or far ahead, so they hold whatever the date; the
180-day window is tested with an explicit audit date (the snapshot's ``last_updated``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from rule_fixtures import FIXTURES, assert_fixture, expectation, fixture_params, scan
from stack_auditor.model import Outcome
from stack_auditor.rules.lambda_ import runtime_deprecated

RULE_ID = "lambda-runtime-deprecated"


@fixture_params(RULE_ID)
def test_fixture(fixture: Path) -> None:
    assert_fixture(RULE_ID, fixture)


@pytest.mark.parametrize(
    ("audit_date", "outcome"),
    [
        ("2028-12-31T23:00:00Z", Outcome.PASS),  # python3.13: 181 days before 2029-06-30
        ("2029-01-01T00:00:00Z", Outcome.FAIL),  # 180 days before: inside the window
        ("2029-07-01T00:00:00+00:00", Outcome.FAIL),  # past the deprecation date
    ],
)
def test_warning_window_counts_from_the_audit_date(audit_date: str, outcome: Outcome) -> None:
    path = FIXTURES / RULE_ID / "supported.pass.yaml"
    snapshot = dataclasses.replace(scan(path, expectation(path)), last_updated=audit_date)
    verdicts = {
        v.logical_id: v for v in runtime_deprecated.check(snapshot, expectation(path).config)
    }
    verdict = verdicts["Python313Function"]
    assert verdict.outcome is outcome
    if outcome is Outcome.FAIL:
        assert "2029-06-30" in verdict.message and "python3.14" in verdict.message

"""apigw-stage-no-access-logs: its fixtures give exactly their expected verdicts."""

from __future__ import annotations

from pathlib import Path

from rule_fixtures import assert_fixture, fixture_params

RULE_ID = "apigw-stage-no-access-logs"


@fixture_params(RULE_ID)
def test_fixture(fixture: Path) -> None:
    assert_fixture(RULE_ID, fixture)

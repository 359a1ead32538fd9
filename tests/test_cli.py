"""The CLI: exit codes, JSON/SARIF shape, table layout, policy files, the console script."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from stack_auditor.cli import main
from stack_auditor.config import RequiredTag
from stack_auditor.config_file import ConfigError, config_from_mapping, load_config
from stack_auditor.model import Severity
from stack_auditor.output.report import Report
from stack_auditor.output.table import print_report
from stack_auditor.rules import CATALOG

FIXTURES = Path(__file__).parent / "fixtures" / "cli"
BROKEN = FIXTURES / "broken.yaml"
SUPPRESSED = FIXTURES / "suppressed.yaml"
FINDING_KEYS = {
    "finding_id",
    "rule_id",
    "severity",
    "status",
    "logical_id",
    "physical_id",
    "resource_type",
    "message",
    "remediation",
    "evidence",
    "path",
    "file",
    "line",
    "first_seen",
    "last_seen",
    "title",
    "suppression_reason",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def scan_json(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> dict[str, Any]:
    code, out, err = run(capsys, "scan", *argv, "--format", "json", "--fail-on", "none")
    assert code == 0, err
    return json.loads(out)


def only_rule_config(tmp_path: Path, keep: str) -> Path:
    """A policy that disables every catalog rule but ``keep``: isolates one rule's verdicts."""
    ids = [r.meta.id for r in CATALOG if r.meta.id != keep]
    path = tmp_path / "only.yaml"
    path.write_text(json.dumps({"disabled_rules": ids}))  # JSON is YAML
    return path


# --- exit codes -------------------------------------------------------------------------


def test_broken_template_fails_at_default_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "scan", BROKEN, "--format", "json")
    assert code == 1, err


@pytest.mark.parametrize("threshold", [s.value for s in Severity])
def test_fail_on_matches_the_worst_open_finding(
    capsys: pytest.CaptureFixture[str], threshold: str
) -> None:
    report = scan_json(capsys, BROKEN)
    worst = min(Severity(f["severity"]).rank for f in report["findings"] if f["status"] == "OPEN")
    code, _, _ = run(capsys, "scan", BROKEN, "--format", "json", "--fail-on", threshold.lower())
    assert code == (1 if worst <= Severity(threshold).rank else 0)


def test_fail_on_none_never_fails(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "scan", BROKEN, "--format", "sarif", "--fail-on", "none")
    assert code == 0


def test_suppressed_only_passes_even_at_lowest_threshold(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = only_rule_config(tmp_path, "hardcoded-account-id")
    code, out, err = run(
        capsys,
        "scan",
        SUPPRESSED,
        "--config",
        config,
        "--format",
        "json",
        "--fail-on",
        "informational",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["summary"]["open"] == 0
    assert report["summary"]["suppressed"] == 1
    (finding,) = report["findings"]
    assert finding["status"] == "SUPPRESSED"
    assert finding["suppression_reason"].startswith("the partner account")


def test_unreadable_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "scan", FIXTURES / "does-not-exist.yaml", "--format", "json")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "does-not-exist.yaml" in err and "Traceback" not in err


def test_malformed_yaml_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "scan", FIXTURES / "malformed.yaml")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "malformed.yaml" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["scan", str(BROKEN), "--parameter", "NoEqualsSign"],
        ["scan", str(BROKEN), "--parameter", "=value"],
        ["scan", str(BROKEN), "--tag", "novalue"],
        ["scan", str(BROKEN), "--fail-on", "severe"],
        ["scan", str(BROKEN), "--format", "xml"],
        ["scan", str(BROKEN), "--account", "12345"],
        ["scan", str(BROKEN), "--region", "Mars"],
        ["scan"],
        ["frobnicate"],
        [],
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    assert exc.value.code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("stack-auditor")


def test_parameters_and_tags_reach_the_snapshot(capsys: pytest.CaptureFixture[str]) -> None:
    # The required tag given at deploy time propagates: required-tags-missing goes quiet.
    without = scan_json(capsys, BROKEN)
    with_tag = scan_json(
        capsys, BROKEN, "--tag", "iac-rlhf-amazon=true", "-p", "EnvironmentSuffix=qa"
    )
    rules_without = {f["rule_id"] for f in without["findings"]}
    rules_with = {f["rule_id"] for f in with_tag["findings"]}
    assert "required-tags-missing" in rules_without
    assert "required-tags-missing" not in rules_with


# --- JSON -------------------------------------------------------------------------------


def test_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    report = scan_json(capsys, BROKEN, "--stack-name", "notifications-dev")
    assert set(report) >= {
        "tool",
        "template",
        "stack_name",
        "summary",
        "findings",
        "unknown",
        "gaps",
    }
    assert report["tool"]["name"] == "stack-auditor" and report["tool"]["version"]
    assert report["template"] == str(BROKEN)
    assert report["stack_name"] == "notifications-dev"
    summary = report["summary"]
    assert set(summary["open_by_severity"]) == {s.value for s in Severity}
    assert summary["open"] == sum(summary["open_by_severity"].values())
    assert summary["open"] + summary["suppressed"] == len(report["findings"])
    assert report["findings"], "the broken fixture must produce findings"
    for finding in report["findings"]:
        assert set(finding) >= FINDING_KEYS
        assert finding["status"] in ("OPEN", "SUPPRESSED")
        assert Severity(finding["severity"])
        assert finding["file"] == str(BROKEN)
        if finding["logical_id"] is not None:
            assert isinstance(finding["line"], int) and finding["line"] >= 1
    ranks = [Severity(f["severity"]).rank for f in report["findings"]]
    assert ranks == sorted(ranks), "findings are listed worst first"
    for row in report["unknown"]:
        assert {"rule_id", "logical_id", "message", "file", "line"} <= set(row)
    for gap in report["gaps"]:
        assert set(gap) == {"scope", "what", "reason", "detail"}


def test_json_finding_points_at_the_resource_line(capsys: pytest.CaptureFixture[str]) -> None:
    report = scan_json(capsys, BROKEN)
    lines = BROKEN.read_text().splitlines()
    admin = [f for f in report["findings"] if f["rule_id"] == "iam-admin-access"]
    assert admin and admin[0]["logical_id"] == "NotificationsRole"
    assert admin[0]["severity"] == "CRITICAL"
    assert lines[admin[0]["line"] - 1].strip() == "NotificationsRole:"


def test_json_output_is_deterministic_apart_from_timestamps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def strip(report: dict[str, Any]) -> dict[str, Any]:
        for f in report["findings"]:
            f.pop("first_seen"), f.pop("last_seen")
        return report

    assert strip(scan_json(capsys, BROKEN)) == strip(scan_json(capsys, BROKEN))


# --- SARIF ------------------------------------------------------------------------------


def scan_sarif(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> dict[str, Any]:
    code, out, err = run(capsys, "scan", *argv, "--format", "sarif", "--fail-on", "none")
    assert code == 0, err
    return json.loads(out)


def test_sarif_is_valid_against_the_2_1_0_schema(capsys: pytest.CaptureFixture[str]) -> None:
    import jsonschema

    schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text())
    document = scan_sarif(capsys, BROKEN)
    jsonschema.Draft4Validator(schema).validate(document)
    assert document["version"] == "2.1.0"


def test_sarif_rules_and_results(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES.parent.parent)  # tests/: the uri is then fixtures/cli/...
    run_ = scan_sarif(capsys, BROKEN)["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    catalog = {r.meta.id: r.meta for r in CATALOG}
    assert set(catalog) <= {r["id"] for r in rules}
    scores = {
        "CRITICAL": "9.5",
        "HIGH": "8.0",
        "MEDIUM": "5.5",
        "LOW": "3.0",
        "INFORMATIONAL": "0.0",
    }
    for rule in rules:
        meta = catalog.get(rule["id"])
        if meta is None:
            continue
        assert rule["shortDescription"]["text"] == meta.title
        assert rule["properties"]["security-severity"] == scores[meta.severity.value]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert run_["results"]
    for result in run_["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == "fixtures/cli/broken.yaml"
        assert location["region"]["startLine"] >= 1
        assert result["partialFingerprints"]["stackAuditorFindingId/v1"]
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"]


def test_sarif_marks_suppressed_findings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = only_rule_config(tmp_path, "hardcoded-account-id")
    (result,) = scan_sarif(capsys, SUPPRESSED, "--config", config)["runs"][0]["results"]
    (suppression,) = result["suppressions"]
    assert suppression["kind"] == "inSource"
    assert suppression["justification"].startswith("the partner account")


# --- table ------------------------------------------------------------------------------


def render(report: Report, width: int = 80) -> str:
    buffer = io.StringIO()
    print_report(report, Console(file=buffer, width=width, no_color=True), Severity.HIGH)
    return buffer.getvalue()


def test_table_fits_80_columns_and_keeps_ids_whole(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = scan_json(capsys, BROKEN)
    long_row = dict(data["findings"][0])
    long_row.update(
        rule_id="lambda-env-resource-without-permission",
        logical_id="PaymentProcessingFunctionDeadLetterQueue",
        message="word " * 80,
    )
    report = Report(
        template=data["template"],
        stack_name=data["stack_name"],
        findings=(*data["findings"], long_row),
    )
    text = render(report)
    assert max(len(line) for line in text.splitlines()) <= 80
    for finding in report.findings:
        assert finding["rule_id"] in text
        assert finding["logical_id"] is None or finding["logical_id"] in text
    headings = [f"{s.value} (" for s in Severity if f"{s.value} (" in text]
    assert len(headings) >= 2
    assert [text.index(h) for h in headings] == sorted(text.index(h) for h in headings)
    assert "open" in text.splitlines()[-1] and "FAIL" in text.splitlines()[-1]


def test_table_says_no_findings_when_clean() -> None:
    text = render(Report(template="t.yaml", stack_name="clean", findings=()))
    assert "No findings" in text
    assert "PASS" in text


def test_table_output_through_main_is_plain_when_not_a_tty(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "scan", BROKEN)
    assert code == 1
    assert "\x1b[" not in out
    assert "iam-admin-access" in out and "NotificationsRole" in out


# --- rules ------------------------------------------------------------------------------


def test_rules_json_lists_the_whole_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "--format", "json")
    assert code == 0
    rows = json.loads(out)["rules"]
    assert [r["id"] for r in rows] == [r.meta.id for r in CATALOG]
    for row in rows:
        assert {"id", "severity", "family", "sides", "title"} <= set(row)
        assert set(row["sides"]) <= {"T", "R", "L", "X"}


def test_rules_table_fits_80_columns(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    for rule in CATALOG:
        assert rule.meta.id in out


# --- policy file ------------------------------------------------------------------------


def test_policy_file_is_read_into_audit_config() -> None:
    config = load_config(FIXTURES / "policy.yaml", known_rules=[r.meta.id for r in CATALOG])
    assert config.required_tags == (
        RequiredTag("iac-rlhf-amazon"),
        RequiredTag("Environment", ("dev", "staging", "prod")),
    )
    assert config.disabled_rules == frozenset({"hardcoded-partition"})
    assert config.severity_for("hardcoded-region", Severity.MEDIUM) is Severity.LOW
    assert config.alert_min_severity is Severity.HIGH
    assert config.environment_parameters == ("EnvironmentSuffix", "Stage")
    assert config.production_pattern == "prod|live"
    assert config.denied_resource_types == ("AWS::Config::*", "AWS::EC2::Instance")
    assert config.required_log_retention_days == 30


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"required_tag": ["x"]}, "required_tag"),
        ({"required_tags": "iac-rlhf-amazon"}, "required_tags"),
        ({"required_tags": [{"values": ["a"]}]}, "required_tags[0].key"),
        ({"required_tags": [{"key": "a", "value": "b"}]}, "required_tags[0].value"),
        ({"disabled_rules": ["no-such-rule"]}, "disabled_rules[0]"),
        (
            {"severity_overrides": {"hardcoded-region": "URGENT"}},
            "severity_overrides.hardcoded-region",
        ),
        ({"alert_min_severity": 3}, "alert_min_severity"),
        ({"production_pattern": "prod("}, "production_pattern"),
        ({"denied_resource_types": ["not a type"]}, "denied_resource_types[0]"),
        ({"required_log_retention_days": 31}, "required_log_retention_days"),
        ({"environment_parameters": []}, "environment_parameters"),
    ],
)
def test_invalid_policy_names_the_key(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as exc:
        config_from_mapping(data, source="p.yaml", known_rules=[r.meta.id for r in CATALOG])
    assert f"p.yaml: {key}" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_invalid_policy_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("severity_overrides:\n  iam-admin-access: SEVERE\n")
    code, out, err = run(capsys, "scan", BROKEN, "--config", bad)
    assert code == 2 and out == ""
    assert "severity_overrides.iam-admin-access" in err
    assert len(err.strip().splitlines()) == 1


def test_policy_file_changes_the_result(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "disabled_rules: [iam-admin-access]\nseverity_overrides: {hardcoded-account-id: LOW}\n"
    )
    report = scan_json(capsys, BROKEN, "--config", policy)
    assert not [f for f in report["findings"] if f["rule_id"] == "iam-admin-access"]
    account = [f for f in report["findings"] if f["rule_id"] == "hardcoded-account-id"]
    assert account and {f["severity"] for f in account} == {"LOW"}


# --- the installed console script -------------------------------------------------------


def test_console_script_entry_point(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "stack-auditor"
    assert script.exists(), "run `pip install -e .` to create the console script"
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [str(script), "scan", str(BROKEN), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["findings"]
    missing = subprocess.run(
        [str(script), "scan", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1

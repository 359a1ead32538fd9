"""cfnlint_bridge: opt-in, lazy import, match -> verdict mapping, findings and the CLI flag."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from stack_auditor import cfnlint_bridge
from stack_auditor.cli import main
from stack_auditor.config import AuditConfig
from stack_auditor.config_file import config_from_mapping
from stack_auditor.evaluate import evaluate
from stack_auditor.findings import to_findings
from stack_auditor.model import Outcome, Severity, StackSnapshot
from stack_auditor.rules import CATALOG
from stack_auditor.rules.template import cfn_lint
from stack_auditor.snapshot import snapshot_from_file

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "rules" / "cfn-lint"
ERRORS = FIXTURES / "errors_and_warnings.fail.yaml"
ON = AuditConfig(cfn_lint=True)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return path


def lint(path: Path, config: AuditConfig = ON) -> list[Any]:
    return list(cfn_lint.check(snapshot_from_file(path), config))


def test_engine_never_imports_cfnlint() -> None:
    code = (
        "import sys, stack_auditor.evaluate, stack_auditor.rules, stack_auditor.findings;"
        "assert 'cfnlint' not in sys.modules, 'cfnlint imported at engine import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_off_by_default_yields_nothing() -> None:
    assert lint(ERRORS, AuditConfig()) == []


def test_errors_map_to_high_with_logical_id_and_path() -> None:
    verdicts = {v.rule_id: v for v in lint(ERRORS)}
    timeout = verdicts["cfn-lint/E3717"]
    assert timeout.outcome is Outcome.FAIL and timeout.severity is Severity.HIGH
    assert (timeout.logical_id, timeout.path) == (
        "TimeoutAboveMaximumFunction",
        "Properties.Timeout",
    )
    assert timeout.resource_type == "AWS::Lambda::Function"
    # linted on the processed template: the SAM function's misspelt runtime is found
    assert verdicts["cfn-lint/E3030"].logical_id == "SamRuntimeTypoFunction"


def test_warnings_map_to_low_and_template_wide(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Parameters:\n  Unused: {Type: String, Description: never referenced}\n"
        "Resources:\n  Topic: {Type: AWS::SNS::Topic}\n",
    )
    (verdict,) = lint(path)
    assert (verdict.rule_id, verdict.severity) == ("cfn-lint/W2001", Severity.LOW)
    assert (verdict.logical_id, verdict.path) == (None, "Parameters.Unused")


def test_sam_context_keeps_sam_only_warnings_quiet(tmp_path: Path) -> None:
    body = (
        "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: !Sub plain}\n"
    )
    plain = [v.rule_id for v in lint(write(tmp_path, body))]
    assert plain == ["cfn-lint/W1020"]
    sam = lint(write(tmp_path, "Transform: AWS::Serverless-2016-10-31\n" + body))
    assert [v.outcome for v in sam] == [Outcome.PASS]


def test_disabled_code_and_severity_override() -> None:
    config = config_from_mapping(
        {
            "cfn_lint": True,
            "disabled_rules": ["cfn-lint/E3030"],
            "severity_overrides": {"cfn-lint/E3717": "critical"},
        }
    )
    verdicts = {v.rule_id: v for v in lint(ERRORS, config)}
    assert "cfn-lint/E3030" not in verdicts
    assert verdicts["cfn-lint/E3717"].severity is Severity.CRITICAL


def test_findings_take_metadata_from_the_cfn_lint_row() -> None:
    snapshot = snapshot_from_file(ERRORS)
    verdicts = evaluate(snapshot, ON, [cfn_lint.RULE])
    findings = to_findings(snapshot, verdicts, CATALOG, ON, datetime.now(UTC)).findings
    by_rule = {f.rule_id: f for f in findings}
    finding = by_rule["cfn-lint/E3717"]
    assert finding.severity is Severity.HIGH
    assert finding.remediation == cfn_lint.META.remediation
    assert finding.title == cfn_lint.META.title
    assert finding.line is not None  # the resource's line in the scanned file


@pytest.fixture
def without_cfnlint(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    cfnlint_bridge._runner.cache_clear()
    monkeypatch.setitem(sys.modules, "cfnlint.config", None)
    monkeypatch.setitem(sys.modules, "cfnlint.runner", None)
    yield
    cfnlint_bridge._runner.cache_clear()


@pytest.mark.usefixtures("without_cfnlint")
def test_not_installed_is_one_unknown() -> None:
    (verdict,) = lint(ERRORS)
    assert (verdict.rule_id, verdict.outcome, verdict.logical_id) == (
        "cfn-lint",
        Outcome.UNKNOWN,
        None,
    )
    assert "not installed" in verdict.message


def fake_matches(*matches: tuple[str, list[Any], str]) -> Any:
    def run(template: Any, region: str) -> list[Any]:
        return [
            SimpleNamespace(
                rule=SimpleNamespace(id=code, severity="informational"), path=path, message=text
            )
            for code, path, text in matches
        ]

    return run


def test_noecho_values_are_masked_and_info_level(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "Parameters:\n  DbPassword: {Type: String, NoEcho: true, Default: hunter2-secret}\n"
        "Resources:\n  Topic: {Type: AWS::SNS::Topic}\n",
    )
    monkeypatch.setattr(
        cfnlint_bridge,
        "run_cfn_lint",
        fake_matches(
            ("I3011", ["Resources", "Topic", "Properties", "Tags", 0], "'hunter2-secret' x")
        ),
    )
    (verdict,) = lint(path)
    assert "hunter2-secret" not in verdict.message and "****" in verdict.message
    assert verdict.severity is Severity.INFORMATIONAL
    assert (verdict.logical_id, verdict.path) == ("Topic", "Properties.Tags[0]")


def test_cfn_lint_failure_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(template: Any, region: str) -> list[Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(cfnlint_bridge, "run_cfn_lint", broken)
    (verdict,) = lint(ERRORS)
    assert verdict.outcome is Outcome.UNKNOWN and "RuntimeError: boom" in verdict.message


def test_unexpanded_macro_is_not_linted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Transform: Boto3\nResources:\n  Readme:\n    Type: Boto3::s3.put_object\n"
        "    Mode: Create\n    Properties: {Bucket: b}\n",
    )
    (verdict,) = lint(path)
    assert (verdict.rule_id, verdict.outcome) == ("cfn-lint", Outcome.UNKNOWN)
    assert "Boto3" in verdict.message


def test_for_each_is_left_to_cfn_lint(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Transform: AWS::LanguageExtensions\nResources:\n  Topic: {Type: AWS::SNS::Topic}\n"
        "Outputs:\n  Fn::ForEach::Arns:\n    - Name\n    - [A, B]\n"
        "    - ${Name}Arn: {Value: !Ref Topic}\n",
    )
    assert [v.outcome for v in lint(path)] == [Outcome.PASS]


def test_lint_template_carries_the_original_transform() -> None:
    snapshot: StackSnapshot = snapshot_from_file(ERRORS)
    template = cfnlint_bridge.lint_template(snapshot)
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert template["Resources"]["SamRuntimeTypoFunction"]["Type"] == "AWS::Lambda::Function"


def test_cli_flag_enables_cfn_lint(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", str(ERRORS), "--format", "json", "--fail-on", "none"])
    without = json.loads(capsys.readouterr().out)
    assert code == 0
    code = main(["scan", str(ERRORS), "--format", "json", "--fail-on", "none", "--cfn-lint"])
    with_flag = json.loads(capsys.readouterr().out)
    assert code == 0

    def lint_ids(report: dict[str, Any]) -> set[str]:
        return {f["rule_id"] for f in report["findings"] if f["rule_id"].startswith("cfn-lint")}

    assert lint_ids(without) == set()
    assert lint_ids(with_flag) == {"cfn-lint/E3717", "cfn-lint/E3030"}

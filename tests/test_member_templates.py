"""The templates a member account deploys (member/) and the auditor's own template lint clean
with cfn-lint and pass the auditor's own rules: nothing open above LOW."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from stack_auditor.config import AuditConfig
from stack_auditor.evaluate import evaluate
from stack_auditor.findings import to_findings
from stack_auditor.model import FindingStatus, Severity
from stack_auditor.rules import CATALOG
from stack_auditor.snapshot import snapshot_from_file

ROOT = Path(__file__).resolve().parents[1]
MEMBER_TEMPLATES = ("member/member-role.yaml", "member/forwarding-rule.yaml")
# Values a StackSet would pass (the member templates' required parameters).
MEMBER_PARAMETERS = {
    "AuditorRoleArn": "arn:aws:iam::111122223333:role/stack-auditor-prod-AuditFunctionRole",
    "AuditorAccountId": "111122223333",
    "EnvironmentSuffix": "prod",
}


def test_member_templates_lint_clean() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), *MEMBER_TEMPLATES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ["template.yaml", *MEMBER_TEMPLATES])
def test_nothing_open_above_low(path: str) -> None:
    parameters = {} if path == "template.yaml" else MEMBER_PARAMETERS
    snapshot = snapshot_from_file(ROOT / path, parameters=parameters, stack_name="stack-auditor")
    verdicts = evaluate(snapshot, AuditConfig(), rules=CATALOG)
    findings = to_findings(snapshot, verdicts, CATALOG, AuditConfig(), datetime.now(UTC))
    above_low = [
        f"{f.rule_id} {f.logical_id}: {f.message}"
        for f in findings.findings
        if f.status is FindingStatus.OPEN and f.severity.at_least(Severity.MEDIUM)
    ]
    assert above_low == []

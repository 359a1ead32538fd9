"""The demo (demo/run_demo.py) end to end on moto's server: every broken sample stack gets
findings and an alert, the clean one gets none, each stack's live findings are its template's
(moto's gaps repaired by emulator_fixups), an out-of-band change is found as drift by the sweep
and resolved once undone, and the update and the deletion each announce resolved findings."""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from rich.console import Console
from stack_auditor.config import AuditConfig
from stack_auditor.evaluate import evaluate
from stack_auditor.model import Outcome
from stack_auditor.snapshot import snapshot_from_file

DEMO = Path(__file__).resolve().parent.parent / "demo" / "run_demo.py"
# What moto cannot hold at all: its Lambda has no DeadLetterConfig, so the deployed function
# shows none and there is no dead-letter queue whose permission could be missing.
MOTO_CANNOT_SHOW = {
    ("sample-payments", "lambda-dlq-permission-missing", "PaymentProcessorFunction")
}


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stack_auditor_demo", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo_run() -> tuple[ModuleType, Any, str]:
    demo = load_demo()
    buffer = io.StringIO()
    result = demo.run(Console(file=buffer, width=100, no_color=True))
    return demo, result, buffer.getvalue()


def test_broken_stacks_have_findings_and_alerts(demo_run: tuple[ModuleType, Any, str]) -> None:
    demo, result, _ = demo_run
    for stack in demo.BROKEN:
        counts = result.open_counts[stack]
        assert sum(counts.values()) > 0, stack
        assert counts["CRITICAL"] + counts["HIGH"] > 0, stack
        assert result.alerts_for(stack), f"no alert received for {stack}"


def test_clean_stack_has_no_open_finding(demo_run: tuple[ModuleType, Any, str]) -> None:
    _, result, _ = demo_run
    assert result.open_findings["sample-clean"] == set()
    assert sum(result.open_counts["sample-clean"].values()) == 0
    assert not result.alerts_for("sample-clean")


def scanned(demo: ModuleType, stack: str) -> set[tuple[str, str | None]]:
    """What `stack-auditor scan` finds in the template last deployed, with the demo's
    parameters and stack tags."""
    folder = demo.STACKS / "updates" if stack == demo.UPDATED else demo.STACKS
    snapshot = snapshot_from_file(
        folder / f"{stack}.yaml",
        parameters={"EnvironmentSuffix": demo.ENVIRONMENT},
        tags=demo.STACK_TAGS.get(stack, {}),
        account=demo.ACCOUNT,
        region=demo.REGION,
        stack_name=stack,
    )
    return {
        (v.rule_id, v.logical_id)
        for v in evaluate(snapshot, AuditConfig())
        if v.outcome is Outcome.FAIL
    }


def test_live_findings_are_the_templates(demo_run: tuple[ModuleType, Any, str]) -> None:
    demo, result, _ = demo_run
    for stack in demo.SAMPLES:
        unseen = {(rule, lid) for name, rule, lid in MOTO_CANNOT_SHOW if name == stack}
        assert result.open_findings[stack] == scanned(demo, stack) - unseen, stack


def test_out_of_band_change_is_drift_until_undone(demo_run: tuple[ModuleType, Any, str]) -> None:
    demo, result, text = demo_run
    stack, logical_id, rule_id = demo.DRIFTED
    found, undone = result.drift
    assert (found["rule_id"], found["logical_id"], found["status"]) == (rule_id, logical_id, "OPEN")
    assert found["evidence"] == {"source": "live", "value": False, "template": True}
    assert (undone["finding_id"], undone["status"]) == (found["finding_id"], "RESOLVED")
    # each sweep audits the four stacks; only the drift comes and goes
    assert [(s["audited"], s["new"], s["resolved"], s["failed"]) for s in result.sweeps] == [
        (4, 1, 0, 0),
        (4, 0, 1, 0),
    ]
    assert [a.subject for a in result.alerts_for(stack) if a.status == "SWEEP"] == [
        f"[HIGH] {stack}: 1 new finding",
        f"[RESOLVED] {stack}: 1 resolved",
    ]
    assert "turned off by hand" in text
    assert f"{rule_id} on {logical_id}: OPEN, read live: deployed False, template True" in text
    assert f"{rule_id} on {logical_id}: RESOLVED" in text


def test_update_and_delete_announce_resolved_findings(
    demo_run: tuple[ModuleType, Any, str],
) -> None:
    demo, result, _ = demo_run
    update = [a for a in result.alerts_for(demo.UPDATED) if a.status == "UPDATE_COMPLETE"]
    assert update and "resolved" in update[0].subject.lower()
    deleted = [a for a in result.alerts_for(demo.DELETED) if a.status == "DELETE_COMPLETE"]
    assert deleted and "resolved" in deleted[0].subject.lower()
    statuses = [s["status"] for s in result.summaries]
    assert statuses.count("audited") == len(demo.SAMPLES) + 1
    assert statuses.count("deleted") == 1


def test_output_shows_findings_alerts_and_summary(
    demo_run: tuple[ModuleType, Any, str],
) -> None:
    demo, _, text = demo_run
    for stack in demo.SAMPLES:
        assert stack in text
    assert "SNS alert" in text
    assert "Open findings per sample stack" in text
    assert "No findings" in text or "0 open" in text  # the clean stack

"""The demo (demo/run_demo.py) end to end on moto's server: every broken sample stack gets
findings and an alert, the clean one gets nothing HIGH or CRITICAL, and the update and the
deletion each announce resolved findings."""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from rich.console import Console

DEMO = Path(__file__).resolve().parent.parent / "demo" / "run_demo.py"


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


def test_clean_stack_has_nothing_high_or_critical(
    demo_run: tuple[ModuleType, Any, str],
) -> None:
    _, result, _ = demo_run
    counts = result.open_counts["sample-clean"]
    assert counts["CRITICAL"] == 0 and counts["HIGH"] == 0, counts
    assert not result.alerts_for("sample-clean")


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

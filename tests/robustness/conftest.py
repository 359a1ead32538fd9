"""Report the robustness figures (fuzz_stats.TALLY) at the end of the session."""

from __future__ import annotations

import os
from pathlib import Path

import fuzz_stats
import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not fuzz_stats.TALLY:
        return
    terminalreporter.section("robustness figures")
    for line in fuzz_stats.summary_lines():
        terminalreporter.write_line(line)
    results = os.environ.get("FUZZ_RESULTS")
    if results:
        fuzz_stats.write_results(Path(results))
        terminalreporter.write_line(f"written to {results}")

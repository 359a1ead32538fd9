"""The benchmark stays runnable: the generator and the in-process measurements on tiny input.

No timings are asserted (the machine is shared and noisy); benchmarks/run.sh measures them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import generate  # noqa: E402  (benchmarks/ is scripts, not a package)
import inprocess  # noqa: E402
from stack_auditor.snapshot import snapshot_from_file  # noqa: E402


@pytest.mark.parametrize("sam", [False, True])
def test_generator_is_deterministic_and_exact(sam: bool) -> None:
    template = generate.generate(15, sam=sam)
    assert len(template["Resources"]) == 15
    assert generate.render(template) == generate.render(generate.generate(15, sam=sam))


@pytest.mark.parametrize("sam", [False, True])
def test_generated_template_scans_with_findings(tmp_path: Path, sam: bool) -> None:
    path = generate.write(tmp_path, 13, sam=sam)
    snapshot = snapshot_from_file(path)
    assert len(snapshot.resources) >= 13  # SAM expands functions into more resources
    result = inprocess.warm_evaluation([path], repeat=1)
    assert result.resources == len(snapshot.resources)
    assert result.seconds > 0


def test_scan_many_scans_every_file(tmp_path: Path) -> None:
    paths = [generate.write(tmp_path, 12), generate.write(tmp_path, 9, sam=True)]
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources: [unclosed\n")
    assert inprocess.scan_many([*paths, broken]) == (2, 1)

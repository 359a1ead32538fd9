"""The in-process parts of the benchmark: warm rule evaluation and a many-file scan.

    .venv/bin/python benchmarks/inprocess.py warm FILE...     # JSON: ms per resource
    .venv/bin/python benchmarks/inprocess.py scan-many FILE...  # JSON: seconds, files

``warm``: every template is loaded into a snapshot and evaluated once (data files loaded,
caches filled), then loaded again into fresh snapshots (``per_snapshot`` indexes are kept per
snapshot, so a new audit builds them again) and only ``evaluate`` over those is timed. That
is the per-audit cost of the rule catalog in a warm Lambda container.

``scan-many``: what ``stack-auditor scan --format json`` does for one file (snapshot, evaluate,
findings, report, JSON text), for every file in one process, the way cfn-lint and checkov are
run on many files at once. The CLI takes one template, so this is the driver for that row.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stack_auditor.model import StackSnapshot

SEEN_AT = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class WarmResult:
    templates: int
    resources: int
    seconds: float

    @property
    def ms_per_resource(self) -> float:
        return self.seconds / self.resources * 1000 if self.resources else 0.0


def _snapshots(paths: Sequence[Path]) -> list[StackSnapshot]:
    from stack_auditor.snapshot import snapshot_from_file
    from stack_auditor.template.loader import TemplateError

    snapshots: list[StackSnapshot] = []
    for path in paths:
        try:
            snapshots.append(snapshot_from_file(path))
        except TemplateError:
            continue  # the corpus holds a few templates the loader rejects, as scan does
    return snapshots


def warm_evaluation(paths: Sequence[Path], repeat: int = 1) -> WarmResult:
    """Median of ``repeat`` timed passes of evaluate() over fresh snapshots of ``paths``."""
    from stack_auditor.config import AuditConfig
    from stack_auditor.evaluate import evaluate

    config = AuditConfig()
    for snapshot in _snapshots(paths):  # warm-up: data files, regexes, lazy imports
        evaluate(snapshot, config)
    times: list[float] = []
    resources = templates = 0
    for _ in range(repeat):
        fresh = _snapshots(paths)
        templates, resources = len(fresh), sum(len(s.resources) for s in fresh)
        start = time.perf_counter()
        for snapshot in fresh:
            evaluate(snapshot, config)
        times.append(time.perf_counter() - start)
    return WarmResult(templates, resources, statistics.median(times))


def scan_many(paths: Sequence[Path]) -> tuple[int, int]:
    """Scan every file as ``scan --format json`` would; (files scanned, files rejected)."""
    from stack_auditor.config import AuditConfig
    from stack_auditor.evaluate import evaluate
    from stack_auditor.findings import to_findings
    from stack_auditor.output.jsonout import render_report
    from stack_auditor.output.report import build_report
    from stack_auditor.rules import CATALOG
    from stack_auditor.snapshot import snapshot_from_file
    from stack_auditor.template.loader import TemplateError

    config = AuditConfig()
    scanned = rejected = 0
    for path in paths:
        try:
            snapshot = snapshot_from_file(path)
        except TemplateError:
            rejected += 1
            continue
        verdicts = evaluate(snapshot, config, rules=CATALOG)
        finding_set = to_findings(snapshot, verdicts, CATALOG, config, SEEN_AT)
        report = build_report(
            snapshot, verdicts, (f.to_dict() for f in finding_set.findings), template=str(path)
        )
        render_report(report)
        scanned += 1
    return scanned, rejected


def main(argv: Sequence[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("warm", "scan-many"):
        print(__doc__, file=sys.stderr)
        return 2
    paths = [Path(p) for p in argv[1:]]
    if argv[0] == "warm":
        result = warm_evaluation(paths, repeat=5)
        out = {
            "templates": result.templates,
            "resources": result.resources,
            "seconds": result.seconds,
            "ms_per_resource": result.ms_per_resource,
        }
    else:
        scanned, rejected = scan_many(paths)
        out = {"scanned": scanned, "rejected": rejected}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

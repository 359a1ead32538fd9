"""Size and figures of the fuzz runs (imported as ``fuzz_stats``).

Size: the hypothesis profile ``fuzz-ci`` (seeded, so CI runs repeat) unless ``FUZZ_EXAMPLES``
is set, then ``fuzz-full`` (randomly seeded) with that many cases per target; scripts/fuzz.sh
sets 10,000. Figures: each fuzz test records its cases into ``TALLY`` (per target and family:
how each ended, rejection reasons by class, the slowest case); conftest prints them at the end
of the session and writes them as JSON to ``FUZZ_RESULTS`` when that is set.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

# CI size when FUZZ_EXAMPLES is not set; scripts/fuzz.sh sets 10,000. The secondary targets
# (the file entry point, alert and table rendering) stop at FULL_CAP: they repeat the main
# targets' inputs through a thinner layer, and a rich table render costs ~0.1 s.
CI_EXAMPLES = {
    "event": 2000,
    "template": 600,
    "template-file": 100,
    "nesting-bound": 200,
    "alert": 200,
    "table": 30,
}
FULL_CAP = {"template-file": 2000, "nesting-bound": 5000, "alert": 5000, "table": 500}
FULL = bool(os.environ.get("FUZZ_EXAMPLES"))

for _name, _seeded in (("fuzz-ci", True), ("fuzz-full", False)):
    settings.register_profile(
        _name,
        deadline=None,  # per-case time is measured, and asserted by the tests themselves
        database=None,  # no .hypothesis/ directory in the work tree
        derandomize=_seeded,
        print_blob=True,  # a failure prints the blob that reproduces it
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )


def examples(target: str) -> int:
    """How many cases to generate for ``target``: FUZZ_EXAMPLES, else the CI size."""
    given = os.environ.get("FUZZ_EXAMPLES")
    if not given:
        return CI_EXAMPLES[target]
    return min(int(given), FULL_CAP.get(target, int(given)))


def fuzz_settings(target: str) -> settings:
    profile = settings.get_profile("fuzz-full" if FULL else "fuzz-ci")
    return settings(profile, max_examples=examples(target))


@dataclass
class Target:
    cases: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # accepted / rejected / ignored
    families: Counter[str] = field(default_factory=Counter)
    family_seconds: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)  # rejection reason classes
    max_seconds: float = 0.0
    slowest: str = ""

    def record(self, family: str, outcome: str, seconds: float, reason: str = "") -> None:
        self.cases += 1
        self.families[family] += 1
        self.family_seconds[family] += seconds
        self.outcomes[outcome] += 1
        if reason:
            self.reasons[reason] += 1
        if seconds > self.max_seconds:
            self.max_seconds, self.slowest = seconds, family

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "outcomes": dict(self.outcomes.most_common()),
            "families": dict(self.families.most_common()),
            "seconds_by_family": {k: round(v, 3) for k, v in self.family_seconds.most_common()},
            "rejections_by_reason": dict(self.reasons.most_common()),
            "max_seconds_per_case": round(self.max_seconds, 4),
            "slowest_family": self.slowest,
        }


TALLY: dict[str, Target] = {}


def target(name: str) -> Target:
    return TALLY.setdefault(name, Target())


def classify(reason: str, classes: tuple[tuple[str, str], ...]) -> str | None:
    """The class of a rejection reason: the first (pattern, class) whose pattern matches."""
    for pattern, name in classes:
        if re.search(pattern, reason):
            return name
    return None


def summary_lines() -> list[str]:
    lines = []
    for name, tally in sorted(TALLY.items()):
        outcomes = ", ".join(f"{n} {k}" for k, n in tally.outcomes.most_common())
        lines.append(
            f"{name}: {tally.cases} cases ({outcomes}); slowest {tally.max_seconds:.3f} s "
            f"({tally.slowest})"
        )
        families = ", ".join(
            f"{k} {n} ({tally.family_seconds[k]:.1f} s)" for k, n in tally.families.most_common()
        )
        lines.append(f"  families: {families}")
        if tally.reasons:
            reasons = ", ".join(f"{k} {n}" for k, n in tally.reasons.most_common())
            lines.append(f"  rejected by reason: {reasons}")
    return lines


def write_results(path: Path) -> None:
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    document = {
        "generated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "examples_requested": {name: examples(name) for name in CI_EXAMPLES},
        "python": sys.version.split()[0],
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "peak_rss_mib": round(rss_kib / 1024, 1),
        "targets": {name: tally.to_dict() for name, tally in sorted(TALLY.items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")

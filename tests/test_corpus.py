"""Robustness: every real-world template of the shared corpus is scanned without a crash.

The corpus (shared/corpus/templates, 393 templates other people wrote: SAM and plain
CloudFormation, macros, rain tags, Quick Start monsters) goes through the same path as
``stack-auditor scan``: snapshot_from_file, evaluate over the whole catalog, to_findings. A
crash is an exception escaping any of them, or a rule that raised: evaluate keeps the audit
going by turning it into an UNKNOWN verdict with ``evidence.source == "engine"``. Templates
that cannot be loaded must say why in one line, and there must be few of them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from stack_auditor.config import AuditConfig
from stack_auditor.evaluate import evaluate
from stack_auditor.findings import to_findings
from stack_auditor.model import Outcome, Verdict
from stack_auditor.rules import CATALOG
from stack_auditor.snapshot import snapshot_from_file
from stack_auditor.template.loader import TemplateError

# CI runs a fresh clone with shared/ beside it: <parent>/main/tests and <parent>/shared.
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "templates"
CORPUS_SIZE = 393
# Today: two templates with duplicate mapping keys, which CloudFormation rejects too.
MAX_UNLOADABLE = 5
SEEN_AT = datetime(2025, 1, 1, tzinfo=UTC)


def corpus_templates() -> list[Path]:
    index = CORPUS / "INDEX.tsv"
    if not index.is_file():
        pytest.fail(
            f"template corpus not found: {index} (shared/ must sit beside the repository, "
            "as in CI's fresh clone)",
            pytrace=False,
        )
    rows = index.read_text(encoding="utf-8").splitlines()[1:]
    return [CORPUS / row.split("\t", 1)[0] for row in rows if row.strip()]


def raised_in_rule(verdict: Verdict) -> bool:
    """The UNKNOWN verdict evaluate substitutes for a rule that raised."""
    return (
        verdict.outcome is Outcome.UNKNOWN
        and verdict.evidence.get("source") == "engine"
        and "error" in verdict.evidence
    )


def test_every_corpus_template_is_scanned_without_a_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    paths = corpus_templates()
    assert len(paths) == CORPUS_SIZE, f"corpus index lists {len(paths)} templates"
    missing = [str(p) for p in paths if not p.is_file()]
    assert not missing, f"listed but missing: {missing}"

    config = AuditConfig()
    crashes: list[str] = []
    unloadable: list[str] = []
    caplog.set_level(logging.CRITICAL)  # evaluate logs each raising rule's traceback
    for path in paths:
        name = str(path.relative_to(CORPUS))
        try:
            snapshot = snapshot_from_file(path)
        except TemplateError as exc:
            unloadable.append(f"{name}: {exc}")
            continue
        except Exception as exc:
            crashes.append(f"{name}: snapshot_from_file raised {type(exc).__name__}: {exc}")
            continue
        try:
            verdicts = evaluate(snapshot, config, rules=CATALOG)
            to_findings(snapshot, verdicts, CATALOG, config, SEEN_AT)
        except Exception as exc:
            crashes.append(f"{name}: raised {type(exc).__name__}: {exc}")
            continue
        crashes.extend(f"{name}: {v.rule_id}: {v.message}" for v in verdicts if raised_in_rule(v))

    assert not crashes, f"{len(crashes)} crashes:\n" + "\n".join(crashes)
    assert len(unloadable) <= MAX_UNLOADABLE, "too many unloadable:\n" + "\n".join(unloadable)
    for reason in unloadable:
        assert "\n" not in reason and len(reason) < 400, f"not a one-line reason: {reason!r}"

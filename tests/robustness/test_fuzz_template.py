"""Fuzz the template loader and the whole scan path behind it.

Every generated text (fuzz_templates) either is rejected by ``load_template_text`` with a
TemplateError whose reason is one printable line of a known class, or goes through everything
``stack-auditor scan`` does: snapshot (SAM expansion, intrinsic resolution), the whole rule
catalog, findings, the report and its three renderings (JSON, SARIF, table). Nothing may
raise, no rule may fail (evaluate turns a raising rule into an UNKNOWN verdict with
``evidence.source == "engine"``: that counts as a crash here), and each case must finish in
bounded time.
"""

from __future__ import annotations

import io
import logging
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fuzz_stats
import fuzz_templates
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from stack_auditor.config import AuditConfig
from stack_auditor.evaluate import evaluate
from stack_auditor.findings import to_findings
from stack_auditor.model import Outcome, StackRef, Verdict
from stack_auditor.output.jsonout import render_report
from stack_auditor.output.report import build_report
from stack_auditor.output.sarif import render_sarif
from stack_auditor.output.table import make_console, print_report
from stack_auditor.rules import CATALOG
from stack_auditor.snapshot import build_snapshot, snapshot_from_file, unknown_tag_gaps
from stack_auditor.template import loader
from stack_auditor.template.loader import TemplateError, load_template_file, load_template_text

# Generous: a loaded, shared CI machine runs several times slower than a quiet one (the
# slowest of 10,000 cases on a quiet one: 1.8 s, 500 resources through catalog and renderings).
MAX_LOAD_SECONDS = 3.0
MAX_SCAN_SECONDS = 15.0
REF = StackRef("fuzz", account="123456789012", region="us-east-1", trigger="scan")
CONFIG = AuditConfig()
METAS = tuple(rule.meta for rule in CATALOG)
SEEN_AT = datetime(2026, 1, 1, tzinfo=UTC)
REASON_CLASSES = (
    (r"not valid YAML/JSON", "not YAML/JSON"),
    (r"duplicate key", "duplicate key"),
    (r"nests deeper than", "too deep"),
    (r"alias bomb", "alias bomb"),
    (r"recursive YAML alias", "recursive alias"),
    (r"larger than \d+ bytes", "too large"),
    (r"template is not a mapping", "not a mapping"),
    (r"no Resources section", "no Resources"),
    (r"resource .* is not a mapping with a Type", "resource not a mapping"),
    (r"number with more than \d+ digits", "number too long"),
    (r"logical id is longer than \d+ characters", "logical id too long"),
    (r"not a UTF-8 text file", "not UTF-8"),
    (r"cannot parse template", "other parse error"),
)


@pytest.fixture(autouse=True, scope="module")
def quiet_rule_errors() -> Iterator[None]:
    """evaluate logs each raising rule's traceback; the assert in ``scan`` reports them."""
    logger = logging.getLogger("stack_auditor.evaluate")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def raised_in_rule(verdict: Verdict) -> bool:
    return verdict.outcome is Outcome.UNKNOWN and verdict.evidence.get("source") == "engine"


def rejection_class(error: TemplateError) -> str:
    reason = str(error)
    assert reason and len(reason.splitlines()) == 1 and reason.isprintable(), repr(reason)
    assert len(reason) <= 400, f"{len(reason)}-character reason: {reason[:100]}..."
    reason_class = fuzz_stats.classify(reason, REASON_CLASSES)
    assert reason_class is not None, f"unclassified rejection: {reason!r}"
    return reason_class


def scan(data: dict[str, Any], lines: dict[str, int], unknown_tags: dict[str, int]) -> int:
    """Everything ``stack-auditor scan`` does after loading; returns the number of findings."""
    snapshot = build_snapshot(
        REF,
        data,
        None,
        lines=lines,
        source_file="fuzz.yaml",
        gaps=unknown_tag_gaps(unknown_tags),
    )
    verdicts = evaluate(snapshot, CONFIG, rules=CATALOG)
    crashed = [f"{v.rule_id}: {v.message}" for v in verdicts if raised_in_rule(v)]
    assert not crashed, crashed
    finding_set = to_findings(snapshot, verdicts, CATALOG, CONFIG, SEEN_AT)
    report = build_report(
        snapshot, verdicts, [f.to_dict() for f in finding_set.findings], template="fuzz.yaml"
    )
    render_report(report)
    render_sarif(report, METAS)
    print_report(report, make_console(io.StringIO(), width=100))
    return len(finding_set.findings)


@fuzz_stats.fuzz_settings("template")
@given(fuzz_templates.cases)
def test_every_template_is_scanned_or_rejected_with_a_reason(case: tuple[str, str]) -> None:
    family, text = case
    started = time.perf_counter()
    try:
        loaded = load_template_text(text, "fuzz.yaml")
    except TemplateError as error:
        seconds = time.perf_counter() - started
        assert seconds < MAX_LOAD_SECONDS, f"{family}: rejected after {seconds:.2f} s"
        fuzz_stats.target("template").record(family, "rejected", seconds, rejection_class(error))
        return
    assert time.perf_counter() - started < MAX_LOAD_SECONDS
    scan(loaded.data, loaded.lines, dict(loaded.unknown_tags))
    seconds = time.perf_counter() - started
    assert seconds < MAX_SCAN_SECONDS, f"{family}: scanned in {seconds:.2f} s"
    fuzz_stats.target("template").record(family, "scanned", seconds)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-files")


file_contents = st.tuples(
    st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]),  # UTF-8 and UTF-16 BOMs
    st.binary(max_size=2000) | fuzz_templates.structured_texts.map(str.encode),
).map(b"".join)


@fuzz_stats.fuzz_settings("template-file")
@given(data=file_contents)
def test_template_files_of_any_bytes_are_scanned_or_rejected(workdir: Path, data: bytes) -> None:
    """The file entry point (``snapshot_from_file``): undecodable bytes, BOMs, anything."""
    path = workdir / "fuzz.yaml"
    path.write_bytes(data)
    started = time.perf_counter()
    try:
        load_template_file(path)
    except TemplateError as error:
        fuzz_stats.target("template file").record(
            "bytes", "rejected", time.perf_counter() - started, rejection_class(error)
        )
        return
    snapshot_from_file(path)
    fuzz_stats.target("template file").record("bytes", "scanned", time.perf_counter() - started)


BOUNDED = {
    "billion laughs 10^11": (fuzz_templates.billion_laughs(10, 10, True), "alias bomb"),
    "billion laughs 4^9": (fuzz_templates.billion_laughs(4, 8, True), "alias bomb"),
    "merge-key bomb": (fuzz_templates.merge_bomb(10, 10), "alias bomb"),
    "1M nested flow lists": (fuzz_templates.nested(1_000_000, "flow-list"), "too deep"),
    "1M nested flow maps": (fuzz_templates.nested(1_000_000, "flow-map"), "too deep"),
    "1M compact sequences": (fuzz_templates.nested(1_000_000, "compact"), "too deep"),
    "1M nested JSON lists": (fuzz_templates.nested(1_000_000, "json-list"), "too deep"),
    "19 MB string": (fuzz_templates.huge_string(19_000_000, "a", "value"), None),
    "21 MB template": (fuzz_templates.huge_string(21_000_000, "a", "value"), "too large"),
}


@pytest.mark.parametrize("name", sorted(BOUNDED))
def test_bombs_and_giants_load_in_bounded_time_and_memory(name: str) -> None:
    """The worst inputs the fuzzers draw from, at full size, timed and memory-traced.

    Before the loader composed in Python, "1M nested flow lists" killed the process with a
    segmentation fault (libyaml's recursive composer ran out of C stack).
    """
    text, expected = BOUNDED[name]
    tracemalloc.start()
    started = time.perf_counter()
    try:
        load_template_text(text)
        outcome = None
    except TemplateError as error:
        outcome = rejection_class(error)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert outcome == expected
    assert seconds < MAX_LOAD_SECONDS
    assert peak < 2 * len(text) + 4_000_000  # a copy of the text, no blow-up
    fuzz_stats.target("template").record(
        "named worst cases", "rejected" if outcome else "loaded", seconds, outcome or ""
    )


def event_depth(text: str) -> int:
    """How deep libyaml's composer would recurse on ``text`` (up to a parse error)."""
    depth = deepest = 0
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                deepest = max(deepest, depth)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        pass  # the events up to the error are what the composer would have recursed on
    return deepest


@fuzz_stats.fuzz_settings("nesting-bound")
@given(fuzz_templates.cases.map(lambda case: case[1]))
def test_the_nesting_bound_is_never_below_the_real_depth(text: str) -> None:
    """The loader hands a text to libyaml's recursive C composer only when this bound is
    small, so an underestimate could crash the process: it must hold for every text."""
    started = time.perf_counter()
    depth, bound = event_depth(text), loader._nesting_bound(text)
    assert depth <= bound
    outcome = "C composer" if bound <= loader._C_COMPOSER_DEPTH else "Python composer"
    fuzz_stats.target("nesting bound").record("templates", outcome, time.perf_counter() - started)

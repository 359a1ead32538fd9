"""OPEN findings per rule over the real-world template corpus (shared/corpus/templates).

    .venv/bin/python benchmarks/corpus_counts.py

Each template is scanned the way ``stack-auditor scan`` does it (default policy, no
parameters or stack tags). Prints one line per rule, most findings first: the number of OPEN
findings, the number of templates they are in, and the rule id; then the totals, the
templates that could not be loaded, and the UNKNOWN verdicts per rule.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from stack_auditor.config import AuditConfig
from stack_auditor.evaluate import evaluate
from stack_auditor.findings import FindingStatus, to_findings
from stack_auditor.model import Outcome
from stack_auditor.rules import CATALOG
from stack_auditor.snapshot import snapshot_from_file
from stack_auditor.template.loader import TemplateError

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "templates"
SEEN_AT = datetime(2025, 1, 1, tzinfo=UTC)


def corpus_templates(corpus: Path = CORPUS) -> list[Path]:
    """The templates listed in the corpus index, in index order."""
    rows = (corpus / "INDEX.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [corpus / row.split("\t", 1)[0] for row in rows if row.strip()]


def main() -> int:
    if not (CORPUS / "INDEX.tsv").is_file():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    logging.disable(logging.CRITICAL)  # a raising rule is counted below, not logged
    config = AuditConfig()
    findings: Counter[str] = Counter()
    templates_with: Counter[str] = Counter()
    unknowns: Counter[str] = Counter()
    unloadable: list[str] = []
    crashes: list[str] = []
    started = time.perf_counter()
    paths = corpus_templates()
    for path in paths:
        try:
            snapshot = snapshot_from_file(path)
        except TemplateError as exc:
            unloadable.append(str(exc))
            continue
        verdicts = evaluate(snapshot, config, rules=CATALOG)
        unknowns.update(v.rule_id for v in verdicts if v.outcome is Outcome.UNKNOWN)
        crashes.extend(
            f"{path.name} {v.rule_id}"
            for v in verdicts
            if v.outcome is Outcome.UNKNOWN and v.evidence.get("source") == "engine"
        )
        result = to_findings(snapshot, verdicts, CATALOG, config, SEEN_AT)
        opened = [f.rule_id for f in result.findings if f.status is FindingStatus.OPEN]
        findings.update(opened)
        templates_with.update(set(opened))
    elapsed = time.perf_counter() - started

    print(f"{'OPEN':>6} {'files':>5}  rule")
    ordered = sorted(findings.items(), key=lambda item: (-item[1], item[0]))
    for rule_id, count in ordered:
        print(f"{count:>6} {templates_with[rule_id]:>5}  {rule_id}")
    silent = sorted(r.meta.id for r in CATALOG if r.meta.id not in findings)
    if silent:
        print(f"{0:>6} {0:>5}  " + ", ".join(silent))
    print(
        f"\n{sum(findings.values())} OPEN findings from {len(findings)} of {len(CATALOG)} rules "
        f"over {len(paths) - len(unloadable)} of {len(paths)} templates in {elapsed:.1f} s"
    )
    for reason in unloadable:
        print(f"not loaded: {reason.replace(str(CORPUS) + '/', '')}")
    print("\nUNKNOWN verdicts: " + ", ".join(f"{r} {n}" for r, n in unknowns.most_common()))
    if crashes:
        print("rules that raised (UNKNOWN from the engine): " + "; ".join(crashes))
    return 0


if __name__ == "__main__":
    sys.exit(main())

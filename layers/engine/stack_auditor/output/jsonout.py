"""JSON renderings: a scan/audit report as one object, and the rule catalog as a list."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from stack_auditor import __version__
from stack_auditor.model import Side
from stack_auditor.output.report import TOOL_NAME, Report
from stack_auditor.rule import RuleMeta


def tool_header() -> dict[str, str]:
    return {"name": TOOL_NAME, "version": __version__}


def render_report(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"


def rule_row(meta: RuleMeta) -> dict[str, Any]:
    return {
        "id": meta.id,
        "severity": meta.severity.value,
        "family": meta.family,
        # Catalog order T, R, L, X rather than set order, so the output is stable.
        "sides": [s.value for s in Side if s in meta.sides],
        "title": meta.title,
        "subject_types": list(meta.subject_types),
        "risk": meta.risk,
        "remediation": meta.remediation,
        "seeds": list(meta.seeds),
        "reference": meta.reference,
    }


def render_rules(metas: Iterable[RuleMeta]) -> str:
    document = {
        "tool": {"name": TOOL_NAME, "version": __version__},
        "rules": [rule_row(m) for m in metas],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

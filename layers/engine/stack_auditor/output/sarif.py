"""SARIF 2.1.0 rendering of a report, for GitHub code scanning and SARIF-aware editors.

Choices that matter to consumers:
- every rule of the catalog is listed in ``tool.driver.rules`` (not only those that fired),
  so a viewer can show what was checked; ids outside the catalog (``cfn-lint/E3012``) get a
  descriptor of their own so each result's ``ruleIndex`` is valid;
- ``properties.security-severity`` carries GitHub's numeric severity, which it uses instead
  of ``level`` to label security alerts;
- ``partialFingerprints`` holds the finding's stable id, so GitHub tracks one alert across
  commits even when the resource moves to another line;
- SUPPRESSED findings are results with an ``inSource`` suppression (the suppression lives in
  the template's Metadata), which viewers hide but keep;
- findings read from the findings table (``stack-auditor findings``) have no file: their
  artifact is ``stack/<account>/<region>/<stack>`` (line 1) and their logical locations name the
  resource and the stack. RESOLVED ones are left out (a SARIF result is a problem, and GitHub
  closes the alerts an upload no longer contains) and counted in a notification.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from stack_auditor import __version__
from stack_auditor.model import FindingStatus, Severity
from stack_auditor.output.report import TOOL_NAME, TOOL_URI, Report, severity_of
from stack_auditor.rule import RuleMeta

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
FINGERPRINT_KEY = "stackAuditorFindingId/v1"

LEVELS: Mapping[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFORMATIONAL: "note",
}
# GitHub maps these to critical (>= 9.0), high (7.0-8.9), medium (4.0-6.9), low (0.1-3.9).
SECURITY_SEVERITY: Mapping[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFORMATIONAL: "0.0",
}


def artifact_uri(file: str | None, cwd: Path | None = None) -> str | None:
    """The file relative to the working directory with forward slashes (what GitHub expects).

    A file on another drive (Windows) cannot be relative; it becomes an absolute file URI.
    """
    if not file:
        return None
    path = Path(file)
    base = cwd or Path.cwd()
    try:
        return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
    except ValueError:
        return path.resolve().as_uri()


def _descriptor(meta: RuleMeta) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": meta.id,
        "name": "".join(part.capitalize() for part in meta.id.replace("/", "-").split("-")),
        "shortDescription": {"text": meta.title},
        "fullDescription": {"text": meta.risk or meta.title},
        "help": {"text": meta.remediation or meta.title},
        "defaultConfiguration": {"level": LEVELS[meta.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[meta.severity],
            "tags": ["security", "cloudformation", meta.family],
        },
    }
    if meta.reference:
        descriptor["helpUri"] = meta.reference
    return descriptor


def _ad_hoc_descriptor(finding: Mapping[str, Any]) -> dict[str, Any]:
    severity = severity_of(finding)
    title = str(finding.get("title") or finding["rule_id"])
    return {
        "id": finding["rule_id"],
        "shortDescription": {"text": title},
        "help": {"text": str(finding.get("remediation") or title)},
        "defaultConfiguration": {"level": LEVELS[severity]},
        "properties": {"security-severity": SECURITY_SEVERITY[severity]},
    }


def _message(finding: Mapping[str, Any]) -> str:
    message = str(finding.get("message", ""))
    where = finding.get("logical_id")
    # Rule messages usually name their resource already; say it once.
    text = message if not where or where in message else f"{where}: {message}"
    remediation = finding.get("remediation")
    return f"{text} Fix: {remediation}" if remediation else text


def stack_uri(finding: Mapping[str, Any]) -> str | None:
    """``stack/<account>/<region>/<stack>`` for a finding read from the table, else None."""
    parts = [finding.get(k) for k in ("account", "region", "stack_name")]
    if all(parts) and not finding.get("file"):
        return "stack/" + "/".join(str(p) for p in parts)
    return None


def _logical_locations(finding: Mapping[str, Any], stack: str | None) -> list[dict[str, Any]]:
    logical_id = finding.get("logical_id")
    prefix = f"{stack}/" if stack else ""
    resource: dict[str, Any] = {
        "name": logical_id or "template",
        "kind": "resource" if logical_id else "module",
    }
    if logical_id:
        resource["fullyQualifiedName"] = f"{prefix}Resources.{logical_id}"
    if not stack:
        return [resource]
    whole = {"name": str(finding["stack_name"]), "kind": "module", "fullyQualifiedName": stack}
    return [resource, whole] if logical_id else [whole]


def _result(
    finding: Mapping[str, Any], rule_index: int, default_file: str | None, cwd: Path | None
) -> dict[str, Any]:
    severity = severity_of(finding)
    stack = stack_uri(finding)
    uri = stack or artifact_uri(finding.get("file") or default_file, cwd)
    line = finding.get("line")
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": uri or "template"},
        # Template-wide findings have no resource line: SARIF needs a region, line 1 is the
        # convention for "the whole file".
        "region": {"startLine": line if isinstance(line, int) and line >= 1 else 1},
    }
    result: dict[str, Any] = {
        "ruleId": finding["rule_id"],
        "ruleIndex": rule_index,
        "level": LEVELS[severity],
        "message": {"text": _message(finding)},
        "locations": [
            {
                "physicalLocation": physical,
                "logicalLocations": _logical_locations(finding, stack),
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: str(finding.get("finding_id", ""))},
        "properties": {
            "security-severity": SECURITY_SEVERITY[severity],
            "severity": severity.value,
            "resourceType": finding.get("resource_type"),
            "path": finding.get("path", ""),
        },
    }
    if finding.get("status") == FindingStatus.SUPPRESSED.value:
        result["suppressions"] = [
            {
                "kind": "inSource",
                "justification": str(finding.get("suppression_reason") or ""),
            }
        ]
    return result


def build_sarif(
    report: Report, metas: Iterable[RuleMeta], *, cwd: Path | None = None
) -> dict[str, Any]:
    descriptors = [_descriptor(m) for m in metas]
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    results = []
    for finding in report.findings:
        rule_id = finding["rule_id"]
        if rule_id not in index:
            index[rule_id] = len(descriptors)
            descriptors.append(_ad_hoc_descriptor(finding))
        results.append(_result(finding, index[rule_id], report.template, cwd))
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": TOOL_URI,
                "rules": descriptors,
            }
        },
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    if report.unknown or report.gaps:
        # What could not be checked is not a result; SARIF's place for it is a notification.
        run["invocations"] = [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    *(_notification(u["rule_id"], _unknown_text(u)) for u in report.unknown),
                    *(_notification(None, _gap_text(g)) for g in report.gaps),
                ],
            }
        ]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _notification(rule_id: str | None, text: str) -> dict[str, Any]:
    note: dict[str, Any] = {"level": "note", "message": {"text": text}}
    if rule_id:
        note["associatedRule"] = {"id": rule_id}
    return note


def _unknown_text(row: Mapping[str, Any]) -> str:
    return f"not checked: {row.get('logical_id') or 'template'}: {row.get('message', '')}"


def _gap_text(row: Mapping[str, Any]) -> str:
    detail = f" ({row['detail']})" if row.get("detail") else ""
    return f"not read: {row.get('scope')}: {row.get('what')}: {row.get('reason')}{detail}"


def render_sarif(report: Report, metas: Iterable[RuleMeta], *, cwd: Path | None = None) -> str:
    return json.dumps(build_sarif(report, metas, cwd=cwd), indent=2, ensure_ascii=False) + "\n"


def build_findings_sarif(
    rows: Iterable[Mapping[str, Any]], metas: Iterable[RuleMeta]
) -> dict[str, Any]:
    """SARIF for findings read from the table (``stack-auditor findings --format sarif``)."""
    rows = tuple(rows)
    kept = tuple(r for r in rows if r.get("status") != FindingStatus.RESOLVED.value)
    document = build_sarif(Report(template=None, stack_name=None, findings=kept), metas)
    run = document["runs"][0]
    # a category of its own, so these uploads never close the alerts of `scan` uploads
    run["automationDetails"] = {"id": "stack-auditor/deployed-stacks/"}
    if len(kept) < len(rows):
        text = f"{len(rows) - len(kept)} RESOLVED finding(s) left out: results are open problems"
        run["invocations"] = [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [_notification(None, text)],
            }
        ]
    return document


def render_findings_sarif(rows: Iterable[Mapping[str, Any]], metas: Iterable[RuleMeta]) -> str:
    return json.dumps(build_findings_sarif(rows, metas), indent=2, ensure_ascii=False) + "\n"

"""lambda-runtime-deprecated: the function's runtime is deprecated, or will be within 180 days.

Dates and successors come from data/lambda_runtimes.json, generated from cfn-lint's copy of
AWS's runtime deprecation schedule (scripts/gen_data.py). "Today" is the snapshot's
``last_updated`` (the deployment audited; it also makes tests deterministic), else the current
UTC date. Runtime from live state when read (drift reported), else the resolved template.
No Runtime with ``PackageType: Image`` -> NOT_APPLICABLE (the image brings its runtime); a
runtime not in the schedule, or an unresolvable one -> UNKNOWN.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta

META = RuleMeta(
    id="lambda-runtime-deprecated",
    title="Functions run on a supported runtime, not deprecated within 180 days",
    severity=Severity.HIGH,
    family="Code and template quality",
    subject_types=("AWS::Lambda::Function",),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "A deprecated runtime gets no security patches; AWS then blocks creating and later "
        "updating functions on it, so the next deployment of the stack fails."
    ),
    remediation=(
        "Set Runtime to the successor named in the finding (e.g. Runtime: python3.13), test "
        "the code on it, and redeploy."
    ),
    reference="https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html",
)

WARNING_DAYS = 180
_PATH = "Properties.Runtime"


@cache
def runtime_schedule() -> Mapping[str, tuple[date | None, str | None]]:
    """Runtime -> (deprecation date, successor)."""
    text = resources.files("stack_auditor.data").joinpath("lambda_runtimes.json").read_text()
    return {
        runtime: (
            date.fromisoformat(body["deprecated"]) if body.get("deprecated") else None,
            body.get("successor"),
        )
        for runtime, body in json.loads(text).items()
    }


def audit_date(snapshot: StackSnapshot) -> date:
    if snapshot.last_updated:
        try:
            moment = datetime.fromisoformat(snapshot.last_updated.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date()
    return datetime.now(UTC).date()


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    today = audit_date(snapshot)
    for function in snapshot.of_type("AWS::Lambda::Function"):
        yield _judge(function, today)


def _judge(function: Resource, today: date) -> Verdict:
    where = f"{function.logical_id} (AWS::Lambda::Function) {_PATH}"
    template_runtime = function.prop("Runtime")
    runtime = template_runtime
    source = "resolved"
    drift = ""
    differs: dict[str, Any] = {}  # evidence of drift: the template's value
    if function.live is not None and "Runtime" in function.live:
        runtime, source = function.live["Runtime"], "live"
        if isinstance(template_runtime, str) and template_runtime != runtime:
            differs = {"template": template_runtime}
            drift = (
                f" (deployed; the template says {template_runtime}: changed outside "
                "CloudFormation, drift)"
            )
    if isinstance(runtime, Unresolved):
        return META.unknown(function, f"{where} cannot be resolved ({runtime}).", path=_PATH)
    if runtime is None:
        package = function.prop("PackageType")
        if package == "Image" or (function.live or {}).get("PackageType") == "Image":
            return META.not_applicable(function, "container image: no managed runtime")
        return META.unknown(function, f"{where} is not set.", path=_PATH)
    schedule = runtime_schedule()
    if not isinstance(runtime, str) or runtime not in schedule:
        return META.unknown(
            function,
            f"{where} is {runtime!r}{drift}, which is not in AWS's runtime schedule "
            "(data/lambda_runtimes.json); cannot tell whether it is deprecated.",
            path=_PATH,
            evidence={"source": source, "runtime": str(runtime), **differs},
        )
    deprecated, successor = schedule[runtime]
    evidence = {
        "source": source,
        "runtime": runtime,
        "deprecated": deprecated.isoformat() if deprecated else None,
        "successor": successor,
        "audit_date": today.isoformat(),
        **differs,
    }
    if deprecated is None or (deprecated - today).days > WARNING_DAYS:
        return META.passed(function, path=_PATH, evidence=evidence)
    upgrade = f"; upgrade to {successor}" if successor else ""
    days = (deprecated - today).days
    when = (
        f"was deprecated on {deprecated.isoformat()}"
        if days <= 0
        else f"is deprecated on {deprecated.isoformat()}, in {days} days"
    )
    return META.failed(
        function,
        f"{where} is {runtime}{drift}, which {when}: no more security patches, and AWS then "
        f"blocks creating and updating functions on it{upgrade}.",
        path=_PATH,
        evidence=evidence,
    )


RULE = Rule(META, check)

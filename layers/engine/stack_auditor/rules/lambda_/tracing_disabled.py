"""lambda-tracing-disabled: a function does not send traces to X-Ray (TracingConfig not Active).

Without active tracing a request crossing API Gateway, the function and its downstream calls
cannot be followed, and latency or errors cannot be placed. ``PassThrough`` (the default when
TracingConfig is absent) only traces requests an upstream service already sampled, so it
fails too. SAM's ``Tracing: Active`` (also from ``Globals``) expands into
``TracingConfig: {Mode: Active}``, so the processed function is what is judged. Live side:
``GetFunctionConfiguration``'s ``TracingConfig.Mode`` wins, and a difference from the
template is reported as drift (an unset template Mode means PassThrough).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._observed import NOT_READ

META = RuleMeta(
    id="lambda-tracing-disabled",
    title="Functions have X-Ray active tracing",
    severity=Severity.LOW,
    family="Observability",
    subject_types=("AWS::Lambda::Function",),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "Requests through the function cannot be traced end to end, so slow or failing "
        "downstream calls cannot be located."
    ),
    remediation=(
        "Set TracingConfig: {Mode: Active} on the function (SAM: Tracing: Active, or in "
        "Globals.Function), and grant xray:PutTraceSegments and xray:PutTelemetryRecords."
    ),
    seeds=("003 #3",),
    reference="https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html",
)

_PATH = "Properties.TracingConfig.Mode"
_DEFAULT = "PassThrough"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for function in snapshot.of_type("AWS::Lambda::Function"):
        yield _judge(function)


def _judge(function: Resource) -> Verdict:
    where = f"{function.logical_id} (AWS::Lambda::Function) {_PATH}"
    template_mode = function.prop("TracingConfig", "Mode")
    live_mode = _live_mode(function)
    mode = template_mode if live_mode is NOT_READ else live_mode
    source = "resolved" if live_mode is NOT_READ else "live"
    evidence: dict[str, Any] = {"source": source, "mode": _shown(mode)}
    drift = ""
    # an unset template Mode is PassThrough; an unresolved one is not a disagreement
    comparable = source == "live" and not isinstance(template_mode, Unresolved)
    if comparable and (template_mode or _DEFAULT) != live_mode:
        evidence["template_mode"] = template_mode
        says = repr(template_mode) if template_mode else "nothing (PassThrough)"
        drift = f" (deployed; the template says {says}: changed outside CloudFormation, drift)"
    if isinstance(mode, Unresolved):
        return META.unknown(
            function, f"{where} cannot be resolved ({mode}).", path=_PATH, evidence=evidence
        )
    if mode == "Active":
        return META.passed(function, path=_PATH, evidence=evidence)
    shown = "not set (PassThrough)" if mode is None else repr(mode)
    return META.failed(
        function,
        f"{where} is {shown}{drift}, not 'Active': the function's invocations and its "
        "downstream calls are not traced in X-Ray.",
        path=_PATH,
        evidence=evidence,
    )


def _live_mode(function: Resource) -> Any:
    """The deployed mode (PassThrough when the API reports none); NOT_READ when not read."""
    if function.live is None or "TracingConfig" not in function.live:
        return NOT_READ
    tracing = function.live["TracingConfig"]
    mode = tracing.get("Mode") if isinstance(tracing, Mapping) else None
    return mode or _DEFAULT


def _shown(value: Any) -> Any:
    return str(value) if isinstance(value, Unresolved) else value


RULE = Rule(META, check)

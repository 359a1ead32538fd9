"""lambda-tracing-disabled: a function does not send traces to X-Ray (TracingConfig not Active).

Without active tracing a request crossing API Gateway, the function and its downstream calls
cannot be followed, and latency or errors cannot be placed. ``PassThrough`` (the default when
TracingConfig is absent) only traces requests an upstream service already sampled, so it
fails too. SAM's ``Tracing: Active`` (also from ``Globals``) expands into
``TracingConfig: {Mode: Active}``, so the processed function is what is judged. Live side:
``GetFunctionConfiguration``'s ``TracingConfig.Mode`` wins, and a difference from the
template is reported as drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta

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


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for function in snapshot.of_type("AWS::Lambda::Function"):
        where = f"{function.logical_id} (AWS::Lambda::Function) {_PATH}"
        template_mode = function.prop("TracingConfig", "Mode")
        live_mode = _live_mode(function.live)
        mode = live_mode if live_mode is not None else template_mode
        source = "live" if live_mode is not None else "resolved"
        evidence: dict[str, Any] = {"source": source, "mode": _shown(mode)}
        drift = ""
        if live_mode is not None and template_mode not in (None, live_mode):
            evidence["template_mode"] = _shown(template_mode)
            drift = f" (drift: the template says {template_mode!r})"
        if isinstance(mode, Unresolved):
            yield META.unknown(
                function, f"{where} cannot be resolved ({mode}).", path=_PATH, evidence=evidence
            )
        elif mode == "Active":
            yield META.passed(function, path=_PATH, evidence=evidence)
        else:
            shown = "not set (PassThrough)" if mode is None else repr(mode)
            yield META.failed(
                function,
                f"{where} is {shown}{drift}, not 'Active': the function's invocations and its "
                "downstream calls are not traced in X-Ray.",
                path=_PATH,
                evidence=evidence,
            )


def _live_mode(live: Any) -> Any:
    if live is None:
        return None
    tracing = live.get("TracingConfig")
    return tracing.get("Mode") if hasattr(tracing, "get") else None


def _shown(value: Any) -> Any:
    return str(value) if isinstance(value, Unresolved) else value


RULE = Rule(META, check)

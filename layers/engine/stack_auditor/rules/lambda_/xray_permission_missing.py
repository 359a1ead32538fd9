"""lambda-xray-permission-missing: active tracing without permission to send traces."""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules.lambda_._permissions import judge_needs, setting

META = RuleMeta(
    id="lambda-xray-permission-missing",
    title="Functions with active tracing may send traces to X-Ray",
    severity=Severity.HIGH,
    family="IAM",
    subject_types=("AWS::Lambda::Function",),
    sides=frozenset({Side.CROSS}),
    risk="Traces are silently dropped: tracing looks enabled but X-Ray shows nothing.",
    remediation=(
        "Grant xray:PutTraceSegments and xray:PutTelemetryRecords on '*' to the execution "
        "role (e.g. attach AWSXRayDaemonWriteAccess, or SAM's Tracing: Active)."
    ),
    seeds=("003 #3",),
    reference="https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html",
)

_PATH = "Properties.TracingConfig.Mode"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for function in snapshot.of_type("AWS::Lambda::Function"):
        mode = setting(function, "TracingConfig", "Mode")
        if isinstance(mode, Unresolved):
            yield META.unknown(
                function,
                f"{function.logical_id} {_PATH} cannot be resolved ({mode}).",
                path=_PATH,
            )
        elif mode != "Active":
            yield META.not_applicable(function, "tracing is not active")
        else:
            needs = (("xray:PutTraceSegments", ("*",)), ("xray:PutTelemetryRecords", ("*",)))
            yield judge_needs(
                META,
                snapshot,
                function,
                needs,
                need_all=False,
                path=_PATH,
                purpose="sending trace segments (TracingConfig Mode Active)",
            )


RULE = Rule(META, check)

"""apigw-stage-no-throttling: an API Gateway stage sets no throttling of its own.

Without stage throttling every method shares the account-wide Regional quota (10,000 rps,
5,000 burst): one noisy client or a retry storm exhausts it for every API in the account, and
the backend sees whatever rate arrives. REST stages throttle with ``MethodSettings`` entries
carrying ``ThrottlingBurstLimit``/``ThrottlingRateLimit`` (``HttpMethod: "*"``,
``ResourcePath: "/*"`` for the whole stage, or any one method); a deployment's stage also with
those keys on ``StageDescription``. HTTP and WebSocket stages throttle with
``DefaultRouteSettings`` or ``RouteSettings``. Any one throttled method or route passes: the
author chose where to limit. Usage plan throttles are per API key, not per stage, and do not
count. Live side: ``GetStage``'s method/route settings are judged (a limit of -1 is unset);
throttling the template sets but the deployed stage lacks is reported as drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules.apigateway._stages import STAGE_TYPES, Stage, stages

META = RuleMeta(
    id="apigw-stage-no-throttling",
    title="API Gateway stages set throttling limits",
    severity=Severity.MEDIUM,
    family="Observability",
    subject_types=STAGE_TYPES,
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "The stage only has the account-wide quota: a burst or a retry storm on this API can "
        "overload its backend and starve every other API of the account."
    ),
    remediation=(
        "REST: MethodSettings: [{HttpMethod: '*', ResourcePath: '/*', ThrottlingBurstLimit: "
        "500, ThrottlingRateLimit: 1000}] on the stage (SAM Api: MethodSettings). HTTP/"
        "WebSocket: DefaultRouteSettings: {ThrottlingBurstLimit: 500, ThrottlingRateLimit: "
        "1000} (SAM HttpApi: DefaultRouteSettings)."
    ),
    seeds=("003 #7",),
    reference="https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html",
)

_LIMITS = ("ThrottlingBurstLimit", "ThrottlingRateLimit")


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for stage in stages(snapshot):
        yield _judge(stage)


def _judge(stage: Stage) -> Verdict:
    settings_key = "MethodSettings" if stage.rest else "DefaultRouteSettings"
    path = f"{stage.base}.{settings_key}"
    at, limits, unresolved = _throttling(stage)
    if at is not None:
        evidence: dict[str, Any] = {"source": stage.source, "at": at, **limits}
        return META.passed(stage.resource, path=path, evidence=evidence)
    if unresolved:
        return META.unknown(
            stage.resource,
            f"{stage.where}: the throttling limits at {', '.join(unresolved)} cannot be resolved.",
            path=path,
            evidence={"source": stage.source},
        )
    evidence = {"source": stage.source}
    if stage.source == "live":
        problem = (
            f"{stage.where}: no method or route settings of the deployed stage (GetStage) set "
            "a throttling burst or rate limit, so the stage has only the account-wide "
            "throttling quota."
        )
        written_at, written_limits, _ = _throttling(stage.written)
        if written_at is not None:
            evidence["template"] = {"at": written_at, **written_limits}
            problem += (
                f" The template sets them at {written_at}: the stage was changed outside "
                "CloudFormation (drift)."
            )
        return META.failed(stage.resource, problem, path=path, evidence=evidence)
    where_set = (
        "no MethodSettings entry sets ThrottlingBurstLimit or ThrottlingRateLimit"
        if stage.rest
        else "neither DefaultRouteSettings nor RouteSettings sets ThrottlingBurstLimit or "
        "ThrottlingRateLimit"
    )
    return META.failed(
        stage.resource,
        f"{stage.where}: {where_set} ({path}), so the stage has only the account-wide "
        "throttling quota.",
        path=path,
        evidence=evidence,
    )


def _throttling(stage: Stage) -> tuple[str | None, dict[str, Any], list[str]]:
    """(path of the first throttled block, its limits, paths whose limits are unresolved)."""
    unresolved: list[str] = []
    for block_path, block in stage.route_settings():
        limits = {k: block[k] for k in _LIMITS if _is_set(block.get(k))}
        if any(isinstance(v, Unresolved) for v in limits.values()):
            unresolved.append(block_path)
        elif limits:
            return block_path, limits, unresolved
    return None, {}, unresolved


def _is_set(limit: Any) -> bool:
    # GetStage reports an unset REST method limit as -1 ("throttling disabled")
    return limit is not None and not (isinstance(limit, int | float) and limit < 0)


RULE = Rule(META, check)

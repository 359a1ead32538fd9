"""The API Gateway stages a stack creates, with their settings in one shape for the stage rules.

A stage comes from an ``AWS::ApiGateway::Stage``, an ``AWS::ApiGatewayV2::Stage``, or an
``AWS::ApiGateway::Deployment`` that names a ``StageName`` (its ``StageDescription`` holds that
stage's settings). SAM's generated deployments set ``StageName: Stage`` only as an artefact of
the translator (SAM declares the real stage as an ``AWS::ApiGateway::Stage``), so a
SAM-generated deployment without ``StageDescription`` is not treated as a stage.

Settings are read from live state when collected (``GetStage``: REST uses camelCase keys and a
``methodSettings`` map keyed ``resource/method``; HTTP/WebSocket use the template's keys), else
from the resolved template; ``Stage.written`` is always the template's view, for drift.
``base`` stays the template's property path either way, so a finding keeps its path (and id)
whether live state was read or not.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stack_auditor.model import EMPTY, Resource, StackSnapshot, Unresolved

REST_STAGE = "AWS::ApiGateway::Stage"
V2_STAGE = "AWS::ApiGatewayV2::Stage"
DEPLOYMENT = "AWS::ApiGateway::Deployment"
STAGE_TYPES = (REST_STAGE, V2_STAGE, DEPLOYMENT)

# the key GetStage always returns, which marks live as a stage description (a stage's live
# description may hold only its Tags when GetStage was not read)
_DESCRIBED_BY = {True: "stageName", False: "StageName"}
_LOGGING_LEVELS = ("INFO", "ERROR")


@dataclass(frozen=True, slots=True)
class Stage:
    resource: Resource
    rest: bool  # REST API (v1); False for HTTP and WebSocket APIs (v2)
    base: str  # property path of the settings: "Properties" or "Properties.StageDescription"
    settings: Mapping[str, Any]  # the stage's settings as the template (or live) gives them
    source: str  # "resolved" or "live"
    template_settings: Mapping[str, Any] = EMPTY  # the resolved template's, when live is read

    @property
    def where(self) -> str:
        res = self.resource
        if res.type == DEPLOYMENT and isinstance(res.prop("StageName"), str):
            return f"{res.logical_id} ({res.type}, the stage {res.prop('StageName')!r} it creates)"
        return f"{res.logical_id} ({res.type})"

    @property
    def written(self) -> Stage:
        """The stage as the resolved template gives it (itself when live was not read)."""
        if self.source != "live":
            return self
        return Stage(self.resource, self.rest, self.base, self.template_settings, "resolved")

    def route_settings(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """(path, settings) of every method (REST) or route (v2) settings block."""
        if self.rest:
            if self.source == "live":
                methods = self.settings.get("methodSettings") or EMPTY
                for key, block in methods.items():
                    yield f"methodSettings.{key}", _camel_to_pascal(block)
                return
            if self.base.endswith("StageDescription"):
                yield self.base, self.settings  # a deployment's stage-wide settings
            methods = self.settings.get("MethodSettings")  # a list, unless the template is wrong
            for index, block in enumerate(methods if isinstance(methods, tuple | list) else ()):
                if isinstance(block, Mapping):
                    yield f"{self.base}.MethodSettings[{index}]", block
            return
        default = self.settings.get("DefaultRouteSettings")
        if isinstance(default, Mapping):
            yield f"{self.base}.DefaultRouteSettings", default
        routes = self.settings.get("RouteSettings")
        if isinstance(routes, Mapping):
            for key, block in routes.items():
                if isinstance(block, Mapping):
                    yield f"{self.base}.RouteSettings.{key}", block


def stage_of(res: Resource) -> Stage | None:
    """The stage ``res`` creates, or None when it creates none (a SAM deployment artefact)."""
    if res.type == V2_STAGE:
        return _stage(res, rest=False, base="Properties", settings=res.properties)
    if res.type == REST_STAGE:
        return _stage(res, rest=True, base="Properties", settings=res.properties)
    if res.type != DEPLOYMENT:
        return None
    described = res.prop("StageDescription")
    if isinstance(described, Mapping):
        return _stage(res, rest=True, base="Properties.StageDescription", settings=described)
    if res.prop("StageName") and res.source_logical_id is None:
        return _stage(res, rest=True, base="Properties.StageDescription", settings=EMPTY)
    return None


def stages(snapshot: StackSnapshot, *, rest_only: bool = False) -> Iterator[Stage]:
    for res in snapshot.of_type(*STAGE_TYPES):
        stage = stage_of(res)
        if stage is not None and (stage.rest or not rest_only):
            yield stage


def _stage(res: Resource, *, rest: bool, base: str, settings: Mapping[str, Any]) -> Stage:
    if res.live is not None and _DESCRIBED_BY[rest] in res.live:
        return Stage(res, rest, base, res.live, "live", settings)
    return Stage(res, rest, base, settings, "resolved")


def execution_logging(stage: Stage) -> str | Unresolved | None:
    """Path of the first settings block turning execution logging on, else None."""
    for path, block in stage.route_settings():
        level = block.get("LoggingLevel")
        trace = block.get("DataTraceEnabled")
        for value in (level, trace):
            if isinstance(value, Unresolved):
                return value
        if isinstance(level, str) and level.upper() in _LOGGING_LEVELS:
            return f"{path}.LoggingLevel"
        if trace is True or (isinstance(trace, str) and trace.lower() == "true"):
            return f"{path}.DataTraceEnabled"
    return None


def stack_account_role(snapshot: StackSnapshot) -> tuple[str, Any] | None:
    """(logical id, CloudWatchRoleArn) of the stack's API Gateway account setting, if any."""
    for account in snapshot.of_type("AWS::ApiGateway::Account"):
        role = account.prop("CloudWatchRoleArn")
        if role:
            return account.logical_id, role
    return None


def _camel_to_pascal(block: Any) -> Mapping[str, Any]:
    if not isinstance(block, Mapping):
        return EMPTY
    return {key[:1].upper() + key[1:]: value for key, value in block.items()}

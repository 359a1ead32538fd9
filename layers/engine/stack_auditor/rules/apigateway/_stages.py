"""The API Gateway stages a stack creates, with their settings in one shape for the stage rules.

A stage comes from an ``AWS::ApiGateway::Stage``, an ``AWS::ApiGatewayV2::Stage``, or an
``AWS::ApiGateway::Deployment`` that names a ``StageName`` (its ``StageDescription`` holds that
stage's settings). SAM's generated deployments set ``StageName: Stage`` only as an artefact of
the translator (SAM declares the real stage as an ``AWS::ApiGateway::Stage``), so a
SAM-generated deployment without ``StageDescription`` is not treated as a stage.

Settings are read from live state when collected (``GetStage``: REST uses camelCase keys and a
``methodSettings`` map keyed ``resource/method``; HTTP/WebSocket use the template's keys), else
from the resolved template.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stack_auditor.model import EMPTY, Resource, StackSnapshot

REST_STAGE = "AWS::ApiGateway::Stage"
V2_STAGE = "AWS::ApiGatewayV2::Stage"
DEPLOYMENT = "AWS::ApiGateway::Deployment"
STAGE_TYPES = (REST_STAGE, V2_STAGE, DEPLOYMENT)


@dataclass(frozen=True, slots=True)
class Stage:
    resource: Resource
    rest: bool  # REST API (v1); False for HTTP and WebSocket APIs (v2)
    base: str  # property path of the settings: "Properties" or "Properties.StageDescription"
    settings: Mapping[str, Any]  # the stage's settings as the template (or live) gives them
    source: str  # "resolved" or "live"

    @property
    def where(self) -> str:
        res = self.resource
        if res.type == DEPLOYMENT and isinstance(res.prop("StageName"), str):
            return f"{res.logical_id} ({res.type}, the stage {res.prop('StageName')!r} it creates)"
        return f"{res.logical_id} ({res.type})"

    def route_settings(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """(path, settings) of every method (REST) or route (v2) settings block."""
        if self.rest:
            if self.source == "live":
                methods = self.settings.get("methodSettings") or EMPTY
                for key, block in methods.items():
                    yield f"{self.base}.methodSettings.{key}", _camel_to_pascal(block)
                return
            if self.base.endswith("StageDescription"):
                yield self.base, self.settings  # a deployment's stage-wide settings
            for index, block in enumerate(self.settings.get("MethodSettings") or ()):
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


def stages(snapshot: StackSnapshot, *, rest_only: bool = False) -> Iterator[Stage]:
    for res in snapshot.of_type(*STAGE_TYPES):
        if res.type == V2_STAGE:
            if not rest_only:
                yield _stage(res, rest=False, base="Properties", settings=res.properties)
        elif res.type == REST_STAGE:
            yield _stage(res, rest=True, base="Properties", settings=res.properties)
        else:
            described = res.prop("StageDescription")
            if isinstance(described, Mapping):
                yield _stage(res, rest=True, base="Properties.StageDescription", settings=described)
            elif res.prop("StageName") and res.source_logical_id is None:
                yield _stage(res, rest=True, base="Properties.StageDescription", settings=EMPTY)


def _stage(res: Resource, *, rest: bool, base: str, settings: Mapping[str, Any]) -> Stage:
    if res.live is not None:
        return Stage(res, rest, "live", res.live, "live")
    return Stage(res, rest, base, settings, "resolved")


def _camel_to_pascal(block: Any) -> Mapping[str, Any]:
    if not isinstance(block, Mapping):
        return EMPTY
    return {key[:1].upper() + key[1:]: value for key, value in block.items()}

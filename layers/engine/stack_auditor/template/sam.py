"""Expand a template's transforms locally: SAM through aws-sam-translator, no AWS call.

The translator gets the AWS managed policy map from our bundled data (so it never calls
IAM), a botocore session pinned to the stack's region (no credentials needed: nothing is
called), and the stack's parameter values. Before translating we apply the fixes
``sam build``/``sam package`` would have made: local ``CodeUri``/``ContentUri``/
``DefinitionUri`` paths become placeholder S3 locations (the translator only accepts S3).
Anything that fails becomes a ``Gap``; this module never raises for a template's content.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

from stack_auditor.model import Gap

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"
_PLACEHOLDER_S3 = "s3://stack-auditor-local/placeholder"
_PLACEHOLDER_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/stack-auditor-placeholder:latest"
_URI_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::Api": "DefinitionUri",
    "AWS::Serverless::HttpApi": "DefinitionUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
    "AWS::Serverless::GraphQLApi": "SchemaUri",
}


def transform_names(template: Mapping[str, Any]) -> tuple[str, ...]:
    declared = template.get("Transform")
    if declared is None:
        return ()
    items = declared if isinstance(declared, list) else [declared]
    names: list[str] = []
    for item in items:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, Mapping) and isinstance(item.get("Name"), str):
            names.append(item["Name"])
    return tuple(names)


def _is_local_uri(value: Any) -> bool:
    if isinstance(value, str):
        return not value.startswith("s3://")
    # {"Ref": param} holding a local path is what cfn-lint also replaces; S3 dicts stay
    return isinstance(value, Mapping) and set(value) == {"Ref"}


def _fix_local_uris(template: dict[str, Any]) -> None:
    resources = template.get("Resources")
    if isinstance(resources, dict):
        for body in resources.values():
            if not isinstance(body, dict):
                continue
            prop = _URI_PROPERTIES.get(str(body.get("Type")))
            props = body.get("Properties")
            if prop is None or not isinstance(props, dict):
                continue
            if prop == "CodeUri" and props.get("PackageType") == "Image":
                # `sam build` fills ImageUri from the Dockerfile in Metadata
                props.setdefault("ImageUri", _PLACEHOLDER_IMAGE)
                continue
            if prop == "CodeUri" and ("InlineCode" in props or "ImageUri" in props):
                continue
            # a function or layer must have code; an API or state machine may be inline
            missing = prop not in props and (
                prop == "ContentUri" or (prop == "CodeUri" and not _global_code(template))
            )
            if missing or (prop in props and _is_local_uri(props[prop])):
                props[prop] = _PLACEHOLDER_S3
    globals_ = template.get("Globals")
    function_globals = globals_.get("Function") if isinstance(globals_, dict) else None
    if isinstance(function_globals, dict) and _is_local_uri(function_globals.get("CodeUri")):
        function_globals["CodeUri"] = _PLACEHOLDER_S3


def _global_code(template: Mapping[str, Any]) -> bool:
    globals_ = template.get("Globals")
    function = globals_.get("Function") if isinstance(globals_, Mapping) else None
    return isinstance(function, Mapping) and "CodeUri" in function


def _error_detail(exc: BaseException) -> str:
    causes = getattr(exc, "causes", None)
    if causes:
        return "; ".join(" ".join(str(getattr(c, "message", c)).split()) for c in causes)
    return " ".join(str(getattr(exc, "message", exc)).split())


def expand_sam(
    template: Mapping[str, Any],
    *,
    parameters: Mapping[str, Any],
    account: str,
    region: str,
    stack_name: str,
    partition: str,
) -> tuple[dict[str, Any] | None, Gap | None]:
    """The translated template, or None and the gap that says why translation failed."""
    try:
        # imported here: samtranslator (and the boto3 it pulls in) costs ~0.3 s to import
        import boto3
        from samtranslator.parser.parser import Parser
        from samtranslator.translator.translator import Translator

        from stack_auditor.managed_policies import arn_map

        sam_template = copy.deepcopy(dict(template))
        _fix_local_uris(sam_template)
        values: dict[str, Any] = {
            k: (",".join(v) if isinstance(v, tuple) else v)
            for k, v in parameters.items()
            if isinstance(v, (str, tuple))
        }
        values.update(
            {
                "AWS::AccountId": account,
                "AWS::Region": region,
                "AWS::StackName": stack_name,
                "AWS::Partition": partition,
            }
        )
        # the translator warns about every feature flag it has no config for: noise for us
        logging.getLogger("samtranslator.feature_toggle.feature_toggle").setLevel(logging.ERROR)
        translator = Translator(
            managed_policy_map=arn_map(partition),
            sam_parser=Parser(),
            boto_session=boto3.session.Session(region_name=region),
        )
        try:
            processed = translator.translate(
                sam_template, parameter_values=values, passthrough_metadata=True
            )
        finally:
            # unpublished metrics make Metrics.__del__ log a warning per translation
            translator.metrics.publish()
    except Exception as exc:
        return None, Gap(
            scope="stack",
            what="Transform",
            reason="SAM translation failed",
            detail=_error_detail(exc),
        )
    return processed, None


def plain_resources_only(template: Mapping[str, Any]) -> dict[str, Any]:
    """The template without SAM resources and sections, for when translation failed."""
    result = {k: v for k, v in template.items() if k not in ("Transform", "Globals")}
    resources = template.get("Resources")
    if isinstance(resources, Mapping):
        result["Resources"] = {
            k: v
            for k, v in resources.items()
            if not (
                isinstance(v, Mapping) and str(v.get("Type", "")).startswith("AWS::Serverless::")
            )
        }
    return result


def _has_for_each(section: Any) -> bool:
    return isinstance(section, Mapping) and any(
        isinstance(k, str) and k.startswith("Fn::ForEach::") for k in section
    )


def expand_transforms(
    template: Mapping[str, Any],
    *,
    parameters: Mapping[str, Any],
    account: str,
    region: str,
    stack_name: str,
    partition: str,
) -> tuple[dict[str, Any], list[Gap]]:
    """The processed template and the gaps of what could not be expanded."""
    names = transform_names(template)
    gaps: list[Gap] = []
    processed: dict[str, Any] = dict(template)
    for name in names:
        if name == LANGUAGE_EXTENSIONS:
            # Fn::Length, Fn::ToJsonString and FindInMap defaults are resolved by the
            # resolver; Fn::ForEach would need a real expansion we do not do
            if any(_has_for_each(template.get(s)) for s in ("Resources", "Outputs", "Conditions")):
                gaps.append(
                    Gap("stack", "Transform", "unsupported transform", f"{name} (Fn::ForEach)")
                )
        elif name != SAM_TRANSFORM:
            gaps.append(Gap("stack", "Transform", "unsupported transform", name))
    if SAM_TRANSFORM in names:
        expanded, gap = expand_sam(
            template,
            parameters=parameters,
            account=account,
            region=region,
            stack_name=stack_name,
            partition=partition,
        )
        if expanded is None:
            processed = plain_resources_only(template)
            if gap:
                gaps.append(gap)
        else:
            processed = expanded
    return processed, gaps


def source_ids(original: Mapping[str, Any], processed: Mapping[str, Any]) -> dict[str, str]:
    """Generated logical id -> the SAM resource it came from.

    The translator records no origin on the resources it generates, but it names them after
    the SAM resource (``FnRole``, ``FnSqsEventPermission``...). Implicit APIs
    (``ServerlessRestApi`` and friends) are attributed to the first function with such an event.
    """
    orig_resources = original.get("Resources")
    proc_resources = processed.get("Resources")
    if not isinstance(orig_resources, Mapping) or not isinstance(proc_resources, Mapping):
        return {}
    sam_ids = sorted(
        (
            k
            for k, v in orig_resources.items()
            if isinstance(v, Mapping) and str(v.get("Type", "")).startswith("AWS::Serverless::")
        ),
        key=len,
        reverse=True,
    )
    if not sam_ids:
        return {}
    implicit = {"Api": None, "HttpApi": None}
    for sam_id, body in orig_resources.items():
        props = body.get("Properties") if isinstance(body, Mapping) else None
        events = props.get("Events") if isinstance(props, Mapping) else None
        if isinstance(events, Mapping):
            for event in events.values():
                kind = event.get("Type") if isinstance(event, Mapping) else None
                if kind in implicit and implicit[kind] is None:
                    implicit[kind] = sam_id
    result: dict[str, str] = {}
    for logical_id, body in proc_resources.items():
        before = orig_resources.get(logical_id)
        if (
            isinstance(before, Mapping)
            and isinstance(body, Mapping)
            and before.get("Type") == body.get("Type")
        ):
            continue  # plain CloudFormation, untouched
        if logical_id in sam_ids:
            result[logical_id] = logical_id  # the SAM resource's own main resource
            continue
        owner = next((s for s in sam_ids if logical_id.startswith(s)), None)
        if owner is None and logical_id.startswith("ServerlessRestApi"):
            owner = implicit["Api"]
        elif owner is None and logical_id.startswith("ServerlessHttpApi"):
            owner = implicit["HttpApi"]
        if owner is not None:
            result[logical_id] = owner
    return result

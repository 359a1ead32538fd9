"""Read a deployed stack through the CloudFormation API and build its snapshot.

DescribeStacks (parameters, tags, status), GetTemplate (Original, and Processed for
transformed templates) and ListStackResources (physical ids). The client is injected; this
module never creates one. A missing stack raises ``StackGone``; a template that cannot be read
raises ``CollectError``; anything else that fails (resource list denied or throttled, the
Processed stage missing) becomes a ``Gap`` and the snapshot is still built.
``confirm_deployed`` asks again once the live state was read: a stack deleted meanwhile
raises ``StackGone`` too, so what the reads saw of its vanishing resources is never stored.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from stack_auditor.model import Gap, StackRef, StackSnapshot
from stack_auditor.snapshot import build_snapshot, no_echo_names
from stack_auditor.template.loader import LoadedTemplate, TemplateError, load_template_text
from stack_auditor.template.sam import SAM_TRANSFORM, transform_names


class StackGone(Exception):
    """The stack does not exist (any more)."""


class CollectError(Exception):
    """The stack's template could not be read; ``str()`` is the reason."""


def _error(exc: Exception) -> tuple[str, str]:
    response = getattr(exc, "response", None)
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    return str(error.get("Code") or type(exc).__name__), str(error.get("Message") or exc)


def _describe(cfn_client: Any, ref: StackRef) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    name = ref.stack_id or ref.stack_name
    try:
        stacks = cfn_client.describe_stacks(StackName=name).get("Stacks") or []
    except ClientError as exc:
        code, message = _error(exc)
        if code == "ValidationError" and "does not exist" in message:
            raise StackGone(f"stack {name} does not exist") from None
        raise CollectError(f"DescribeStacks {name} failed: {code}: {message}") from None
    except BotoCoreError as exc:
        raise CollectError(f"DescribeStacks {name} failed: {exc}") from None
    if not stacks:
        raise StackGone(f"stack {name} does not exist")
    stack: dict[str, Any] = stacks[0]
    # described by stack id, a deleted stack is still returned, with this status
    if stack.get("StackStatus") in _DELETING:
        raise StackGone(f"stack {name} was deleted ({stack.get('StackStatus')})")
    return stack


_DELETING = frozenset({"DELETE_IN_PROGRESS", "DELETE_COMPLETE"})


def confirm_deployed(cfn_client: Any, ref: StackRef) -> None:
    """Raise ``StackGone`` when the stack is being or was deleted (``CollectError`` when that
    cannot be told), after its live state was read.

    Reads made while the stack is deleted see its resources vanish one by one (or, with a
    Retain policy, outlive it): a snapshot of nothing the deployment still is. Asking once
    after every read closes the window: a deletion that started before or during the reads
    shows here, one that starts later came after reads that were still valid. The stack's
    delete event resolves its findings.
    """
    _describe(cfn_client, ref)


def _parse_body(body: Any, stage: str) -> LoadedTemplate:
    # botocore decodes JSON template bodies into dicts; YAML ones stay text
    if isinstance(body, dict):
        text = json.dumps(body)
    elif isinstance(body, str):
        text = body
    else:
        raise TemplateError(f"{stage} template body is empty")
    return load_template_text(text, f"{stage} template")


def _get_template(cfn_client: Any, stack_id: str, stage: str) -> Any:
    response = cfn_client.get_template(StackName=stack_id, TemplateStage=stage)
    return response.get("TemplateBody")


def _original(cfn_client: Any, stack_id: str) -> LoadedTemplate:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        body = _get_template(cfn_client, stack_id, "Original")
    except ClientError as exc:
        code, message = _error(exc)
        raise CollectError(f"GetTemplate failed: {code}: {message}") from None
    except BotoCoreError as exc:
        raise CollectError(f"GetTemplate failed: {exc}") from None
    try:
        return _parse_body(body, "Original")
    except TemplateError as exc:
        raise CollectError(str(exc)) from None


def _processed(
    cfn_client: Any, stack_id: str, original: LoadedTemplate
) -> tuple[dict[str, Any] | None, list[Gap]]:
    """The Processed stage, or None (expand locally) with the gap that says why."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not transform_names(original.data):
        return original.data, []  # nothing to expand: Processed equals Original
    try:
        loaded = _parse_body(_get_template(cfn_client, stack_id, "Processed"), "Processed")
    except (ClientError, BotoCoreError, TemplateError) as exc:
        code, message = _error(exc)
        gap = Gap("stack", "cloudformation:GetTemplate", code, f"Processed stage: {message}")
        return None, [gap]
    if SAM_TRANSFORM in transform_names(loaded.data):
        # not expanded after all (moto returns the Original for every stage): expand locally
        return None, []
    return loaded.data, []


def _physical_ids(cfn_client: Any, stack_id: str) -> tuple[dict[str, str], list[Gap]]:
    from botocore.exceptions import BotoCoreError, ClientError

    ids: dict[str, str] = {}
    try:
        for page in cfn_client.get_paginator("list_stack_resources").paginate(StackName=stack_id):
            for summary in page.get("StackResourceSummaries", []):
                physical = summary.get("PhysicalResourceId")
                if summary.get("ResourceStatus") == "DELETE_COMPLETE" or not physical:
                    continue
                ids[summary["LogicalResourceId"]] = physical
    except (ClientError, BotoCoreError) as exc:
        code, message = _error(exc)
        return {}, [Gap("stack", "cloudformation:ListStackResources", code, message)]
    return ids, []


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if value else None


def snapshot_from_stack(cfn_client: Any, ref: StackRef) -> StackSnapshot:
    """Snapshot of a deployed stack; raises StackGone or CollectError, else records gaps."""
    stack = _describe(cfn_client, ref)
    stack_id = str(stack.get("StackId") or ref.stack_id or ref.stack_name)
    ref = replace(
        ref,
        stack_name=str(stack.get("StackName") or ref.stack_name),
        stack_id=stack_id,
        status=stack.get("StackStatus") or ref.status,
    )
    original = _original(cfn_client, stack_id)
    processed, gaps = _processed(cfn_client, stack_id, original)
    physical_ids, list_gaps = _physical_ids(cfn_client, stack_id)
    gaps.extend(list_gaps)

    parameters: dict[str, str] = {}
    resolved_ssm: set[str] = set()
    for item in stack.get("Parameters") or []:
        key = item.get("ParameterKey")
        if not key:
            continue
        if "ResolvedValue" in item:  # SSM-typed: the value actually used at deployment
            parameters[key] = str(item["ResolvedValue"])
            resolved_ssm.add(key)
        else:
            parameters[key] = str(item.get("ParameterValue", ""))
    tags = {t["Key"]: t.get("Value", "") for t in stack.get("Tags") or [] if "Key" in t}

    return build_snapshot(
        ref,
        original.data,
        processed,
        parameters=parameters,
        tags=tags,
        physical_ids=physical_ids,
        lines=original.lines,
        last_updated=_iso(stack.get("LastUpdatedTime") or stack.get("CreationTime")),
        no_echo=no_echo_names(original.data),
        gaps=gaps,
        live_read=False,
        resolved_ssm=frozenset(resolved_ssm),
        notification_arns=tuple(stack.get("NotificationARNs") or ()),
    )

"""required-tags-missing: a taggable resource lacks a configured required tag.

Taggable types and their tag property come from the CloudFormation resource schemas
(data/taggable_types.json, generated from cfn-lint's copy). Tags are read from the processed
template, so SAM ``Tags`` maps already sit on the generated function and role; both the list
(Key/Value) and the map form are read. Stack-level tags count, because CloudFormation
propagates them; a resource's own tag wins over a stack tag with the same key.

Live side: when ``resource.live`` holds ``Tags`` (a key -> value map, filled by the tagging
collector from ``tag:GetResources``, or ``iam:ListRoleTags`` for roles), the deployed tags are
judged and stack-level tags no longer stand in for them: CloudFormation propagates those onto
the resource, so one missing live is missing. A tag the template sets but the deployed resource
lacks (or carries with another value) is reported as drift. Types the tagging API does not
cover stay judged on the template (see ``collect/tagging.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

from stack_auditor.config import AuditConfig, RequiredTag
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta

META = RuleMeta(
    id="required-tags-missing",
    title="Taggable resources carry every required tag",
    severity=Severity.HIGH,
    family="Tagging",
    subject_types=("*",),
    sides=frozenset({Side.TEMPLATE, Side.LIVE}),
    risk=(
        "Untagged resources escape cost allocation, ownership and automation that selects "
        "resources by tag."
    ),
    remediation=(
        "Add the tag to the resource's Tags (or pass it as a stack-level tag so CloudFormation "
        "propagates it to every taggable resource)."
    ),
    seeds=("000 #2",),
    reference="https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-resource-tags.html",
    # tags come from the Resource Groups Tagging API, and from IAM for roles (which it omits)
    live_reads=("tag", "iam"),
)


@cache
def taggable_types() -> dict[str, tuple[tuple[str, ...], str]]:
    """Type -> (tag property path segments, "list" | "map")."""
    text = resources.files("stack_auditor.data").joinpath("taggable_types.json").read_text()
    return {kind: (tuple(path.split("/")), form) for kind, (path, form) in json.loads(text).items()}


def resource_tags(resource: Resource) -> dict[str, Any] | Unresolved:
    """Tags set on the resource (live when read), key -> value; Unresolved when unknowable."""
    live = live_tags(resource)
    return live if live is not None else template_tags(resource)


def live_tags(resource: Resource) -> dict[str, Any] | None:
    """The deployed resource's tags, key -> value; None when they were not read."""
    if resource.live is None or "Tags" not in resource.live:
        return None
    tags = resource.live["Tags"] or {}
    if isinstance(tags, Mapping):
        return dict(tags)
    # the API's list form ([{"Key": ..., "Value": ...}]), should a collector keep it
    return {t["Key"]: t.get("Value") for t in tags if isinstance(t, Mapping) and "Key" in t}


def template_tags(resource: Resource) -> dict[str, Any] | Unresolved:
    """Tags the resolved template sets on the resource, key -> value."""
    path, _form = taggable_types()[resource.type]
    tags: dict[str, Any] = {}
    for node in _tag_nodes(resource.properties, path):
        if isinstance(node, Unresolved):
            return node
        if isinstance(node, Mapping):
            tags.update(node)
        elif isinstance(node, tuple):
            for item in node:
                if isinstance(item, Unresolved):
                    return item
                if isinstance(item, Mapping) and isinstance(item.get("Key"), str):
                    tags[item["Key"]] = item.get("Value")
                elif isinstance(item, Mapping) and isinstance(item.get("Key"), Unresolved):
                    return item["Key"]
    return tags


def _tag_nodes(node: Any, path: tuple[str, ...]) -> Iterator[Any]:
    if not path:
        yield node
        return
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(node, tuple):
            for child in node:
                yield from _tag_nodes(child, rest)
        elif isinstance(node, Unresolved):
            yield node
    elif isinstance(node, Mapping) and head in node:
        yield from _tag_nodes(node[head], rest)
    elif isinstance(node, Unresolved):
        yield node


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    taggable = taggable_types()
    for resource in snapshot.resources.values():
        if resource.type not in taggable:
            continue
        yield from _judge(resource, snapshot, config.required_tags)


def _judge(
    resource: Resource, snapshot: StackSnapshot, required: tuple[RequiredTag, ...]
) -> Iterator[Verdict]:
    live = live_tags(resource)
    own = live if live is not None else template_tags(resource)
    written = template_tags(resource) if live is not None else own
    # deployed tags already include the propagated stack tags
    stack_tags: Mapping[str, Any] = snapshot.tags if live is None else {}
    path = "Properties." + ".".join(taggable_types()[resource.type][0]).replace(".*", "[*]")
    source = "live" if live is not None else "resolved"
    where = f"{resource.logical_id} ({resource.type})"
    judged_all = True
    for tag in required:
        tag_path = f"{path}.{tag.key}"
        if isinstance(own, Unresolved):
            if tag.key in stack_tags and not tag.allowed_values:
                continue  # the stack tag is there whatever the resource's own tags are
            judged_all = False
            yield META.unknown(
                resource,
                f"{where} {path} cannot be resolved ({own}); cannot tell whether it "
                f"carries the tag {tag.key!r}.",
                path=tag_path,
                evidence={"source": source},
            )
            continue
        value = own[tag.key] if tag.key in own else stack_tags.get(tag.key)
        origin = "resource" if tag.key in own else "stack"
        drift = _drift(tag.key, value if tag.key in own else None, written, live is not None)
        if value is None and tag.key not in own:
            judged_all = False
            yield META.failed(
                resource,
                f"{where} {_lacks(tag.key, path, live is not None, snapshot)}; tag-based cost "
                "allocation and ownership miss it." + drift,
                path=tag_path,
                evidence=_evidence(source, written, tag.key, drift, missing=tag.key),
            )
        elif tag.allowed_values and isinstance(value, Unresolved):
            judged_all = False
            yield META.unknown(
                resource,
                f"{where} tag {tag.key!r} has a value that cannot be resolved "
                f"({value}); cannot check it against {list(tag.allowed_values)}.",
                path=tag_path,
                evidence={"source": source},
            )
        elif tag.allowed_values and value not in tag.allowed_values:
            judged_all = False
            yield META.failed(
                resource,
                f"{where} tag {tag.key!r} is {value!r} (from the {origin}), not one "
                f"of the allowed values {list(tag.allowed_values)}." + drift,
                path=tag_path,
                evidence=_evidence(
                    source,
                    written,
                    tag.key,
                    drift,
                    key=tag.key,
                    value=value,
                    allowed=list(tag.allowed_values),
                ),
            )
    if judged_all:
        yield META.passed(resource, path=path, evidence={"source": source})


def _lacks(key: str, path: str, live: bool, snapshot: StackSnapshot) -> str:
    if not live:
        return f"lacks the required tag {key!r} (neither {path} nor the stack-level tags set it)"
    if key in snapshot.tags:
        return (
            f"lacks the required tag {key!r} on the deployed resource (tagging API), although "
            "the stack-level tags set it: it was not propagated or was removed"
        )
    return f"lacks the required tag {key!r} on the deployed resource (tagging API)"


def _drift(key: str, live_value: Any, written: Any, live: bool) -> str:
    """The drift note when the template sets the tag to something else than what is live."""
    if not live or not isinstance(written, Mapping) or key not in written:
        return ""
    template_value = written[key]
    if isinstance(template_value, Unresolved) or template_value == live_value:
        return ""
    state = "removed" if live_value is None else f"changed to {live_value!r}"
    return (
        f" The template sets it to {template_value!r}: it was {state} outside "
        "CloudFormation (drift)."
    )


def _evidence(source: str, written: Any, tag_key: str, drift: str, **found: Any) -> dict[str, Any]:
    evidence: dict[str, Any] = {"source": source, **found}
    if drift and isinstance(written, Mapping):
        evidence["template"] = written[tag_key]
    return evidence


RULE = Rule(META, check)

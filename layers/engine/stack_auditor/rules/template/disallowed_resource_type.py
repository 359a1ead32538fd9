"""disallowed-resource-type: the template declares a resource type on the configured deny list.

Patterns are fnmatch-style (``AWS::Config::*``), from ``denied_resource_types`` (default
``AWS::Config::*``). Judged: every resource as written, so a denied SAM type
(``AWS::Serverless::Function``) fires on the SAM resource, and a resource whose Condition is
false for these parameter values still fires (another deployment creates it); plus what the
processed template holds under another type (SAM's generated function, role, API...), since
that is what CloudFormation creates.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from functools import cache

from stack_auditor.config import AuditConfig
from stack_auditor.model import Outcome, Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._template_resources import written_resources, written_verdict

META = RuleMeta(
    id="disallowed-resource-type",
    title="The template declares no resource type the policy denies",
    severity=Severity.HIGH,
    family="Code and template quality",
    subject_types=("*",),
    sides=frozenset({Side.TEMPLATE}),
    risk=(
        "The policy denies these types for a reason (AWS Config: one recorder per account and "
        "region, managed centrally; a second one fails the deployment or fights the central "
        "setup)."
    ),
    remediation=(
        "Remove the resource (and everything that only exists to feed it) from the template, "
        "or change the policy's denied_resource_types if the type is now allowed."
    ),
    seeds=("001 #15",),
    reference="https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-template-resource-type-ref.html",
)


@cache
def _denied_pattern(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def _matching(patterns: tuple[str, ...], kind: str) -> str | None:
    return next((p for p in patterns if fnmatch.fnmatchcase(kind, p)), None)


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    patterns = config.denied_resource_types
    denied = _denied_pattern(patterns)
    written = snapshot.template.get("Resources")
    written_ids: set[str] = set()
    for logical_id, kind, _props in written_resources(snapshot):
        written_ids.add(logical_id)
        processed = snapshot.resources.get(logical_id)
        kinds = [kind] + ([processed.type] if processed and processed.type != kind else [])
        hit = next((k for k in kinds if denied and denied.match(k)), None)
        if hit is None:
            yield written_verdict(META, Outcome.PASS, logical_id, kind, META.title, path="Type")
            continue
        generated = f" (the processed template creates it as {hit})" if hit != kind else ""
        body = written.get(logical_id) if isinstance(written, Mapping) else None
        yield written_verdict(
            META,
            Outcome.FAIL,
            logical_id,
            kind,
            f"{logical_id} is of type {kind}{generated}, denied by the policy pattern "
            f"{_matching(patterns, hit)!r}{_inactive_note(snapshot, body)}.",
            path="Type",
            evidence={"source": "template", "type": hit, "pattern": _matching(patterns, hit)},
        )
    for resource in snapshot.resources.values():
        if resource.logical_id in written_ids:
            continue
        if denied and denied.match(resource.type):
            origin = resource.source_logical_id or "a transform"
            yield META.failed(
                resource,
                f"{resource.logical_id} (generated from {origin}) is of type {resource.type}, "
                f"denied by the policy pattern {_matching(patterns, resource.type)!r}.",
                path="Type",
                evidence={"source": "template", "type": resource.type},
            )
        else:
            yield META.passed(resource, path="Type")


def _inactive_note(snapshot: StackSnapshot, body: object) -> str:
    condition = body.get("Condition") if isinstance(body, Mapping) else None
    if isinstance(condition, str) and snapshot.conditions.get(condition) is False:
        return (
            f" (its Condition {condition} is false for these parameter values; other values "
            "create it)"
        )
    return ""


RULE = Rule(META, check)

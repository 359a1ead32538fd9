"""The stack's delivery graph: who invokes which function, what feeds it, where failures go.

Built once per snapshot (``per_snapshot``) from the processed template, so SAM event sources
appear as the resources SAM generates (subscriptions, rules, schedules, bucket notifications,
event source mappings, EventInvokeConfigs, permissions). A reference is traced to the stack's
resource by its resolved value (``snapshot.owner_of``), falling back to the ``Ref``/``GetAtt``
written in the processed template when the resolved value is only known at deployment (a
version number). Anything outside the stack maps to ``None``: rules decide whether that is
UNKNOWN or no verdict.

``live_value`` reads a setting from the service's description (``resource.live``) for
``_observed.observe``, which judges live when collected and reports drift.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from stack_auditor.model import Resource, StackSnapshot, Unresolved
from stack_auditor.rules._observed import NOT_READ, observe
from stack_auditor.rules._snapshot_cache import per_snapshot

FUNCTION = "AWS::Lambda::Function"
QUEUE = "AWS::SQS::Queue"
TOPIC = "AWS::SNS::Topic"

# Service principals that invoke Lambda asynchronously (a Lambda::Permission for one of them
# means something outside the template may well invoke the function that way).
_ASYNC_PRINCIPAL = re.compile(
    r"^(sns|events|s3|logs|iot|scheduler)(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$"
)


PERMISSION_KIND = "invoke permission for"  # Invoker.kind prefix of the corroborating signal


class Invoker(NamedTuple):
    source: str  # logical id of the subscription, rule, bucket, permission, ...
    kind: str  # e.g. "SNS subscription", "EventBridge rule target"


class DeadLetterReferrer(NamedTuple):
    referrer: str  # logical id of the queue, function, rule, ... naming the target
    via: str  # property path in the referrer, e.g. "Properties.RedrivePolicy.deadLetterTargetArn"


class SourceMapping(NamedTuple):
    mapping: str  # AWS::Lambda::EventSourceMapping logical id
    source: str | None  # queue/stream/table logical id; None when outside the stack
    function: str | None  # function logical id; None when outside the stack or unresolved


class FailureDestination(NamedTuple):
    referrer: str  # the function itself, or its AWS::Lambda::EventInvokeConfig
    path: str  # property path in the referrer
    target: Any  # resolved ARN (str) or Unresolved
    source: str  # "live" or "resolved"
    drift_note: str = ""  # set when the live value differs from the template's


# --- resolving references ------------------------------------------------------------------


def _written_target(snapshot: StackSnapshot, raw: Any) -> Resource | None:
    """The stack resource a ``Ref``/``Fn::GetAtt`` as written points at."""
    if not isinstance(raw, Mapping) or len(raw) != 1:
        return None
    if "Ref" in raw:
        name: Any = raw["Ref"]
    elif "Fn::GetAtt" in raw:
        target = raw["Fn::GetAtt"]
        if isinstance(target, str):
            target = target.split(".", 1)
        name = target[0] if isinstance(target, (list, tuple)) and target else None
    else:
        return None
    return snapshot.resources.get(name) if isinstance(name, str) else None


def resource_for(
    snapshot: StackSnapshot, value: Any, raw: Any = None, types: tuple[str, ...] = ()
) -> Resource | None:
    """The stack resource (of ``types`` when given) a resolved reference names, else the one
    the written Ref names."""
    owner = snapshot.owner_of(value, *types)
    return owner if owner is not None else _written_target(snapshot, raw)


def _unqualified_function_name(value: str) -> str | None:
    """``name`` from a function ARN, partial ARN or ``name:qualifier``; None if not one."""
    if ":function:" in value:
        return value.split(":function:", 1)[1].split(":", 1)[0] or None
    if not value.startswith("arn:") and value.count(":") == 1:
        return value.split(":", 1)[0] or None
    return None


_FUNCTION_LIKE = (FUNCTION, "AWS::Lambda::Alias", "AWS::Lambda::Version")


def function_for_target(snapshot: StackSnapshot, value: Any, raw: Any = None) -> Resource | None:
    """The stack's AWS::Lambda::Function a target names: by name, ARN, alias or version.

    Alias and version resources are followed to their FunctionName; a qualified ARN with no
    alias resource in the stack (``...:function:name:live``) is stripped of its qualifier.
    ``raw`` (the value as written) is used when the resolved value is not known.
    """
    found = resource_for(snapshot, value, raw, _FUNCTION_LIKE)
    if found is None and isinstance(value, str):
        name = _unqualified_function_name(value)
        found = snapshot.owner_of(name, *_FUNCTION_LIKE) if name else None
    if found is not None and found.type in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
        found = resource_for(
            snapshot,
            found.prop("FunctionName"),
            found.raw_properties.get("FunctionName"),
            (FUNCTION,),
        )
        if found is None:
            return None
    return found if found is not None and found.type == FUNCTION else None


def _at(resource: Resource, *path: str | int) -> tuple[Any, Any]:
    """(resolved, as written) value at ``path`` of the resource's properties."""
    raw: Any = resource.raw_properties
    for key in path:
        if isinstance(raw, Mapping) and isinstance(key, str):
            raw = raw.get(key)
        elif isinstance(raw, tuple) and isinstance(key, int) and -len(raw) <= key < len(raw):
            raw = raw[key]
        else:
            raw = None
    return resource.prop(*path), raw


def _items(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else ()


def json_property(value: Any) -> Any:
    """A CloudFormation Json property (RedrivePolicy, ...): a mapping or its JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# --- asynchronous invokers -----------------------------------------------------------------


def _invocations(snapshot: StackSnapshot) -> Iterator[tuple[Resource | None, Invoker]]:
    for res in snapshot.resources.values():
        kind = res.type
        lid = res.logical_id
        if kind == "AWS::SNS::Subscription":
            if str(res.prop("Protocol", default="")).lower() == "lambda":
                yield (
                    function_for_target(snapshot, *_at(res, "Endpoint")),
                    Invoker(lid, "SNS subscription"),
                )
        elif kind == TOPIC:
            for i, sub in enumerate(_items(res.prop("Subscription"))):
                if isinstance(sub, Mapping) and str(sub.get("Protocol", "")).lower() == "lambda":
                    target = function_for_target(snapshot, *_at(res, "Subscription", i, "Endpoint"))
                    yield target, Invoker(lid, "SNS topic subscription")
        elif kind == "AWS::Events::Rule":
            for i, _target in enumerate(_items(res.prop("Targets"))):
                target = function_for_target(snapshot, *_at(res, "Targets", i, "Arn"))
                yield target, Invoker(lid, "EventBridge rule target")
        elif kind == "AWS::Scheduler::Schedule":
            target = function_for_target(snapshot, *_at(res, "Target", "Arn"))
            yield target, Invoker(lid, "EventBridge Scheduler target")
        elif kind == "AWS::S3::Bucket":
            configs = res.prop("NotificationConfiguration", "LambdaConfigurations")
            for i, _config in enumerate(_items(configs)):
                path = ("NotificationConfiguration", "LambdaConfigurations", i, "Function")
                target = function_for_target(snapshot, *_at(res, *path))
                yield target, Invoker(lid, "S3 bucket notification")
        elif kind == "AWS::Logs::SubscriptionFilter":
            target = function_for_target(snapshot, *_at(res, "DestinationArn"))
            yield target, Invoker(lid, "CloudWatch Logs subscription filter")
        elif kind == "AWS::IoT::TopicRule":
            yield from _iot_invocations(snapshot, res)
        elif kind == "AWS::Lambda::EventInvokeConfig":
            target = function_for_target(snapshot, *_at(res, "FunctionName"))
            yield target, Invoker(lid, "EventInvokeConfig")
        elif kind == "AWS::Lambda::Permission":
            principal = res.prop("Principal")
            if isinstance(principal, str) and _ASYNC_PRINCIPAL.match(principal):
                target = function_for_target(snapshot, *_at(res, "FunctionName"))
                yield target, Invoker(lid, f"{PERMISSION_KIND} {principal}")


def _iot_invocations(
    snapshot: StackSnapshot, rule: Resource
) -> Iterator[tuple[Resource | None, Invoker]]:
    payload = ("TopicRulePayload",)
    paths: list[tuple[str | int, ...]] = [
        (*payload, "Actions", i, "Lambda", "FunctionArn")
        for i, _action in enumerate(_items(rule.prop(*payload, "Actions")))
    ]
    paths.append((*payload, "ErrorAction", "Lambda", "FunctionArn"))
    for path in paths:
        resolved, raw = _at(rule, *path)
        if resolved is not None:
            target = function_for_target(snapshot, resolved, raw)
            yield target, Invoker(rule.logical_id, "IoT topic rule")


@per_snapshot
def async_invokers(snapshot: StackSnapshot) -> Mapping[str, tuple[Invoker, ...]]:
    """Function logical id -> what in the stack invokes it asynchronously (template order)."""
    found: dict[str, list[Invoker]] = defaultdict(list)
    for function, invoker in _invocations(snapshot):
        if function is not None and invoker not in found[function.logical_id]:
            found[function.logical_id].append(invoker)
    return {lid: tuple(invokers) for lid, invokers in found.items()}


# --- dead-letter targets and failure destinations ------------------------------------------


def _dead_letter_references(res: Resource) -> Iterator[tuple[str, Any, Any]]:
    """(path, resolved, as written) of every DLQ/on-failure reference in ``res``."""
    paths: list[tuple[str | int, ...]] = []
    kind = res.type
    if kind in (QUEUE, "AWS::SNS::Subscription"):
        # a Json property: a mapping, or JSON text (then nothing is written per key)
        policy = json_property(res.prop("RedrivePolicy"))
        if isinstance(policy, Mapping) and "deadLetterTargetArn" in policy:
            redrive: tuple[str | int, ...] = ("RedrivePolicy", "deadLetterTargetArn")
            yield _dotted(redrive), policy["deadLetterTargetArn"], _at(res, *redrive)[1]
    elif kind == FUNCTION:
        paths.append(("DeadLetterConfig", "TargetArn"))
    elif kind in ("AWS::Lambda::EventInvokeConfig", "AWS::Lambda::EventSourceMapping"):
        paths.append(("DestinationConfig", "OnFailure", "Destination"))
    elif kind == "AWS::Events::Rule":
        for i, _target in enumerate(_items(res.prop("Targets"))):
            paths.append(("Targets", i, "DeadLetterConfig", "Arn"))
    elif kind == "AWS::Scheduler::Schedule":
        paths.append(("Target", "DeadLetterConfig", "Arn"))
    for path in paths:
        yield (_dotted(path), *_at(res, *path))


def _dotted(path: tuple[str | int, ...]) -> str:
    text = "Properties"
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else f".{key}"
    return text


@per_snapshot
def dead_letter_targets(snapshot: StackSnapshot) -> Mapping[str, tuple[DeadLetterReferrer, ...]]:
    """Queue or topic logical id -> who sends failed messages/events to it, and through what."""
    found: dict[str, list[DeadLetterReferrer]] = defaultdict(list)
    for res in snapshot.resources.values():
        for via, resolved, raw in _dead_letter_references(res):
            if resolved is None:
                continue
            target = resource_for(snapshot, resolved, raw)
            if target is not None and target.type in (QUEUE, TOPIC):
                found[target.logical_id].append(DeadLetterReferrer(res.logical_id, via))
    return {lid: tuple(referrers) for lid, referrers in found.items()}


@per_snapshot
def event_source_mappings(snapshot: StackSnapshot) -> tuple[SourceMapping, ...]:
    """Every event source mapping of the stack: which queue/stream feeds which function."""
    mappings: list[SourceMapping] = []
    for mapping in snapshot.of_type("AWS::Lambda::EventSourceMapping"):
        source = resource_for(snapshot, *_at(mapping, "EventSourceArn"))
        function = function_for_target(snapshot, *_at(mapping, "FunctionName"))
        mappings.append(
            SourceMapping(
                mapping.logical_id,
                source.logical_id if source is not None else None,
                function.logical_id if function is not None else None,
            )
        )
    return tuple(mappings)


_ON_FAILURE = ("DestinationConfig", "OnFailure", "Destination")
_DLQ = ("DeadLetterConfig", "TargetArn")


@per_snapshot
def _invoke_config_destinations(
    snapshot: StackSnapshot,
) -> Mapping[str, tuple[FailureDestination, ...]]:
    """Function logical id -> OnFailure destinations of its EventInvokeConfigs (any qualifier)."""
    found: dict[str, list[FailureDestination]] = defaultdict(list)
    for config in snapshot.of_type("AWS::Lambda::EventInvokeConfig"):
        function = function_for_target(snapshot, *_at(config, "FunctionName"))
        destination = config.prop(*_ON_FAILURE)
        if function is not None and destination is not None:
            found[function.logical_id].append(
                FailureDestination(config.logical_id, _dotted(_ON_FAILURE), destination, "resolved")
            )
    return {lid: tuple(destinations) for lid, destinations in found.items()}


def function_failure_destination(
    snapshot: StackSnapshot, function: Resource
) -> tuple[FailureDestination, ...]:
    """Where the function's failed asynchronous events go: DeadLetterConfig, OnFailure.

    Every EventInvokeConfig for the function counts, whatever its Qualifier ($LATEST, an
    alias, a version). Both are read live when collected (``DeadLetterConfig`` and
    ``EventInvokeConfigs`` in ``function.live``): what is deployed counts, and a destination
    the template does not have is reported as drift.
    """
    own = observe(function.prop(*_DLQ), live_value(function, *_DLQ))
    found: list[FailureDestination] = []
    if own.value is not None:
        path = "Properties.DeadLetterConfig.TargetArn"
        found.append(
            FailureDestination(function.logical_id, path, own.value, own.source, own.drift_note())
        )
    written = _invoke_config_destinations(snapshot).get(function.logical_id, ())
    deployed = _live_on_failure(function)
    if deployed is NOT_READ:
        found.extend(written)
        return tuple(found)
    by_target = {d.target: d for d in written if isinstance(d.target, str)}
    for qualifier, target in deployed:
        match = by_target.get(target)
        if match is not None:
            found.append(match._replace(source="live"))
        else:
            found.append(
                FailureDestination(
                    function.logical_id,
                    f"EventInvokeConfig({qualifier}).DestinationConfig.OnFailure.Destination",
                    target,
                    "live",
                    " The template sets no such destination: it was added outside "
                    "CloudFormation (drift).",
                )
            )
    return tuple(found)


def failure_destinations_removed_live(
    snapshot: StackSnapshot, function: Resource
) -> tuple[FailureDestination, ...]:
    """The template's failure destinations for the function that the live read shows are not
    deployed (removed outside CloudFormation); empty when live state was not read."""
    removed: list[FailureDestination] = []
    written_dlq = function.prop(*_DLQ)
    if isinstance(written_dlq, str) and live_value(function, *_DLQ) is None:
        path = "Properties.DeadLetterConfig.TargetArn"
        removed.append(FailureDestination(function.logical_id, path, written_dlq, "resolved"))
    deployed = _live_on_failure(function)
    if deployed is not NOT_READ:
        targets = {target for _qualifier, target in deployed}
        removed.extend(
            d
            for d in _invoke_config_destinations(snapshot).get(function.logical_id, ())
            if isinstance(d.target, str) and d.target not in targets
        )
    return tuple(removed)


def _live_on_failure(function: Resource) -> Any:
    """(qualifier, OnFailure destination) of each deployed EventInvokeConfig that has one;
    NOT_READ when they were not read."""
    configs = live_value(function, "EventInvokeConfigs")
    if configs is NOT_READ or configs is None:
        return NOT_READ
    found = []
    for config in configs:
        node: Any = config
        for key in _ON_FAILURE:
            node = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, str) and node:
            arn = str(config.get("FunctionArn") or "")
            qualifier = arn.split(":function:", 1)[-1].partition(":")[2] or "unqualified"
            found.append((qualifier, node))
    return tuple(found)


# --- settings, live first ------------------------------------------------------------------


def live_value(resource: Resource, *path: str) -> Any:
    """The setting at ``path`` of ``resource.live`` (for a queue, of its Attributes).

    NOT_READ when live state was not collected; None when it was and the setting is unset.
    A function's description holds what several collectors read (its configuration, its
    tags, ...), so a top-level key that is absent was not read: NOT_READ. A queue's settings
    are all in its Attributes: without them (only its tags were read) nothing was.
    """
    live = resource.live
    if live is None or (resource.type == FUNCTION and path and path[0] not in live):
        return NOT_READ
    if resource.type == QUEUE and "Attributes" not in live:
        return NOT_READ
    node: Any = live["Attributes"] if resource.type == QUEUE else live
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def as_seconds(value: Any) -> Any:
    """An integer setting (seconds) from an int or its text (live SQS attributes are text).

    NOT_READ, None and Unresolved pass through; anything else that is not a number is None.
    """
    if value is NOT_READ or value is None or isinstance(value, Unresolved):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None

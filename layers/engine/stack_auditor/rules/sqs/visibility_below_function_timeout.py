"""sqs-visibility-below-function-timeout: a source queue hides messages for less than a run.

For each queue of the stack that feeds a function through an event source mapping (SAM's
``SQS`` event source expands into one), the queue's VisibilityTimeout (default 30 s) is
compared with the Timeout of every function it feeds (default 3 s; SAM Globals are already
applied in the processed template). Below the function Timeout fires: Lambda rejects such a
mapping, and a message still being processed reappears for another consumer. Between 1x and
the 6x AWS recommends (plus the batching window) passes, with the shortfall stated in the
message and evidence. A function outside the stack has an unknown Timeout: UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._graph import QUEUE, as_seconds, event_source_mappings, live_value
from stack_auditor.rules._observed import NOT_READ, Observed, observe

META = RuleMeta(
    id="sqs-visibility-below-function-timeout",
    title="Queues feeding a function hide messages for at least the function timeout",
    severity=Severity.HIGH,
    family="Reliability",
    subject_types=("AWS::SQS::Queue",),
    sides=frozenset({Side.CROSS}),
    risk=(
        "Lambda refuses to create the event source mapping (the deployment fails), or a "
        "message becomes visible again while the function is still processing it and is "
        "processed twice."
    ),
    remediation=(
        "Set the queue's VisibilityTimeout to at least six times the function's Timeout plus the "
        "mapping's MaximumBatchingWindowInSeconds (e.g. Timeout 30 -> `VisibilityTimeout: 180`)."
    ),
    seeds=("003 #2",),
    reference="https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html",
)

DEFAULT_VISIBILITY = 30  # SQS's default VisibilityTimeout
DEFAULT_FUNCTION_TIMEOUT = 3  # Lambda's default Timeout
RECOMMENDED_FACTOR = 6
_PATH = "Properties.VisibilityTimeout"


def _seconds(resource: Resource, prop: str) -> Observed:
    live = live_value(resource, prop)
    return observe(
        as_seconds(resource.prop(prop)), as_seconds(live) if live is not NOT_READ else NOT_READ
    )


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    feeds: dict[str, list[tuple[str, str | None]]] = {}
    for mapping in event_source_mappings(snapshot):
        if mapping.source is not None:
            feeds.setdefault(mapping.source, []).append((mapping.mapping, mapping.function))
    for queue in snapshot.of_type(QUEUE):
        fed = feeds.get(queue.logical_id)
        if not fed:
            yield META.not_applicable(queue, "does not feed a function of the stack")
            continue
        yield _judge(snapshot, queue, fed)


def _judge(snapshot: StackSnapshot, queue: Resource, fed: list[tuple[str, str | None]]) -> Verdict:
    where = f"{queue.logical_id} (AWS::SQS::Queue) {_PATH}"
    seen = _seconds(queue, "VisibilityTimeout")
    if isinstance(seen.value, Unresolved) or (
        seen.value is not None and not isinstance(seen.value, int)
    ):
        return META.unknown(
            queue,
            f"{where} cannot be resolved ({seen.value}).",
            path=_PATH,
            evidence=seen.evidence(),
        )
    visibility = DEFAULT_VISIBILITY if seen.value is None else seen.value
    judged: list[dict[str, Any]] = []
    unknown: list[str] = []
    for mapping_id, function_id in fed:
        function = snapshot.resources.get(function_id) if function_id else None
        if function is None:
            unknown.append(f"{mapping_id} feeds a function outside the stack")
            continue
        timeout = _seconds(function, "Timeout")
        if timeout.value is not None and not isinstance(timeout.value, int):
            unknown.append(f"{function_id} Timeout cannot be resolved ({timeout.value})")
            continue
        seconds = DEFAULT_FUNCTION_TIMEOUT if timeout.value is None else timeout.value
        window = as_seconds(snapshot.resources[mapping_id].prop("MaximumBatchingWindowInSeconds"))
        judged.append(
            {
                "mapping": mapping_id,
                "function": function_id,
                "timeout": seconds,
                "timeout_source": timeout.source,
                "recommended": RECOMMENDED_FACTOR * seconds
                + (window if isinstance(window, int) else 0),
            }
        )
    evidence = seen.evidence(visibility_timeout=visibility, functions=judged)
    shown = f"{visibility} s" + (" (the default)" if seen.value is None else "")
    too_long = [j for j in judged if j["timeout"] > visibility]
    if too_long:
        worst = max(too_long, key=lambda j: j["timeout"])
        return META.failed(
            queue,
            f"{where} is {shown}, below the Timeout {worst['timeout']} s of {worst['function']}, "
            f"which it feeds through {worst['mapping']}: Lambda rejects the event source mapping "
            f"(the deployment fails), and a message still being processed becomes visible again "
            f"and is processed twice. AWS recommends at least {RECOMMENDED_FACTOR}x the function "
            f"Timeout ({worst['recommended']} s).{seen.drift_note()}",
            path=_PATH,
            evidence=evidence,
        )
    if unknown:
        return META.unknown(
            queue,
            f"{where} is {shown}; cannot compare it with every function it feeds: "
            f"{'; '.join(unknown)}.",
            path=_PATH,
            evidence=evidence,
        )
    short = [j for j in judged if j["recommended"] > visibility]
    note = ""
    if short:
        worst = max(short, key=lambda j: j["recommended"])
        note = (
            f" It is below the {RECOMMENDED_FACTOR}x AWS recommends for {worst['function']} "
            f"({worst['recommended']} s), leaving no room for retries after throttling."
        )
        evidence["below_recommendation"] = True
    return META.passed(
        queue,
        f"{where} is {shown}, at least the Timeout of every function it feeds.{note}"
        f"{seen.drift_note()}",
        path=_PATH,
        evidence=evidence,
    )


RULE = Rule(META, check)

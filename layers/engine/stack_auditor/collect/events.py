"""EventBridge live state: each rule's targets (``ListTargetsByRule``, paginated).

Fills ``live["Targets"]`` with the API's target list (``Id``, ``Arn``, ``DeadLetterConfig``,
...), which eventbridge-target-no-dlq judges. CloudFormation's physical id of a rule is its
name on the default event bus and ``<bus>|<name>`` on a custom one; a bare name with a custom
``EventBusName`` property (as moto reports it) is read on that bus.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from stack_auditor.collect.live import Collector, LiveContext, Task, each
from stack_auditor.model import Resource

RULE = "AWS::Events::Rule"
ACTION = "events:ListTargetsByRule"


def rule_location(rule: Resource) -> tuple[Any, str]:
    """(event bus name or ARN, or None for the default bus; rule name) of a deployed rule."""
    physical = str(rule.physical_id)
    if "|" in physical:
        bus, name = physical.split("|", 1)
        return bus, name
    bus = rule.prop("EventBusName")
    return (None if bus in (None, "", "default") else bus), physical


def _plan(context: LiveContext, rules: Sequence[Resource]) -> Iterable[Task]:
    def read(rule: Resource) -> None:
        bus, name = rule_location(rule)
        if bus is not None and not isinstance(bus, str):
            context.gap(rule.logical_id, ACTION, "unresolved", f"EventBusName ({bus})")
            return
        params = {"Rule": name, **({"EventBusName": bus} if bus else {})}
        paginator = context.client("events").get_paginator("list_targets_by_rule")
        targets = [t for page in paginator.paginate(**params) for t in page.get("Targets") or ()]
        context.put(rule.logical_id, {"Targets": targets})

    return each(rules, ACTION, read)


COLLECTOR = Collector(
    service="events",
    types=(RULE,),
    actions=(ACTION,),
    plan=_plan,
    reads="Targets",
)

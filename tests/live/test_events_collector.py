"""EventBridge collector: each rule's targets read live (paginated, default and custom bus); a
dead-letter queue removed live is found and its fix resolves; failures are gaps -> UNKNOWN."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from built_stack import built_live_read
from faults import refuse
from live_world import ACCOUNT, REGION, client, deploy, live_snapshot, outcomes, verdicts
from moto import mock_aws
from stack_auditor.collect import events
from stack_auditor.collect.clients import CallCounter, Clients
from stack_auditor.model import Outcome

COLLECTORS = (events.COLLECTOR,)
RULE_ID = "eventbridge-target-no-dlq"
ORDERS = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"
DLQ = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-dlq"


def rule(name: str, **properties: Any) -> dict[str, Any]:
    target = {"Id": "orders", "Arn": ORDERS, "DeadLetterConfig": {"Arn": DLQ}}
    body = {"Name": name, "EventPattern": {"source": ["shop"]}, "Targets": [target]}
    return {"Type": "AWS::Events::Rule", "Properties": {**body, **properties}}


TEMPLATE = {
    "Resources": {
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "custom"}},
        "OnDefault": rule("on-default"),
        # a literal bus name: moto's CloudFormation cannot Ref an event bus
        "OnCustom": {**rule("on-custom", EventBusName="custom"), "DependsOn": "Bus"},
    }
}


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def test_reads_each_rules_targets_once_on_its_bus() -> None:
    deploy(TEMPLATE)
    read = live_snapshot(collectors=COLLECTORS)
    assert read.counter.calls == {"events:ListTargetsByRule": 2}
    assert read.gaps() == []
    for lid in ("OnDefault", "OnCustom"):
        live = read.live(lid)
        assert live is not None
        assert [(t["Id"], t["Arn"], t["DeadLetterConfig"]["Arn"]) for t in live["Targets"]] == [
            ("orders", ORDERS, DLQ)
        ]
    assert outcomes(read.snapshot, RULE_ID) == {
        (Outcome.PASS, "OnDefault"),
        (Outcome.PASS, "OnCustom"),
    }


def test_cloudformations_bus_and_name_physical_id_is_read_on_that_bus() -> None:
    # CloudFormation names a custom-bus rule "<bus>|<name>" (moto reports the bare name)
    bridge = client("events")
    bridge.create_event_bus(Name="custom")
    bridge.put_rule(Name="on-custom", EventBusName="custom", EventPattern="{}")
    bridge.put_targets(
        Rule="on-custom", EventBusName="custom", Targets=[{"Id": "orders", "Arn": ORDERS}]
    )
    template = {"Resources": {"OnCustom": rule("on-custom", EventBusName="custom")}}
    read = built_live_read(template, {"OnCustom": "custom|on-custom"}, collectors=COLLECTORS)
    assert read.counter.calls == {"events:ListTargetsByRule": 1}
    live = read.live("OnCustom")
    assert live is not None and [t["Id"] for t in live["Targets"]] == ["orders"]


def test_dead_letter_queue_removed_live_is_found_and_its_fix_resolves() -> None:
    deploy(TEMPLATE)
    # the same target put again without its DeadLetterConfig: a change outside CloudFormation
    client("events").put_targets(Rule="on-default", Targets=[{"Id": "orders", "Arn": ORDERS}])
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, RULE_ID) == {(Outcome.FAIL, "OnDefault"), (Outcome.PASS, "OnCustom")}
    [failed] = [v for v in verdicts(snapshot, RULE_ID) if v.outcome is Outcome.FAIL]
    assert failed.path == "Properties.Targets[0]"
    assert dict(failed.evidence) == {
        "source": "live",
        "target": ORDERS,
        "target_id": "orders",
        "template": {"dead_letter": DLQ},
    }
    assert "drift" in failed.message

    client("events").put_targets(
        Rule="on-default",
        Targets=[{"Id": "orders", "Arn": ORDERS, "DeadLetterConfig": {"Arn": DLQ}}],
    )
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    assert outcomes(snapshot, RULE_ID) == {(Outcome.PASS, "OnDefault"), (Outcome.PASS, "OnCustom")}


def test_target_added_live_is_judged_too() -> None:
    deploy(TEMPLATE)
    extra = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
    client("events").put_targets(Rule="on-default", Targets=[{"Id": "alerts", "Arn": extra}])
    snapshot = live_snapshot(collectors=COLLECTORS).snapshot
    assert {(v.outcome, v.logical_id, v.path) for v in verdicts(snapshot, RULE_ID)} == {
        (Outcome.PASS, "OnDefault", "Properties.Targets[0]"),
        (Outcome.FAIL, "OnDefault", "Properties.Targets[Id=alerts]"),
        (Outcome.PASS, "OnCustom", "Properties.Targets[0]"),
    }


def test_targets_are_read_across_pages() -> None:
    deploy(TEMPLATE)
    # 60 targets (AWS allows 5 per rule; moto does not limit) so moto pages them by 50
    targets = [
        {"Id": f"t{n}", "Arn": f"{ORDERS}-{n}", "DeadLetterConfig": {"Arn": DLQ}} for n in range(60)
    ]
    bridge = client("events")
    for start in range(0, 60, 10):
        bridge.put_targets(Rule="on-default", Targets=targets[start : start + 10])
    read = live_snapshot(collectors=COLLECTORS)
    assert read.counter.calls == {"events:ListTargetsByRule": 3}  # 2 pages + the other rule
    live = read.live("OnDefault")
    assert live is not None and len(live["Targets"]) == 61


def test_deleted_rule_is_a_gap_and_the_rule_answers_unknown() -> None:
    deploy(TEMPLATE)
    bridge = client("events")
    bridge.remove_targets(Rule="on-default", Ids=["orders"])
    bridge.delete_rule(Name="on-default")
    read = live_snapshot(collectors=COLLECTORS)
    [gap] = read.gaps("OnDefault")
    assert (gap.what, gap.reason) == ("events:ListTargetsByRule", "NotFound")
    # the template's dead-letter queue would pass: unseen live, it is UNKNOWN
    assert outcomes(read.snapshot, RULE_ID) == {
        (Outcome.UNKNOWN, "OnDefault"),
        (Outcome.PASS, "OnCustom"),
    }


def test_list_denied_is_a_gap_and_the_rule_answers_unknown() -> None:
    deploy(TEMPLATE)
    clients = Clients(region=REGION, counter=CallCounter())
    refuse(clients, "events", "ListTargetsByRule", "AccessDeniedException")
    read = live_snapshot(collectors=COLLECTORS, clients=clients)
    assert {(g.scope, g.what, g.reason) for g in read.gaps()} == {
        ("OnDefault", "events:ListTargetsByRule", "AccessDenied"),
        ("OnCustom", "events:ListTargetsByRule", "AccessDenied"),
    }
    assert outcomes(read.snapshot, RULE_ID) == {
        (Outcome.UNKNOWN, "OnDefault"),
        (Outcome.UNKNOWN, "OnCustom"),
    }

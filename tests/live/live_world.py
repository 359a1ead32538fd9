"""Deploy a template into moto and read it back the way an audit does (live collector tests).

Used inside ``mock_aws`` (in-process moto). ``deploy`` creates the stack through moto's
CloudFormation; ``live_snapshot`` builds the audit's snapshot and runs the given collectors
(all of them by default) with a call counter attached, so tests can assert on calls made.
Where moto's CloudFormation does not reproduce a property, tests change the resource through
the service API after ``deploy`` and say so in a comment.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from stack_auditor.collect.clients import CallCounter, Clients
from stack_auditor.collect.cloudformation import snapshot_from_stack
from stack_auditor.collect.live import Collector
from stack_auditor.collect.runner import collect_live
from stack_auditor.config import AuditConfig
from stack_auditor.evaluate import evaluate
from stack_auditor.model import Outcome, StackRef, StackSnapshot, Verdict
from stack_auditor.rule import Rule
from stack_auditor.rules import CATALOG

REGION = "us-east-1"
# a role Lambda can assume, no policies: what most test stacks' functions need
LAMBDA_ROLE: dict[str, Any] = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    },
}
ACCOUNT = "123456789012"  # moto's default account


def client(service: str) -> Any:
    return boto3.session.Session().client(service, region_name=REGION)  # type: ignore[call-overload]


def deploy(template: Mapping[str, Any], name: str = "live-test") -> str:
    """Create the stack in moto; returns its name."""
    client("cloudformation").create_stack(
        StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"]
    )
    return name


@dataclass
class LiveRead:
    snapshot: StackSnapshot
    counter: CallCounter

    def live(self, logical_id: str) -> Mapping[str, Any] | None:
        return self.snapshot.resources[logical_id].live

    def gaps(self, logical_id: str | None = None) -> list[Any]:
        return [g for g in self.snapshot.gaps if logical_id is None or g.scope == logical_id]


def live_snapshot(
    name: str = "live-test",
    *,
    collectors: Sequence[Collector] | None = None,
    rules: Iterable[Rule] = CATALOG,
    clients: Clients | None = None,
) -> LiveRead:
    counter = CallCounter()
    clients = clients or Clients(region=REGION, counter=counter)
    snapshot = snapshot_from_stack(
        client("cloudformation"), StackRef(name, account=ACCOUNT, region=REGION)
    )
    return LiveRead(
        collect_live(snapshot, clients, rules, collectors=collectors), clients.counter or counter
    )


def verdicts(
    snapshot: StackSnapshot, rule_id: str, config: AuditConfig | None = None
) -> list[Verdict]:
    rules = tuple(r for r in CATALOG if r.meta.id == rule_id)
    assert rules, rule_id
    return list(evaluate(snapshot, config or AuditConfig(), rules=rules))


def outcomes(
    snapshot: StackSnapshot, rule_id: str, config: AuditConfig | None = None
) -> set[tuple[Outcome, str | None]]:
    """The exact set of (outcome, logical id) a rule gives on the snapshot."""
    return {(v.outcome, v.logical_id) for v in verdicts(snapshot, rule_id, config)}

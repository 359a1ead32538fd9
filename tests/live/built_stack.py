"""Live reads of stacks whose resource types moto's CloudFormation does not create.

moto's CloudFormation skips ``AWS::ApiGateway::Stage``, ``AWS::ApiGatewayV2::*`` and
``AWS::RDS::DBCluster``, and reports no physical id for ``AWS::ApiGateway::Deployment``. Tests of
those types create the resources through the service APIs (real moto resources), then build the
audit's snapshot from the template with the physical ids CloudFormation would report (stage
name, deployment id, cluster identifier, ...) and run the collectors on it, like
``live_world.live_snapshot`` does for a deployed stack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from live_world import ACCOUNT, REGION, LiveRead
from stack_auditor.collect.clients import CallCounter, Clients
from stack_auditor.collect.live import Collector
from stack_auditor.collect.runner import collect_live
from stack_auditor.model import StackRef
from stack_auditor.rules import CATALOG
from stack_auditor.snapshot import build_snapshot


def built_live_read(
    template: Mapping[str, Any],
    physical_ids: Mapping[str, str],
    *,
    collectors: Sequence[Collector],
    clients: Clients | None = None,
    name: str = "built-stack",
) -> LiveRead:
    counter = CallCounter()
    clients = clients or Clients(region=REGION, counter=counter)
    ref = StackRef(name, account=ACCOUNT, region=REGION, trigger="audit")
    snapshot = build_snapshot(ref, template, physical_ids=physical_ids)
    read = collect_live(snapshot, clients, CATALOG, collectors=collectors)
    return LiveRead(read, clients.counter or counter)

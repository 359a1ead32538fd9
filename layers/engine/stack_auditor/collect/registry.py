"""The live-state collectors, one per service, as an explicit tuple (no import side effects).

``required_actions()`` is the IAM policy the audit function needs for live reads; a test
checks that template.yaml grants exactly these.
"""

from __future__ import annotations

from stack_auditor.collect import sqs
from stack_auditor.collect.live import Collector

COLLECTORS: tuple[Collector, ...] = (sqs.COLLECTOR,)


def required_actions(collectors: tuple[Collector, ...] = COLLECTORS) -> frozenset[str]:
    return frozenset(action for collector in collectors for action in collector.actions)

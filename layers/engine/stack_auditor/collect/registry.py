"""The live-state collectors, one per service, as an explicit tuple (no import side effects).

``required_actions()`` is the IAM policy the audit function needs for live reads;
``scripts/gen_permissions.py`` writes it into template.yaml and member/member-role.yaml, and
``tests/test_permissions.py`` checks both grant exactly these.
"""

from __future__ import annotations

from stack_auditor.collect import (
    apigateway,
    cloudwatch,
    dynamodb,
    events,
    iam,
    kms,
    lambda_,
    logs,
    rds,
    s3,
    sns,
    sqs,
    tagging,
)
from stack_auditor.collect.live import Collector

COLLECTORS: tuple[Collector, ...] = (
    lambda_.COLLECTOR,
    iam.COLLECTOR,
    dynamodb.COLLECTOR,
    sqs.COLLECTOR,
    sns.COLLECTOR,
    s3.COLLECTOR,
    logs.COLLECTOR,
    kms.COLLECTOR,
    cloudwatch.COLLECTOR,
    apigateway.COLLECTOR,
    rds.COLLECTOR,
    events.COLLECTOR,
    tagging.COLLECTOR,
)


def required_actions(collectors: tuple[Collector, ...] = COLLECTORS) -> frozenset[str]:
    return frozenset(action for collector in collectors for action in collector.actions)

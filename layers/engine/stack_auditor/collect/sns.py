"""SNS live state: each topic's attributes (``GetTopicAttributes``).

Fills ``live["Attributes"]`` with the API's text values (``KmsMasterKeyId``, ``Policy``, ...).
The physical id of a topic is its ARN. Subscriptions (``ListSubscriptionsByTopic``) are not
read: no rule judges a topic's live subscriptions (the rules that follow subscriptions, e.g.
to find functions invoked asynchronously, read the stack's own ``AWS::SNS::Subscription``
resources and ``Subscription`` properties), so the call would cost without informing a verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from stack_auditor.collect.live import Collector, LiveContext, Task, each
from stack_auditor.model import Resource

TOPIC = "AWS::SNS::Topic"


def _plan(context: LiveContext, topics: Sequence[Resource]) -> Iterable[Task]:
    client = context.client("sns")

    def read(topic: Resource) -> None:
        response = client.get_topic_attributes(TopicArn=topic.physical_id)
        context.put(topic.logical_id, {"Attributes": dict(response.get("Attributes") or {})})

    return each(topics, "sns:GetTopicAttributes", read)


COLLECTOR = Collector(
    service="sns",
    types=(TOPIC,),
    actions=("sns:GetTopicAttributes",),
    plan=_plan,
    reads="Attributes",
)

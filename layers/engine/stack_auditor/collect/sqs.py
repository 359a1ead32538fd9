"""SQS live state: each queue's attributes (``GetQueueAttributes`` All).

Fills ``live["Attributes"]`` with the API's text values (``"1209600"``, ``"true"``) and
``live["Tags"]`` is left to the tagging collector. The physical id of a queue is its URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from stack_auditor.collect.live import Collector, LiveContext, Task, each
from stack_auditor.model import Resource

QUEUE = "AWS::SQS::Queue"


def _plan(context: LiveContext, queues: Sequence[Resource]) -> Iterable[Task]:
    client = context.client("sqs")

    def read(queue: Resource) -> None:
        response = client.get_queue_attributes(QueueUrl=queue.physical_id, AttributeNames=["All"])
        context.put(queue.logical_id, {"Attributes": dict(response.get("Attributes") or {})})

    return each(queues, "sqs:GetQueueAttributes", read)


COLLECTOR = Collector(
    service="sqs",
    types=(QUEUE,),
    actions=("sqs:GetQueueAttributes",),
    plan=_plan,
    reads="Attributes",
)

"""moto's own record of a deployed stack: what the emulator repairs where no API can write.

Emulator only (``emulator_fixups``). moto keeps each stack as an object in its in-process
CloudFormation backend; ListStackResources and DescribeStacks answer from it. Two things it
gets wrong can only be corrected there: a resource of a type moto's CloudFormation does not
support is listed without logical or physical id, and an update never sets the stack's
``LastUpdatedTime``. This works when moto runs in this process (``mock_aws``, or a
``ThreadedMotoServer`` as in the demo and the tests); otherwise nothing is changed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from stack_auditor.collect.clients import Clients
from stack_auditor.model import StackRef


def moto_stack(ref: StackRef) -> Any | None:
    """moto's in-process object for the stack; None when moto does not run in this process."""
    try:
        from moto.cloudformation.exceptions import ValidationError
        from moto.cloudformation.models import cloudformation_backends
    except ImportError:
        return None
    try:
        return cloudformation_backends[ref.account][ref.region].get_stack(
            str(ref.stack_id or ref.stack_name)
        )
    except ValidationError:
        return None


class ListedResource:
    """A resource as moto's record of a stack holds one: the attributes ListStackResources
    reads, and ``delete`` for the stack's deletion or the resource's removal by an update."""

    def __init__(
        self, logical_id: str, physical_id: str, resource_type: str, delete: Callable[[], None]
    ) -> None:
        self.logical_resource_id = logical_id
        self.physical_resource_id = physical_id
        self.cf_resource_type = resource_type
        self._delete = delete

    def delete(self, account_id: str, region: str) -> None:
        self._delete()


def list_resource(ref: StackRef, resource: ListedResource) -> bool:
    """Enter a resource moto's CloudFormation did not create into its record of the stack;
    False when moto does not run in this process."""
    stack = moto_stack(ref)
    if stack is None:
        return False
    # moto keeps the resources it created by logical id; an unsupported type has no entry
    stack.resource_map._parsed_resources[resource.logical_resource_id] = resource
    return True


def record_last_update(clients: Clients, ref: StackRef) -> bool:
    """moto's UpdateStack never sets ``LastUpdatedTime`` (DescribeStacks leaves it out), so an
    update's audit would carry its create's deployment time. It is set to the time of the
    stack's last UPDATE_IN_PROGRESS event, when the update began, as CloudFormation has it.
    True when it changed."""
    started = _last_update_start(clients, ref)
    stack = moto_stack(ref) if started else None
    if stack is None or getattr(stack, "last_updated_time", None) == started:
        return False
    stack.last_updated_time = started
    return True


def _last_update_start(clients: Clients, ref: StackRef) -> datetime | None:
    pages = clients("cloudformation").get_paginator("describe_stack_events")
    for page in pages.paginate(StackName=str(ref.stack_id or ref.stack_name)):
        for event in page.get("StackEvents") or ():  # newest first
            if (
                event.get("ResourceType") == "AWS::CloudFormation::Stack"
                and event.get("ResourceStatus") == "UPDATE_IN_PROGRESS"
            ):
                stamp = event.get("Timestamp")
                return stamp if isinstance(stamp, datetime) else None
    return None

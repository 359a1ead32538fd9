"""Inject an AWS error into the real boto3 client the collectors use (not a fake of boto3).

``refuse(clients, "kms", "GetKeyRotationStatus", "AccessDeniedException")`` makes every later
call of that operation through ``clients`` raise the ClientError botocore would raise for that
error answer; the call is still counted by the clients' CallCounter (registered first).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from stack_auditor.collect.clients import Clients


def refuse(clients: Clients, service: str, operation: str, code: str) -> None:
    client = clients(service)

    def fail(**_: Any) -> None:
        error: Any = {"Error": {"Code": code, "Message": f"injected {code}"}}
        raise ClientError(error, operation)

    event_service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-call.{event_service}.{operation}", fail)

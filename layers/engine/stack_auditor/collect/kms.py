"""KMS live state: each key's metadata, rotation status and (when a service uses it) policy.

Per key (physical id = key id): ``DescribeKey`` fills ``live["KeyMetadata"]`` (KeySpec,
KeyManager, Origin, KeyState, ...). Only a symmetric customer managed key with KMS-generated
material can rotate automatically, so only for such a key is ``GetKeyRotationStatus`` called
(``live["KeyRotationEnabled"]``); for any other the API would refuse and the rule does not
apply. ``GetKeyPolicy`` (policy ``default``, parsed into ``live["KeyPolicy"]``) is called only
for keys a resource of the stack makes a service use (a log group's or an alarm-fed topic's
key): those are the only keys whose policy a rule judges.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from stack_auditor.collect.live import Collector, LiveContext, Task, each
from stack_auditor.model import Resource
from stack_auditor.rules.kms.key_policy_missing_service import key_uses

KEY = "AWS::KMS::Key"

DESCRIBE_KEY = "kms:DescribeKey"
GET_ROTATION = "kms:GetKeyRotationStatus"
GET_POLICY = "kms:GetKeyPolicy"
_METADATA = (
    "KeyId",
    "Arn",
    "KeySpec",
    "KeyUsage",
    "KeyManager",
    "KeyState",
    "Origin",
    "Enabled",
    "MultiRegion",
)


def _plan(context: LiveContext, keys: Sequence[Resource]) -> Iterable[Task]:
    client = context.client("kms")

    def read_key(key: Resource) -> None:
        metadata = client.describe_key(KeyId=key.physical_id)["KeyMetadata"]
        context.put(
            key.logical_id, {"KeyMetadata": {f: metadata[f] for f in _METADATA if f in metadata}}
        )
        if not _can_rotate(metadata):
            return
        try:
            status = client.get_key_rotation_status(KeyId=key.physical_id)
        except Exception as exc:  # keep the metadata; only the rotation status is missing
            context.gap(key.logical_id, GET_ROTATION, exc)
            return
        context.put(key.logical_id, {"KeyRotationEnabled": status.get("KeyRotationEnabled")})

    def read_policy(key: Resource) -> None:
        response = client.get_key_policy(KeyId=key.physical_id, PolicyName="default")
        context.put(key.logical_id, {"KeyPolicy": json.loads(response["Policy"])})

    yield from each(keys, DESCRIBE_KEY, read_key)
    yield from each(_used_by_a_service(context, keys), GET_POLICY, read_policy)


def _can_rotate(metadata: Mapping[str, Any]) -> bool:
    return (
        metadata.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
        and metadata.get("KeyManager") == "CUSTOMER"
        and metadata.get("Origin", "AWS_KMS") == "AWS_KMS"
    )


def _used_by_a_service(context: LiveContext, keys: Sequence[Resource]) -> list[Resource]:
    if context.snapshot is None:
        return list(keys)
    # the rule's own reading of the stack, so the two cannot disagree on which keys matter
    used = key_uses(context.snapshot)
    return [key for key in keys if key.logical_id in used]


COLLECTOR = Collector(
    service="kms",
    types=(KEY,),
    actions=(DESCRIBE_KEY, GET_ROTATION, GET_POLICY),
    plan=_plan,
    reads="KeyMetadata, KeyRotationEnabled, KeyPolicy",
)

"""KMS live state: each key's rotation status and (when a service uses it) its policy.

Only a symmetric customer managed key with KMS-generated material can rotate automatically.
A key's KeySpec and Origin cannot change without replacing the key, and a stack's keys are
customer managed, so the resolved template already says which keys can rotate: no
``DescribeKey`` is spent on it. For those keys (physical id = key id) ``GetKeyRotationStatus``
fills ``live["KeyRotationEnabled"]``; a key whose KeySpec or Origin cannot be resolved is asked
too. ``GetKeyPolicy`` (policy ``default``, parsed into ``live["KeyPolicy"]``) is called only
for keys a resource of the stack makes a service use (a log group's or an alarm-fed topic's
key): those are the only keys whose policy a rule judges.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from stack_auditor.collect.live import Collector, LiveContext, Task, each
from stack_auditor.model import Resource
from stack_auditor.rules.kms.key_policy_missing_service import key_uses

KEY = "AWS::KMS::Key"

GET_ROTATION = "kms:GetKeyRotationStatus"
GET_POLICY = "kms:GetKeyPolicy"


def _plan(context: LiveContext, keys: Sequence[Resource]) -> Iterable[Task]:
    client = context.client("kms")

    def read_rotation(key: Resource) -> None:
        status = client.get_key_rotation_status(KeyId=key.physical_id)
        context.put(key.logical_id, {"KeyRotationEnabled": status.get("KeyRotationEnabled")})

    def read_policy(key: Resource) -> None:
        response = client.get_key_policy(KeyId=key.physical_id, PolicyName="default")
        context.put(key.logical_id, {"KeyPolicy": json.loads(response["Policy"])})

    yield from each([k for k in keys if _may_rotate(k)], GET_ROTATION, read_rotation)
    yield from each(_used_by_a_service(context, keys), GET_POLICY, read_policy)


def _may_rotate(key: Resource) -> bool:
    """False only when the template says the key cannot rotate (asymmetric, HMAC, imported or
    external material); an unresolved KeySpec or Origin is asked."""
    spec = key.prop("KeySpec", default="SYMMETRIC_DEFAULT")
    origin = key.prop("Origin", default="AWS_KMS")
    return (not isinstance(spec, str) or spec == "SYMMETRIC_DEFAULT") and (
        not isinstance(origin, str) or origin == "AWS_KMS"
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
    actions=(GET_ROTATION, GET_POLICY),
    plan=_plan,
    reads="KeyRotationEnabled, KeyPolicy",
)

"""Make a stack deployed through moto's CloudFormation look like CloudFormation deployed it.

Emulator only (the demo, the end-to-end tests, the live-call benchmark); never used against
AWS. moto's CloudFormation creates the resources but not all of their settings, and an audit
that reads live state would report moto's gaps as the stack's problems. ``repair_deployment``
runs after every create and update: it reads each setting below through the service's own
API, compares it with the stack's resolved template, and writes only what differs (a second
run writes nothing). What moto 5.2 leaves out, and where it is repaired:

- IAM roles: inline ``Policies`` stored as Python repr text instead of JSON, and
  ``ManagedPolicyArns`` not attached (here). An AWS managed policy attaches only when moto
  loads them (``MOTO_IAM_LOAD_MANAGED_POLICIES=true``); otherwise it is left out.
- Tags: stack-level tags never propagated, and the ``Tags`` of SNS topics and Lambda functions
  not applied (here, through the tagging API the tagging collector reads; IAM for roles, and
  SQS TagQueue, since moto's TagResources does not tag queues).
- KMS keys: ``KeyPolicy`` stored as a dict, which breaks moto's DescribeKey (emulator_repairs).
- DynamoDB tables: ``PointInTimeRecoverySpecification`` ignored, ``SSESpecification.SSEEnabled``
  misread (emulator_repairs; the table is re-created for its encryption).
- Lambda functions: ``TracingConfig`` ignored (emulator_repairs; re-created).
- Log groups: ``KmsKeyId`` dropped (emulator_repairs; re-created).
- S3: ``PublicAccessBlockConfiguration`` ignored, ``AWS::S3::BucketPolicy`` not supported
  (emulator_repairs).
- CloudWatch alarms: ``AWS::CloudWatch::Alarm`` not supported at all (emulator_alarms).
- The stack: an update never sets ``LastUpdatedTime``, the deployment time an audit is ordered
  by (emulator_stack_record; moto's in-process record, which no API writes).

Kept by moto, so not written: SQS queue attributes, an SNS topic's ``KmsMasterKeyId``, a log
group's retention, KMS key rotation, the documents of ``AWS::IAM::Policy`` resources, the tags
of tables, queues, log groups, buckets and roles. Not repairable: moto's Lambda has no
``DeadLetterConfig`` at all (the live configuration never shows one), and moto's
CloudFormation fails on ``AWS::KMS::Key`` ``Tags``.

``prepare_deletion`` runs before a stack is deleted: moto's CloudFormation would fail on the
managed policies attached above.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from stack_auditor.collect.clients import Clients
from stack_auditor.collect.cloudformation import snapshot_from_stack
from stack_auditor.collect.iam import decode_document
from stack_auditor.collect.live import LiveContext, batches, is_error
from stack_auditor.collect.tagging import tagging_arn
from stack_auditor.emulator_alarms import ALARM, repair_alarm
from stack_auditor.emulator_repairs import (
    declared,
    repair_bucket_policy,
    repair_function,
    repair_key_policy,
    repair_log_group,
    repair_public_access_block,
    repair_table_backups,
    repair_table_encryption,
    text,
)
from stack_auditor.emulator_stack_record import record_last_update
from stack_auditor.model import Resource, StackRef, StackSnapshot, contains_unresolved, thaw
from stack_auditor.rules.tagging.required_tags_missing import taggable_types

ROLE = "AWS::IAM::Role"
TAG_READ_BATCH = 100  # GetResources: ARNs per call

Repair = Callable[[Clients, Resource], int]

# Per type, in order; a table's encryption first, since re-creating it resets its backups.
REPAIRS: Mapping[str, tuple[Repair, ...]] = {
    "AWS::DynamoDB::Table": (repair_table_encryption, repair_table_backups),
    "AWS::Lambda::Function": (repair_function,),
    "AWS::Logs::LogGroup": (repair_log_group,),
    "AWS::S3::Bucket": (repair_public_access_block,),
}


def repair_deployment(
    clients: Clients, stack_name: str, *, account: str | None = None, region: str | None = None
) -> int:
    """Apply the repairs to one deployed stack; returns how many API writes were made.

    ``account`` and ``region`` default to the clients' (STS GetCallerIdentity, session)."""
    snapshot = _snapshot(clients, stack_name, account, region)
    if record_last_update(clients, snapshot.ref):  # not an API write: moto's own record
        snapshot = snapshot_from_stack(clients("cloudformation"), snapshot.ref)
    writes = 0
    # Keys first: moto's DescribeKey fails until their policy is JSON, and tables ask for it.
    for key in _located(snapshot, "AWS::KMS::Key"):
        writes += repair_key_policy(clients, key)
    for role in _located(snapshot, ROLE):
        writes += _repair_role(clients, role)
    recorded = False
    for alarm in snapshot.of_type(ALARM):
        put, listed = repair_alarm(clients, snapshot, alarm)
        writes += put
        recorded = recorded or listed
    if recorded:  # the alarms now have physical ids: their tags can be repaired below
        snapshot = snapshot_from_stack(clients("cloudformation"), snapshot.ref)
    for resource in snapshot.resources.values():
        if resource.physical_id:
            for repair in REPAIRS.get(resource.type, ()):
                writes += repair(clients, resource)
    for policy in snapshot.of_type("AWS::S3::BucketPolicy"):
        writes += repair_bucket_policy(clients, policy)
    writes += _repair_tags(clients, snapshot)
    return writes


def prepare_deletion(
    clients: Clients, stack_name: str, *, account: str | None = None, region: str | None = None
) -> int:
    """Call before deleting the stack; returns how many API writes were made.

    moto's CloudFormation deletes a role without detaching its managed policies, which moto's
    IAM refuses (DeleteConflict, the stack deletion fails): the ``ManagedPolicyArns``
    ``repair_deployment`` attached are detached first, as CloudFormation does."""
    snapshot = _snapshot(clients, stack_name, account, region)
    iam = clients("iam")
    writes = 0
    for role in _located(snapshot, ROLE):
        declared_arns = set(declared(role, "ManagedPolicyArns") or ())
        for arn in _attached_policies(clients, str(role.physical_id)) & declared_arns:
            iam.detach_role_policy(RoleName=role.physical_id, PolicyArn=arn)
            writes += 1
    return writes


def _snapshot(
    clients: Clients, stack_name: str, account: str | None, region: str | None
) -> StackSnapshot:
    """The deployed stack's resolved template and physical ids (no live reads)."""
    account = account or str(clients("sts").get_caller_identity()["Account"])
    region = region or clients.region or "us-east-1"
    ref = StackRef(stack_name, account=account, region=region, trigger="audit")
    return snapshot_from_stack(clients("cloudformation"), ref)


def _located(snapshot: StackSnapshot, resource_type: str) -> Iterable[Resource]:
    return (r for r in snapshot.of_type(resource_type) if r.physical_id)


# -- IAM ------------------------------------------------------------------------------


def _repair_role(clients: Clients, role: Resource) -> int:
    """moto's CloudFormation stores a role's inline ``Policies`` as Python repr text (not
    JSON) and does not attach its ``ManagedPolicyArns``."""
    iam = clients("iam")
    name = str(role.physical_id)
    writes = 0
    for written in role.prop("Policies", default=()) or ():
        policy = None if contains_unresolved(written) else thaw(written)
        if not isinstance(policy, dict) or not isinstance(policy.get("PolicyDocument"), dict):
            continue  # an unresolved document cannot be written as CloudFormation would
        policy_name = str(policy.get("PolicyName"))
        try:
            found = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        except Exception as exc:
            if not is_error(exc, "NoSuchEntity"):
                raise
            found = None
        if decode_document(found) != policy["PolicyDocument"]:
            iam.put_role_policy(
                RoleName=name,
                PolicyName=policy_name,
                PolicyDocument=json.dumps(policy["PolicyDocument"]),
            )
            writes += 1
    attached = _attached_policies(clients, name)
    for arn in declared(role, "ManagedPolicyArns") or ():
        if not isinstance(arn, str) or arn in attached:
            continue
        try:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
            writes += 1
        except Exception as exc:  # an AWS managed policy moto did not load: left out
            if not is_error(exc, "NoSuchEntity"):
                raise
    return writes


def _attached_policies(clients: Clients, role_name: str) -> set[str]:
    pages = clients("iam").get_paginator("list_attached_role_policies").paginate(RoleName=role_name)
    return {p["PolicyArn"] for page in pages for p in page["AttachedPolicies"]}


# -- Tags -----------------------------------------------------------------------------


def _own_tags(resource: Resource) -> dict[str, str]:
    """The resource's resolved ``Tags`` (a list of Key/Value, or SAM's map) as a map."""
    tags: Any = declared(resource, "Tags")
    if isinstance(tags, dict):
        return {str(k): text(v) for k, v in tags.items()}
    return {
        str(t["Key"]): text(t.get("Value", ""))
        for t in tags or ()
        if isinstance(t, dict) and "Key" in t
    }


def _repair_tags(clients: Clients, snapshot: StackSnapshot) -> int:
    """moto's CloudFormation propagates no stack-level tag and applies no ``Tags`` to SNS
    topics and Lambda functions: every taggable resource gets the tags CloudFormation would
    give it (the stack's, overridden by its own) where they are missing or different."""
    context = LiveContext(clients, snapshot.ref.account, snapshot.ref.region)
    taggable = taggable_types()
    wanted: dict[str, tuple[Resource, dict[str, str]]] = {}
    writes = 0
    for resource in snapshot.resources.values():
        tags = {**snapshot.tags, **_own_tags(resource)}
        if not resource.physical_id or not tags or resource.type not in taggable:
            continue
        if resource.type == ROLE:
            writes += _tag_role(clients, str(resource.physical_id), tags)
            continue
        arn = tagging_arn(resource, context)
        if arn:
            wanted[arn] = (resource, tags)
    found = _tags_by_arn(clients, list(wanted))
    for arn, (resource, tags) in wanted.items():
        missing = {k: v for k, v in tags.items() if found.get(arn, {}).get(k) != v}
        if missing:
            _TAG_WRITERS.get(resource.type, _tag_through_tagging_api)(
                clients, resource, arn, missing
            )
            writes += 1
    return writes


def _tag_through_tagging_api(
    clients: Clients, resource: Resource, arn: str, tags: Mapping[str, str]
) -> None:
    response = clients("resourcegroupstaggingapi").tag_resources(
        ResourceARNList=[arn], Tags=dict(tags)
    )
    if response.get("FailedResourcesMap"):
        raise RuntimeError(f"TagResources failed: {response['FailedResourcesMap']}")


def _tag_queue(clients: Clients, queue: Resource, arn: str, tags: Mapping[str, str]) -> None:
    """moto's TagResources does not tag SQS queues ("Service not yet supported")."""
    clients("sqs").tag_queue(QueueUrl=queue.physical_id, Tags=dict(tags))


_TAG_WRITERS: Mapping[str, Callable[[Clients, Resource, str, Mapping[str, str]], None]] = {
    "AWS::SQS::Queue": _tag_queue,
}


def _tags_by_arn(clients: Clients, arns: list[str]) -> dict[str, dict[str, str]]:
    """Live tags of ``arns`` as the tagging collector reads them (GetResources)."""
    tagging = clients("resourcegroupstaggingapi")
    found: dict[str, dict[str, str]] = {}
    for batch in batches(arns, TAG_READ_BATCH):
        params: dict[str, Any] = {"ResourceARNList": list(batch)}
        while True:
            response = tagging.get_resources(**params)
            for mapping in response.get("ResourceTagMappingList") or ():
                arn = str(mapping["ResourceARN"]).removesuffix(":*")
                found[arn] = {t["Key"]: t.get("Value", "") for t in mapping.get("Tags") or ()}
            token = response.get("PaginationToken")
            if not token:
                break
            params["PaginationToken"] = token
    return found


def _tag_role(clients: Clients, name: str, tags: Mapping[str, str]) -> int:
    iam = clients("iam")
    found = {
        t["Key"]: t.get("Value", "")
        for page in iam.get_paginator("list_role_tags").paginate(RoleName=name)
        for t in page["Tags"]
    }
    missing = {k: v for k, v in tags.items() if found.get(k) != v}
    if not missing:
        return 0
    iam.tag_role(RoleName=name, Tags=[{"Key": k, "Value": v} for k, v in missing.items()])
    return 1

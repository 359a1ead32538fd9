"""IAM live state: the policies each role, user and group of the stack has, and the documents
of the stack's customer managed policies.

Live shapes (``resource.live``):

- ``AWS::IAM::Role`` / ``User`` / ``Group`` (physical id = name)::

      {"InlinePolicies": {policy name: document},
       "AttachedPolicies": [{"PolicyArn": arn, "PolicyName": name, "PolicyDocument": document}]}

  A document that could not be read is None and a gap names the IAM action that failed; a key
  is absent when its list call failed (``AttachedPolicies`` after a failed
  ``ListAttachedRolePolicies``). A failed ``ListRolePolicies`` fails the whole read: the
  holder is most likely gone or the auditor may not read IAM at all.
- ``AWS::IAM::ManagedPolicy`` (physical id = ARN): ``{"PolicyDocument": default version}``.

Documents are dicts: boto3 decodes the URL-encoded JSON of GetRolePolicy and
GetPolicyVersion; a string is decoded here. ``AWS::IAM::Policy`` (and ``RolePolicy``...)
resources are inline policies of their roles and are read with them.

Calls: a role costs ListRolePolicies + one GetRolePolicy per inline policy +
ListAttachedRolePolicies (both lists paginated); each distinct managed policy, AWS managed or
customer managed, costs GetPolicy + GetPolicyVersion once per audit, shared through
``LiveContext.cached`` (every function's role attaches AWSLambdaBasicExecutionRole). GetRole
is not called: the name is the physical id, and tags are the tagging collector's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import unquote

from stack_auditor.collect.live import Collector, LiveContext, Task, each, error_code
from stack_auditor.model import Resource

MANAGED_POLICY = "AWS::IAM::ManagedPolicy"
# holder type -> the word IAM's API names use for it (ListRolePolicies, GetUserPolicy, ...)
HOLDERS = {"AWS::IAM::Role": "Role", "AWS::IAM::User": "User", "AWS::IAM::Group": "Group"}


def decode_document(raw: Any) -> Any:
    """A policy document as a dict; IAM's URL-encoded JSON text is decoded."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(unquote(raw))
    except ValueError:
        return raw  # kept as text: the rules report an unreadable document as UNKNOWN


def _plan(context: LiveContext, resources: Sequence[Resource]) -> Iterable[Task]:
    for holder_type, kind in HOLDERS.items():
        holders = [r for r in resources if r.type == holder_type]
        yield from each(holders, f"iam:List{kind}Policies", lambda r: _read_holder(context, r))
    policies = [r for r in resources if r.type == MANAGED_POLICY]
    yield from each(policies, "iam:GetPolicy", lambda r: _read_managed_policy(context, r))


def _read_holder(context: LiveContext, holder: Resource) -> None:
    iam = context.client("iam")
    kind = HOLDERS[holder.type]
    noun = kind.lower()
    named = {f"{kind}Name": holder.physical_id}
    # Raises to the runner: a gap on iam:List<Kind>Policies for the whole holder.
    names = [
        name
        for page in iam.get_paginator(f"list_{noun}_policies").paginate(**named)
        for name in page["PolicyNames"]
    ]
    get_inline = getattr(iam, f"get_{noun}_policy")
    inline: dict[str, Any] = {}
    for name in names:
        try:
            inline[name] = decode_document(get_inline(PolicyName=name, **named)["PolicyDocument"])
        except Exception as exc:  # every failure is a gap; what was read is kept
            inline[name] = None
            _gap(context, holder, f"iam:Get{kind}Policy", exc, name)
    context.put(holder.logical_id, {"InlinePolicies": inline})

    try:
        listed = [
            entry
            for page in iam.get_paginator(f"list_attached_{noun}_policies").paginate(**named)
            for entry in page["AttachedPolicies"]
        ]
    except Exception as exc:
        _gap(context, holder, f"iam:ListAttached{kind}Policies", exc)
        return
    attached = [
        {
            "PolicyArn": entry["PolicyArn"],
            "PolicyName": entry.get("PolicyName"),
            "PolicyDocument": managed_document(context, holder, entry["PolicyArn"]),
        }
        for entry in listed
    ]
    context.put(holder.logical_id, {"AttachedPolicies": attached})


def _read_managed_policy(context: LiveContext, policy: Resource) -> None:
    document = managed_document(context, policy, str(policy.physical_id))
    if document is not None:
        context.put(policy.logical_id, {"PolicyDocument": document})


def managed_document(context: LiveContext, reader: Resource, arn: str) -> Any:
    """The default version's document of a managed policy, fetched once per ARN per audit;
    None (and a gap on ``reader``) when it cannot be read."""
    iam = context.client("iam")
    action = "iam:GetPolicy"
    try:
        version = context.cached(
            (action, arn), lambda: iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        )
        action = "iam:GetPolicyVersion"
        return context.cached(
            (action, arn, version),
            lambda: decode_document(
                iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"][
                    "Document"
                ]
            ),
        )
    except Exception as exc:  # a gap on the resource that needed it
        _gap(context, reader, action, exc, arn)
        return None


def _gap(
    context: LiveContext, scope: Resource, action: str, exc: Exception, what: str = ""
) -> None:
    code, message = error_code(exc)
    detail = f"{what}: {code}: {message}" if what else ""
    context.gap(scope.logical_id, action, exc, detail)


COLLECTOR = Collector(
    service="iam",
    types=(*HOLDERS, MANAGED_POLICY),
    actions=tuple(
        sorted(
            {
                *(f"iam:List{kind}Policies" for kind in HOLDERS.values()),
                *(f"iam:Get{kind}Policy" for kind in HOLDERS.values()),
                *(f"iam:ListAttached{kind}Policies" for kind in HOLDERS.values()),
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
            }
        )
    ),
    plan=_plan,
    reads="InlinePolicies, AttachedPolicies (with documents), PolicyDocument",
)

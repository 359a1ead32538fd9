"""KMS keys of a stack: which key a ``KmsKeyId``-like value names, and what its policy lets in.

A resource names its key by key id, key ARN, alias name (``alias/app``), alias ARN, or a Ref /
GetAtt of an ``AWS::KMS::Key`` or ``AWS::KMS::Alias``; all resolve here to the stack's key
resource, to an AWS managed key (``alias/aws/<service>``), or to a key outside the stack.

A key policy lets a service principal in when an Allow statement whose Principal is that
service (or ``*``) covers the action; conditions on it do not take the grant away (the auditor
cannot know the request context), an unconditional Deny does. A policy left out of the
template is the CloudFormation default, which trusts only the account root: the account's IAM
policies can then use the key, a service principal cannot.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stack_auditor.model import Resource, StackSnapshot, Unresolved
from stack_auditor.rules._iam import Access, Statement, access, parse_document

KEY_TYPE = "AWS::KMS::Key"
ALIAS_TYPE = "AWS::KMS::Alias"
AWS_MANAGED_ALIAS_PREFIX = "alias/aws/"


class KeyKind(enum.Enum):
    ABSENT = "absent"  # no key named
    STACK = "stack"  # an AWS::KMS::Key of this stack
    AWS_MANAGED = "aws-managed"  # alias/aws/<service>
    EXTERNAL = "external"  # a customer managed key outside the stack
    UNRESOLVED = "unresolved"


@dataclass(frozen=True, slots=True)
class KeyReference:
    kind: KeyKind
    value: Any  # the value as resolved (an Unresolved marker for UNRESOLVED)
    key: Resource | None = None  # the stack's key for STACK


def resolve_key(snapshot: StackSnapshot, value: Any) -> KeyReference:
    """Which key ``value`` (a resolved KmsKeyId / KmsMasterKeyId / KMSMasterKeyId) names."""
    if value is None or value == "":
        return KeyReference(KeyKind.ABSENT, value)
    if isinstance(value, Unresolved):
        return KeyReference(KeyKind.UNRESOLVED, value)
    if not isinstance(value, str):
        return KeyReference(KeyKind.EXTERNAL, value)
    text = _alias_name_of_arn(value) or value
    if text.startswith(AWS_MANAGED_ALIAS_PREFIX):
        return KeyReference(KeyKind.AWS_MANAGED, value)
    owner = snapshot.owner_of(text, ALIAS_TYPE, KEY_TYPE) or _alias_by_name(snapshot, text)
    if owner is not None and owner.type == ALIAS_TYPE:
        target = owner.prop("TargetKeyId")
        if isinstance(target, Unresolved):
            return KeyReference(KeyKind.UNRESOLVED, target)
        owner = snapshot.owner_of(target)
    if owner is not None and owner.type == KEY_TYPE:
        return KeyReference(KeyKind.STACK, value, owner)
    return KeyReference(KeyKind.EXTERNAL, value)


def _alias_name_of_arn(value: str) -> str | None:
    # arn:<partition>:kms:<region>:<account>:alias/<name>
    parts = value.split(":", 5)
    if len(parts) == 6 and parts[:3:2] == ["arn", "kms"] and parts[5].startswith("alias/"):
        return parts[5]
    return None


def _alias_by_name(snapshot: StackSnapshot, name: str) -> Resource | None:
    if not name.startswith("alias/"):
        return None
    for alias in snapshot.of_type(ALIAS_TYPE):
        if alias.prop("AliasName") == name:
            return alias
    return None


def key_arn(key: Resource) -> str | None:
    arn = key.attributes.get("Arn")
    return arn if isinstance(arn, str) else None


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    statements: tuple[Statement, ...]
    written: bool  # False: no KeyPolicy in the template (the root-only default)
    problem: str | None = None  # why it cannot be read


PATH = "Properties.KeyPolicy"


def key_policy(key: Resource) -> KeyPolicy:
    """The key's policy: live (``KeyPolicy`` in ``key.live``) when read, else the template's."""
    if key.live is not None and "KeyPolicy" in key.live:
        document = key.live["KeyPolicy"]
    elif "KeyPolicy" in key.properties:
        document = key.prop("KeyPolicy")
    else:
        return KeyPolicy((), written=False)
    statements, problem = parse_document(document, key.logical_id, PATH, "resource-policy")
    return KeyPolicy(statements, written=True, problem=problem)


def _principal_names(principal: Any) -> tuple[str | Unresolved, ...]:
    """Service names and ``*`` a Principal lets in (AWS ``*`` counts as everyone)."""
    if isinstance(principal, (str, Unresolved)):
        return (principal,) if principal == "*" or isinstance(principal, Unresolved) else ()
    if not isinstance(principal, Mapping):
        return ()
    names: list[str | Unresolved] = []
    for kind, value in principal.items():
        values = value if isinstance(value, tuple) else (value,)
        for item in values:
            if isinstance(item, Unresolved):
                names.append(item)
            elif kind == "Service" and isinstance(item, str):
                names.append(item.lower())
            elif kind == "AWS" and item == "*":
                names.append("*")
    return tuple(names)


def _names_service(statement: Statement, services: frozenset[str]) -> bool | None:
    """Does the statement's Principal include one of ``services``? None when unresolved."""
    names = _principal_names(statement.principal)
    if any(n == "*" or n in services for n in names if isinstance(n, str)):
        return True
    return None if any(isinstance(n, Unresolved) for n in names) else False


def service_access(
    policy: KeyPolicy, services: Iterable[str], actions: Iterable[str], arn: str | None
) -> dict[str, Access]:
    """Per action: does the policy allow any of ``services`` (principal names) to call it?"""
    wanted = frozenset(s.lower() for s in services)
    relevant: list[Statement] = []
    unsure = policy.problem is not None
    for statement in policy.statements:
        match = _names_service(statement, wanted)
        if match:
            relevant.append(statement)
        elif match is None:
            unsure = True
    arns = (arn,) if arn else ("*",)
    return {action: access(relevant, action, arns, complete=not unsure) for action in actions}

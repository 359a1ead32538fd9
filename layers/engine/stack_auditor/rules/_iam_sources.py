"""Where a stack's policy statements come from: what its authors wrote, and what a role has.

Two views, each computed once per snapshot:

- ``authored_statements``: statements the stack's authors wrote, which the wildcard rules
  judge: inline ``Policies`` of roles/users/groups, ``AWS::IAM::Policy``,
  ``AWS::IAM::ManagedPolicy``, ``AWS::IAM::RolePolicy``/``UserPolicy``/``GroupPolicy``, and
  resource policies (bucket, queue, topic, key, secret).
  On a role SAM generated, an inline policy is authored only when it comes from an inline
  statement document in the SAM resource's ``Policies`` (SAM names it ``<Role>Policy<i>``
  after its index there). SAM policy templates (``DynamoDBCrudPolicy``, ``SQSPollerPolicy``,
  ...) and the policies SAM adds for tracing, DLQs and event sources are not authored: their
  statements are AWS's, scoped by AWS, and the author can only pick or drop them.
  On a live snapshot the statement rules judge the deployed documents instead, where they
  were read (``_iam_live``).
- ``role_grants``: every statement a role of the stack has, from every source: inline,
  ``AWS::IAM::Policy``/``ManagedPolicy`` attached through ``Roles`` or ``ManagedPolicyArns``,
  AWS managed policies (their real documents), whatever SAM generated. A source that cannot
  be read (an external customer managed policy, an unresolved document) is recorded, so that
  "not granted" becomes UNKNOWN. Permission boundaries and SCPs are not considered.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from stack_auditor import managed_policies
from stack_auditor.model import Resource, StackSnapshot, Unresolved
from stack_auditor.rules._iam import Statement, parse_document
from stack_auditor.rules._snapshot_cache import per_snapshot

IDENTITY_HOLDERS = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
POLICY_TYPES = (
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::RolePolicy",
    "AWS::IAM::UserPolicy",
    "AWS::IAM::GroupPolicy",
)
RESOURCE_POLICY_PROPERTY: Mapping[str, str] = {
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SecretsManager::ResourcePolicy": "ResourcePolicy",
}


@dataclass(frozen=True, slots=True)
class AuthoredDocument:
    holder: Resource
    path: str
    statements: tuple[Statement, ...]
    is_resource_policy: bool
    problem: str | None = None  # why the document could not be read (judged UNKNOWN)
    source: str = "resolved"  # "live" when read from the deployed policy (``_iam_live``)
    added: frozenset[str] = frozenset()  # paths of deployed statements the template lacks


@per_snapshot
def authored_documents(snapshot: StackSnapshot) -> tuple[AuthoredDocument, ...]:
    found: list[AuthoredDocument] = []
    for res in snapshot.resources.values():
        if res.type in IDENTITY_HOLDERS:
            for index, path, doc in inline_policies(res):
                if sam_generated(snapshot, res, index):
                    continue
                statements, problem = parse_document(doc, res.logical_id, path, "inline")
                found.append(AuthoredDocument(res, path, statements, False, problem))
        elif res.type in POLICY_TYPES:
            path = "Properties.PolicyDocument"
            origin = "customer-managed" if res.type == "AWS::IAM::ManagedPolicy" else "inline"
            doc = res.prop("PolicyDocument")
            statements, problem = parse_document(doc, res.logical_id, path, origin)
            found.append(AuthoredDocument(res, path, statements, False, problem))
        elif res.type in RESOURCE_POLICY_PROPERTY:
            prop = RESOURCE_POLICY_PROPERTY[res.type]
            if prop not in res.properties:
                continue
            path = f"Properties.{prop}"
            statements, problem = parse_document(
                res.prop(prop), res.logical_id, path, "resource-policy"
            )
            found.append(AuthoredDocument(res, path, statements, True, problem))
    return tuple(found)


def inline_policies(res: Resource) -> Iterator[tuple[int, str, Any]]:
    policies = res.prop("Policies")
    if not isinstance(policies, tuple):
        return
    for index, policy in enumerate(policies):
        if isinstance(policy, Mapping):
            yield (
                index,
                f"Properties.Policies[{index}].PolicyDocument",
                policy.get("PolicyDocument"),
            )


def sam_generated(snapshot: StackSnapshot, role: Resource, index: int) -> bool:
    """Is inline policy ``index`` of this role from a SAM policy template or added by SAM?"""
    source = role.source_logical_id
    if not source or source == role.logical_id:
        return False
    written = snapshot.template.get("Resources", {}).get(source)
    if not isinstance(written, Mapping) or not str(written.get("Type", "")).startswith(
        "AWS::Serverless::"
    ):
        return False
    policy = role.prop("Policies", index)
    name = policy.get("PolicyName") if isinstance(policy, Mapping) else None
    prefix = f"{role.logical_id}Policy"
    if (
        not isinstance(name, str)
        or not name.startswith(prefix)
        or not name[len(prefix) :].isdigit()
    ):
        return True  # SAM-added (DLQ, event source, connector, ...)
    original = written.get("Properties", {}).get("Policies")
    if not isinstance(original, (list, tuple)):
        original = [original]
    position = int(name[len(prefix) :])
    if position >= len(original):
        return True
    entry = original[position]
    # An inline statement document (or an Fn::If choosing one) is the author's own writing.
    return not (isinstance(entry, Mapping) and ("Statement" in entry or "Fn::If" in entry))


@dataclass(frozen=True, slots=True)
class Grants:
    """Everything a role is granted, and the sources that could not be read."""

    role: Resource
    statements: tuple[Statement, ...]
    unreadable: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return not self.unreadable


@per_snapshot
def role_grants(snapshot: StackSnapshot) -> Mapping[str, Grants]:
    """Role logical id -> its grants, for every AWS::IAM::Role of the stack."""
    statements: dict[str, list[Statement]] = {}
    unreadable: dict[str, list[str]] = {}
    roles = {r.logical_id: r for r in snapshot.of_type("AWS::IAM::Role")}
    for role in roles.values():
        statements[role.logical_id] = []
        unreadable[role.logical_id] = []
        for _index, path, doc in inline_policies(role):
            found, problem = parse_document(doc, role.logical_id, path, "inline")
            statements[role.logical_id] += found
            if problem:
                unreadable[role.logical_id].append(f"{path}: {problem}")
        arns = role.prop("ManagedPolicyArns")
        if isinstance(arns, Unresolved):
            unreadable[role.logical_id].append(f"ManagedPolicyArns cannot be resolved ({arns})")
        elif isinstance(arns, tuple):
            for index, arn in enumerate(arns):
                found, problem = _managed_policy(snapshot, arn, role.logical_id, index)
                statements[role.logical_id] += found
                if problem:
                    unreadable[role.logical_id].append(problem)
    for policy in snapshot.of_type(*POLICY_TYPES):
        targets = policy.prop("Roles")
        if policy.type == "AWS::IAM::RolePolicy":
            targets = (policy.prop("RoleName"),)
        if not isinstance(targets, tuple):
            continue
        found, problem = parse_document(
            policy.prop("PolicyDocument"),
            policy.logical_id,
            "Properties.PolicyDocument",
            "customer-managed" if policy.type == "AWS::IAM::ManagedPolicy" else "inline",
        )
        for target in targets:
            owner = next((o for o in snapshot.owners_of(target) if o.logical_id in roles), None)
            if owner is None:
                continue
            if policy.type == "AWS::IAM::ManagedPolicy" and _listed_by_arn(owner, policy):
                continue  # already counted through the role's ManagedPolicyArns
            statements[owner.logical_id] += found
            if problem:
                unreadable[owner.logical_id].append(f"{policy.logical_id}: {problem}")
    return {
        lid: Grants(roles[lid], tuple(statements[lid]), tuple(unreadable[lid])) for lid in roles
    }


def _managed_policy(
    snapshot: StackSnapshot, arn: Any, role_id: str, index: int
) -> tuple[tuple[Statement, ...], str | None]:
    where = f"ManagedPolicyArns[{index}]"
    if isinstance(arn, Unresolved):
        return (), f"{where} cannot be resolved ({arn})"
    if not isinstance(arn, str):
        return (), f"{where} is not a string"
    owner = snapshot.owner_of(arn, "AWS::IAM::ManagedPolicy")
    if owner is not None:
        return parse_document(
            owner.prop("PolicyDocument"),
            owner.logical_id,
            "Properties.PolicyDocument",
            "customer-managed",
        )
    document = managed_policies.document(arn)
    if document is None:
        return (), f"{where} {arn} is not an AWS managed policy nor a policy of this stack"
    return parse_document(document, role_id, f"{where}({arn})", "aws-managed")


def _listed_by_arn(role: Resource, policy: Resource) -> bool:
    arns = role.prop("ManagedPolicyArns")
    ref = policy.attributes.get("Ref")
    return isinstance(arns, tuple) and ref is not None and ref in arns


def grants_of_function(snapshot: StackSnapshot, function: Resource) -> Grants | str:
    """The grants of a Lambda function's execution role, or why they cannot be known."""
    role_arn = function.prop("Role")
    if isinstance(role_arn, Unresolved):
        return f"the execution role cannot be resolved ({role_arn})"
    if not isinstance(role_arn, str):
        return "the function has no execution role"
    owner = snapshot.owner_of(role_arn, "AWS::IAM::Role")
    if owner is None:
        return f"the execution role {role_arn} is not a role of this stack"
    return role_grants(snapshot)[owner.logical_id]

"""The IAM policies the statement rules judge: the deployed ones when they were read, and drift.

On a live snapshot where the IAM collector read a role's (user's, group's) policies, what is
deployed is judged rather than the template (``collect.iam`` describes the live shapes):

- Each deployed inline policy is matched by name to what writes it in the template: the
  holder's own ``Policies[i]``, or an ``AWS::IAM::Policy``/``RolePolicy``/... naming the
  holder. It is judged under that writer at that writer's path, so a finding keeps its id when
  an audit switches from template to live reading. An inline policy the template does not write
  is judged under the holder at ``InlinePolicies.<name>``: it was added outside CloudFormation.
  SAM-generated policies are AWS's writing: only statements added to them are judged.
- An ``AWS::IAM::ManagedPolicy`` of the stack is judged on its deployed default version.
- A customer managed policy from outside the stack, attached outside the template, is judged
  under the holder at ``AttachedPolicies[<arn>].PolicyDocument``; one the template attaches is
  not the stack's writing, as in template mode. AWS managed policies are judged by name only
  (``attachments``, read by iam-admin-access).

A deployed statement the template lacks is flagged in ``AuthoredDocument.added``; the other
differences (a policy or attachment on one side only, a template statement no longer deployed)
are ``drift`` notes per resource. ``unseen`` names the resources whose deployed policies could
not be read (a gap of an ``iam:`` action on the holder, or on a holder an ``AWS::IAM::Policy``
is written on): they never PASS. Without live reads the view is the template's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from stack_auditor import managed_policies
from stack_auditor.model import EMPTY, Resource, StackSnapshot, contains_unresolved
from stack_auditor.rules._iam import Statement, parse_document
from stack_auditor.rules._iam_sources import (
    IDENTITY_HOLDERS,
    AuthoredDocument,
    authored_documents,
    inline_policies,
    sam_generated,
)
from stack_auditor.rules._snapshot_cache import per_snapshot

ROLE, USER, GROUP = IDENTITY_HOLDERS
MANAGED_POLICY = "AWS::IAM::ManagedPolicy"
POLICY_PATH = "Properties.PolicyDocument"
# policy type -> (property, holder type) pairs naming the holders it is written on or attached to
TARGETS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "AWS::IAM::Policy": (("Roles", ROLE), ("Users", USER), ("Groups", GROUP)),
    "AWS::IAM::RolePolicy": (("RoleName", ROLE),),
    "AWS::IAM::UserPolicy": (("UserName", USER),),
    "AWS::IAM::GroupPolicy": (("GroupName", GROUP),),
    MANAGED_POLICY: (("Roles", ROLE), ("Users", USER), ("Groups", GROUP)),
}


@dataclass(frozen=True, slots=True)
class Attachment:
    """A managed policy attached to a role, user or group."""

    arn: str
    path: str  # "Properties.ManagedPolicyArns[i]" if the template attaches it, else by ARN
    source: str  # "live" or "resolved"
    drift: str = ""  # set when attached outside the template


@dataclass(frozen=True, slots=True)
class PolicyView:
    documents: tuple[AuthoredDocument, ...]
    attachments: Mapping[str, tuple[Attachment, ...]]  # holder logical id -> attachments
    drift: Mapping[str, tuple[str, ...]]  # logical id -> how deployed differs from template
    unseen: Mapping[str, str]  # logical id -> the live read that failed ("iam:...: AccessDenied")
    live: frozenset[str]  # logical ids judged on deployed policies

    def evidence(self, logical_id: str) -> dict[str, Any]:
        """What a PASS reports: where its policies were read, and any drift."""
        if logical_id not in self.live:
            return {}
        found: dict[str, Any] = {"source": "live"}
        if logical_id in self.drift:
            found["drift"] = list(self.drift[logical_id])
        return found


@per_snapshot
def policy_view(snapshot: StackSnapshot) -> PolicyView:
    template = authored_documents(snapshot)
    if not snapshot.live_read:
        return PolicyView(template, _template_attachments(snapshot), EMPTY, EMPTY, frozenset())
    view = _LiveView(snapshot)
    for holder in snapshot.of_type(*IDENTITY_HOLDERS):
        view.read_holder(holder)
    for policy in snapshot.of_type(MANAGED_POLICY):
        view.read_managed_policy(policy)
    kept = tuple(d for d in template if (d.holder.logical_id, d.path) not in view.replaced)
    return PolicyView(
        kept + tuple(view.documents),
        view.attachments,
        {lid: tuple(notes) for lid, notes in view.drift.items()},
        _unseen(snapshot),
        frozenset(view.live),
    )


@dataclass(frozen=True, slots=True)
class _InlineWriter:
    """An inline policy the template writes on a holder."""

    name: Any  # PolicyName, resolved
    owner: Resource  # the holder itself, or the AWS::IAM::Policy/RolePolicy/... resource
    path: str
    document: Any
    authored: bool  # False for SAM-generated policies


class _LiveView:
    def __init__(self, snapshot: StackSnapshot) -> None:
        self.snapshot = snapshot
        self.documents: list[AuthoredDocument] = []
        self.replaced: set[tuple[str, str]] = set()  # template documents read live instead
        self.drift: dict[str, list[str]] = {}
        self.live: set[str] = set()
        self.attachments = _template_attachments(snapshot)
        self.writers = _inline_writers(snapshot)
        self.attached_by_policy: dict[str, set[str]] = {}
        for policy in snapshot.of_type(MANAGED_POLICY):
            arn = policy.attributes.get("Ref")
            for holder in targets_of(snapshot, policy):
                if isinstance(arn, str):
                    self.attached_by_policy.setdefault(holder.logical_id, set()).add(arn)
        self._added: set[tuple[str, str, tuple[str, ...]]] = set()

    def note(self, logical_id: str, text: str) -> None:
        self.drift.setdefault(logical_id, []).append(text)

    def add(self, document: AuthoredDocument) -> None:
        # an AWS::IAM::Policy on several roles is read once per role: judge each copy once
        key = (document.holder.logical_id, document.path, _keys(document.statements))
        if key not in self._added:
            self._added.add(key)
            self.documents.append(document)

    def read_holder(self, holder: Resource) -> None:
        live = holder.live or EMPTY
        inline = live.get("InlinePolicies")
        if isinstance(inline, Mapping):
            self.live.add(holder.logical_id)
            self._inline(holder, inline)
        attached = live.get("AttachedPolicies")
        if isinstance(attached, tuple):
            self.live.add(holder.logical_id)
            self._attached(holder, attached)

    def _inline(self, holder: Resource, deployed: Mapping[str, Any]) -> None:
        writers = self.writers.get(holder.logical_id, [])
        by_name = {w.name: w for w in writers if isinstance(w.name, str)}
        for name, document in deployed.items():
            writer = by_name.get(name)
            if writer is None:
                self.add(live_document(holder, f"InlinePolicies.{name}", document, frozenset()))
                self.note(
                    holder.logical_id,
                    f"inline policy {name!r} is deployed on {holder.logical_id} but the "
                    "template does not write it",
                )
                continue
            owner = writer.owner.logical_id
            self.replaced.add((owner, writer.path))
            self.live.add(owner)
            expected = template_keys(writer.document)
            read = live_document(writer.owner, writer.path, document, expected)
            changed = differs(read, expected)
            if changed:
                self.note(
                    owner,
                    f"the deployed inline policy {name!r} on {holder.logical_id} differs from "
                    "the template",
                )
            if writer.authored:
                self.add(read)
            elif changed:  # AWS wrote the rest: only what was added to it is judged
                kept = tuple(s for s in read.statements if s.path in read.added)
                self.add(replace(read, statements=kept))
        for writer in writers:
            if isinstance(writer.name, str) and writer.name not in deployed:
                owner = writer.owner.logical_id
                self.replaced.add((owner, writer.path))
                self.live.add(owner)
                self.note(
                    owner,
                    f"inline policy {writer.name!r} of the template is not deployed on "
                    f"{holder.logical_id}",
                )

    def _attached(self, holder: Resource, deployed: tuple[Any, ...]) -> None:
        arns = holder.prop("ManagedPolicyArns")
        listed = arns if isinstance(arns, tuple) else ()
        indexed = [(i, a) for i, a in enumerate(listed) if isinstance(a, str)]
        expected = {a for _, a in indexed} | self.attached_by_policy.get(holder.logical_id, set())
        # an unresolved ARN could be any of the deployed ones: no drift can be told
        comparable = len(indexed) == len(listed)
        found: list[Attachment] = []
        for entry in deployed:
            arn = str(entry.get("PolicyArn"))
            index = next((i for i, a in indexed if a == arn), None)
            path = (
                f"Properties.ManagedPolicyArns[{index}]"
                if index is not None
                else f"AttachedPolicies[{arn}]"
            )
            outside = comparable and arn not in expected
            drift = (
                f"{arn} is attached to {holder.logical_id} outside the template" if outside else ""
            )
            found.append(Attachment(arn, path, "live", drift))
            if not outside:
                continue
            self.note(holder.logical_id, drift)
            external = self.snapshot.owner_of(arn, MANAGED_POLICY) is None
            if external and managed_policies.parse_arn(arn) is None:
                document = entry.get("PolicyDocument")
                where = f"{path}.PolicyDocument"
                self.add(live_document(holder, where, document, frozenset(), "customer-managed"))
        deployed_arns = {a.arn for a in found}
        for arn in sorted(expected - deployed_arns) if comparable else ():
            self.note(
                holder.logical_id,
                f"{arn} is attached in the template but not to the deployed {holder.logical_id}",
            )
        self.attachments[holder.logical_id] = tuple(found)

    def read_managed_policy(self, policy: Resource) -> None:
        live = policy.live or EMPTY
        if "PolicyDocument" not in live:
            return
        self.replaced.add((policy.logical_id, POLICY_PATH))
        self.live.add(policy.logical_id)
        expected = template_keys(policy.prop("PolicyDocument"))
        read = live_document(
            policy, POLICY_PATH, live["PolicyDocument"], expected, "customer-managed"
        )
        self.add(read)
        if differs(read, expected):
            self.note(policy.logical_id, "the deployed default version differs from the template")


def live_document(
    owner: Resource,
    path: str,
    document: Any,
    expected: frozenset[str] | None,
    origin: str = "inline",
) -> AuthoredDocument:
    """A deployed document judged under ``owner`` at ``path``; ``expected`` are the template's
    statement keys (None: the template's cannot be compared, empty: the template has none)."""
    if document is None:
        unread = "the deployed policy document could not be read"
        return AuthoredDocument(owner, path, (), False, unread, "live")
    statements, problem = parse_document(document, owner.logical_id, path, origin)
    added = frozenset(
        s.path for s in statements if expected is not None and statement_key(s) not in expected
    )
    return AuthoredDocument(owner, path, statements, False, problem, "live", added)


def differs(document: AuthoredDocument, expected: frozenset[str] | None) -> bool:
    if expected is None or document.problem is not None:
        return False
    return bool(document.added) or frozenset(_keys(document.statements)) != expected


def template_keys(document: Any) -> frozenset[str] | None:
    """The statement keys of a template document; None when it cannot be compared."""
    if contains_unresolved(document):
        return None
    statements, problem = parse_document(document, "", "", "")
    return None if problem else frozenset(_keys(statements))


def statement_key(statement: Statement) -> str:
    """What a statement grants, independent of order, case of actions and single-vs-list."""
    return json.dumps(
        [
            statement.effect,
            statement.not_action,
            sorted(str(a).lower() for a in statement.actions),
            statement.not_resource,
            sorted(str(r) for r in statement.resources),
            _canonical(statement.condition),
        ],
        sort_keys=True,
    )


def _keys(statements: tuple[Statement, ...]) -> tuple[str, ...]:
    return tuple(statement_key(s) for s in statements)


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    values = value if isinstance(value, (list, tuple)) else (value,)
    return sorted(str(v).lower() if isinstance(v, bool) else str(v) for v in values)


def targets_of(snapshot: StackSnapshot, policy: Resource) -> Iterator[Resource]:
    """The stack's roles, users and groups a policy resource is written on or attached to."""
    for prop, holder_type in TARGETS.get(policy.type, ()):
        value = policy.prop(prop)
        for name in value if isinstance(value, tuple) else (value,):
            yield from snapshot.owners_of(name, holder_type)


def _inline_writers(snapshot: StackSnapshot) -> dict[str, list[_InlineWriter]]:
    writers: dict[str, list[_InlineWriter]] = {}
    for holder in snapshot.of_type(*IDENTITY_HOLDERS):
        own = writers.setdefault(holder.logical_id, [])
        for index, path, document in inline_policies(holder):
            name = holder.prop("Policies", index, "PolicyName")
            authored = not sam_generated(snapshot, holder, index)
            own.append(_InlineWriter(name, holder, path, document, authored))
    for policy in snapshot.resources.values():
        if policy.type == MANAGED_POLICY or policy.type not in TARGETS:
            continue
        for holder in targets_of(snapshot, policy):
            writers.setdefault(holder.logical_id, []).append(
                _InlineWriter(
                    policy.prop("PolicyName"),
                    policy,
                    POLICY_PATH,
                    policy.prop("PolicyDocument"),
                    True,
                )
            )
    return writers


def _template_attachments(snapshot: StackSnapshot) -> dict[str, tuple[Attachment, ...]]:
    found: dict[str, tuple[Attachment, ...]] = {}
    for holder in snapshot.of_type(*IDENTITY_HOLDERS):
        arns = holder.prop("ManagedPolicyArns")
        if isinstance(arns, tuple):
            found[holder.logical_id] = tuple(
                Attachment(arn, f"Properties.ManagedPolicyArns[{i}]", "resolved")
                for i, arn in enumerate(arns)
                if isinstance(arn, str)
            )
    return found


def _unseen(snapshot: StackSnapshot) -> dict[str, str]:
    unseen: dict[str, str] = {}
    for gap in snapshot.gaps:
        if gap.what.startswith("iam:") and gap.scope in snapshot.resources:
            unseen.setdefault(gap.scope, f"{gap.what}: {gap.reason}")
    for policy in snapshot.resources.values():
        if policy.type == MANAGED_POLICY or policy.type not in TARGETS:
            continue
        for holder in targets_of(snapshot, policy):
            if holder.logical_id in unseen:
                why = f"{holder.logical_id}'s {unseen[holder.logical_id]}"
                unseen.setdefault(policy.logical_id, why)
    return unseen

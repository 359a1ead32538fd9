"""The value types every step of the data path passes on: stack reference, snapshot, verdicts.

event -> StackRef -> StackSnapshot -> Verdict -> Finding. Everything here is immutable; the
snapshot's mappings are read-only views (``types.MappingProxyType``) and its sequences tuples,
so a rule cannot change what another rule reads.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

EMPTY: Mapping[str, Any] = MappingProxyType({})


class Severity(enum.StrEnum):
    """ASFF severity labels; ``rank`` orders them, 0 being the worst."""

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFORMATIONAL = "INFORMATIONAL"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    def at_least(self, other: Severity) -> bool:
        """True when this severity is as bad as ``other`` or worse."""
        return self.rank <= other.rank

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.strip().upper())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of {names})") from None


_SEVERITY_ORDER = tuple(Severity)


class Side(enum.StrEnum):
    """Which evidence a rule reads (see the rule catalog)."""

    TEMPLATE = "T"  # the template as written
    RESOLVED = "R"  # the resolved resource graph
    LIVE = "L"  # live state from the service APIs
    CROSS = "X"  # a relation between resources


class Outcome(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    UNKNOWN = "UNKNOWN"  # data missing or not resolvable: never counted as PASS


class FindingStatus(enum.StrEnum):
    OPEN = "OPEN"
    SUPPRESSED = "SUPPRESSED"
    RESOLVED = "RESOLVED"


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A value the resolver could not compute (ImportValue, unknown attribute, ...).

    It stands in the resolved graph where the value would be; rules that meet it answer
    UNKNOWN. ``expression`` is the intrinsic as written, for evidence.
    """

    reason: str
    expression: Any = None

    def __str__(self) -> str:
        return f"<unresolved: {self.reason}>"


def is_unresolved(value: Any) -> bool:
    return isinstance(value, Unresolved)


def contains_unresolved(value: Any) -> bool:
    """True when ``value`` or anything nested in it is Unresolved."""
    if isinstance(value, Unresolved):
        return True
    if isinstance(value, Mapping):
        return any(contains_unresolved(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return any(contains_unresolved(v) for v in value)
    return False


def freeze(value: Any) -> Any:
    """Deep read-only copy: dicts become MappingProxyType, lists become tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Plain JSON-like copy of a frozen value (Unresolved becomes its string form)."""
    if isinstance(value, Mapping):
        return {str(k): thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    if isinstance(value, Unresolved):
        return str(value)
    return value


@dataclass(frozen=True, slots=True)
class StackRef:
    """Which stack to audit and why (the parsed event, or the CLI's arguments)."""

    stack_name: str
    account: str = "000000000000"
    region: str = "us-east-1"
    stack_id: str | None = None  # full ARN with UUID when known
    status: str | None = None  # CloudFormation stack status that triggered the audit
    trigger: str = "scan"  # "event", "audit", "sweep" or "scan"
    event_id: str | None = None
    event_time: str | None = None  # ISO 8601, from the event
    client_request_token: str | None = None

    @property
    def stack_key(self) -> str:
        """Stable identity of the stack across re-creations (name, account, region)."""
        return f"{self.account}#{self.region}#{self.stack_name}"


@dataclass(frozen=True, slots=True)
class Gap:
    """Something the audit could not read, and why. Rules over it answer UNKNOWN."""

    scope: str  # logical id, or "stack"
    what: str  # e.g. "lambda:GetFunctionConfiguration", "template", "Fn::ImportValue"
    reason: str  # e.g. "AccessDenied", "NotFound", "Throttling", "unresolved intrinsic"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource of the processed template, resolved against the stack."""

    logical_id: str
    type: str
    properties: Mapping[str, Any]  # resolved (Unresolved markers where unknown), frozen
    raw_properties: Mapping[str, Any]  # processed template as written, frozen
    metadata: Mapping[str, Any] = EMPTY
    deletion_policy: str | None = None
    update_replace_policy: str | None = None
    condition: str | None = None
    depends_on: tuple[str, ...] = ()
    physical_id: str | None = None
    # What Ref and Fn::GetAtt return for this resource: {"Ref": ..., "Arn": ..., "Name": ...}.
    # Live: from the physical id. Scan: synthesised the way CloudFormation names resources
    # (explicit name property, else "<stack>-<LogicalId>-<suffix>"), flagged by ``synthetic``.
    attributes: Mapping[str, Any] = EMPTY
    synthetic_ids: bool = False
    line: int | None = None  # line in the scanned file (of the SAM resource it came from)
    source_logical_id: str | None = None  # SAM resource this one was generated from
    live: Mapping[str, Any] | None = None  # filled by collectors (live side); None = not read

    def prop(self, *path: str | int, default: Any = None) -> Any:
        """Resolved property at ``path`` (keys or list indexes), or ``default``."""
        node: Any = self.properties
        for key in path:
            if isinstance(node, Mapping) and isinstance(key, str):
                if key not in node:
                    return default
                node = node[key]
            elif isinstance(node, tuple) and isinstance(key, int):
                if not -len(node) <= key < len(node):
                    return default
                node = node[key]
            else:
                return default
        return node


@dataclass(frozen=True, slots=True)
class StackSnapshot:
    """Everything a rule may read about one stack. Rules never call AWS."""

    ref: StackRef
    template: Mapping[str, Any]  # as written (Original stage), frozen
    processed: Mapping[str, Any]  # SAM/macros expanded (Processed stage), frozen, unresolved
    resources: Mapping[str, Resource]  # logical id -> resolved resource (active ones only)
    parameters: Mapping[str, Any] = EMPTY  # effective values (NoEcho ones included, never printed)
    no_echo: frozenset[str] = frozenset()  # parameter names whose values must never be shown
    tags: Mapping[str, str] = EMPTY  # stack-level tags (propagate to taggable resources)
    conditions: Mapping[str, bool | Unresolved] = EMPTY
    outputs: Mapping[str, Any] = EMPTY  # output name -> resolved Value
    gaps: tuple[Gap, ...] = ()
    source_file: str | None = None
    transforms: tuple[str, ...] = ()
    last_updated: str | None = None  # ISO 8601 of the deployment being audited
    live_read: bool = False  # True when collectors ran (audit/Lambda), False for scan
    extras: Mapping[str, Any] = field(default=EMPTY)  # account-level live facts (issue 4)
    # Every identifier string of every resource (physical id, name, ARN, queue URL, ...) ->
    # the logical ids carrying it, in template order, so a literal or resolved string can be
    # traced back to the stack's resource. Names are not unique across types (a function and
    # its role are often both "orders-dev"): callers that know what they look for pass types.
    identifiers: Mapping[str, tuple[str, ...]] = EMPTY

    def of_type(self, *types: str) -> Iterator[Resource]:
        """Resources whose type is one of ``types``, in template order."""
        for res in self.resources.values():
            if res.type in types:
                yield res

    def by_physical_id(self) -> Mapping[str, Resource]:
        return {r.physical_id: r for r in self.resources.values() if r.physical_id}

    def owners_of(self, value: Any, *types: str) -> tuple[Resource, ...]:
        """Every stack resource a resolved string names (by name, ARN, URL or physical id),
        restricted to ``types`` when given."""
        if not isinstance(value, str):
            return ()
        found = (self.resources[i] for i in self.identifiers.get(value, ()) if i in self.resources)
        return tuple(r for r in found if not types or r.type in types)

    def owner_of(self, value: Any, *types: str) -> Resource | None:
        """The stack resource a resolved string names, of one of ``types`` when given; the
        first in template order when several resources carry the same name."""
        owners = self.owners_of(value, *types)
        return owners[0] if owners else None

    def gaps_for(self, logical_id: str) -> tuple[Gap, ...]:
        return tuple(g for g in self.gaps if g.scope in (logical_id, "stack"))


@dataclass(frozen=True, slots=True)
class Verdict:
    """A rule's answer about one subject (a resource, or the template when logical_id is None).

    ``path`` names the property the verdict is about ("Properties.BucketName"); it also tells
    two findings of the same rule on the same resource apart, so it is part of the finding id.
    ``evidence`` is JSON-like: at least where the value came from ("template", "resolved",
    "live") and the offending value, never a secret's value.
    """

    rule_id: str
    outcome: Outcome
    logical_id: str | None
    resource_type: str | None
    message: str
    path: str = ""
    evidence: Mapping[str, Any] = EMPTY
    severity: Severity | None = None  # overrides the rule's default (e.g. cfn-lint levels)

"""IAM policy statements and how they match actions and resources.

Plain functions over a normalised ``Statement``: action patterns with ``*``/``?`` wildcards
(case-insensitive, as IAM compares actions), ``NotAction``, resource ARN patterns with
wildcards (case-sensitive), ``NotResource``. Which actions take resource-level permissions
comes from data/iam_actions.json.gz (generated from cfn-lint's copy of the service
authorization reference).

Granting ignores conditions: a conditional Allow counts as granting (the auditor cannot know
the request context), and only an unconditional Deny takes a permission away.
"""

from __future__ import annotations

import enum
import gzip
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from stack_auditor.model import EMPTY, Unresolved


@dataclass(frozen=True, slots=True)
class Statement:
    """One policy statement, normalised (single values become tuples)."""

    effect: str  # "Allow", "Deny", or "" when unresolved
    actions: tuple[Any, ...]  # patterns (str) or Unresolved
    not_action: bool  # True: the statement covers every action *not* in ``actions``
    resources: tuple[Any, ...]  # patterns (str) or Unresolved; ("*",) when absent
    not_resource: bool
    condition: Mapping[str, Any]
    principal: Any  # resource policies only
    holder: str  # logical id of the resource holding the document
    path: str  # "Properties.Policies[0].PolicyDocument.Statement[1]"
    origin: str  # "inline", "customer-managed", "aws-managed", "sam-generated", "resource-policy"
    unresolved: bool = False  # some part of it could not be resolved

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"


def parse_document(
    document: Any, holder: str, path: str, origin: str
) -> tuple[tuple[Statement, ...], str | None]:
    """Statements of a policy document, and why it cannot be read (None when it can)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return (), "policy document is not JSON"
    if isinstance(document, Unresolved):
        return (), f"policy document cannot be resolved ({document})"
    if not isinstance(document, Mapping):
        return (), "policy document is not an object"
    raw = document.get("Statement", ())
    if isinstance(raw, Unresolved):
        return (), f"statement list cannot be resolved ({raw})"
    if isinstance(raw, Mapping):
        items: list[tuple[str, Any]] = [(f"{path}.Statement", raw)]
    elif isinstance(raw, (list, tuple)):
        items = [(f"{path}.Statement[{i}]", s) for i, s in enumerate(raw)]
    else:
        return (), "statement list is not a list"
    return tuple(_statement(s, holder, p, origin) for p, s in items if isinstance(s, Mapping)), None


def _statement(raw: Mapping[str, Any], holder: str, path: str, origin: str) -> Statement:
    effect = raw.get("Effect")
    not_action = "NotAction" in raw
    actions = _as_tuple(raw.get("NotAction" if not_action else "Action"))
    not_resource = "NotResource" in raw
    resources_ = _as_tuple(raw.get("NotResource" if not_resource else "Resource", "*"))
    condition = raw.get("Condition")
    unresolved = isinstance(effect, Unresolved) or any(
        isinstance(v, Unresolved) for v in (*actions, *resources_)
    )
    return Statement(
        effect=effect if isinstance(effect, str) else "",
        actions=actions,
        not_action=not_action,
        resources=resources_,
        not_resource=not_resource,
        condition=condition if isinstance(condition, Mapping) else EMPTY,
        principal=raw.get("Principal"),
        holder=holder,
        path=path,
        origin=origin,
        unresolved=unresolved or isinstance(condition, Unresolved),
    )


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


@cache
def _glob(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


@cache
def any_action_pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One matcher for several action patterns (faster than testing them one by one)."""
    bodies = "|".join(_glob(p, False).pattern for p in patterns) or "(?!)"
    return re.compile(f"(?:{bodies})", re.IGNORECASE | re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """``pattern`` (e.g. ``s3:Get*``) covers ``action`` (e.g. ``s3:GetObject``)?"""
    return _glob(pattern, False).fullmatch(action) is not None


def resource_matches(pattern: str, arn: str) -> bool:
    return _glob(pattern, True).fullmatch(arn) is not None


def covers_action(statement: Statement, action: str) -> bool | None:
    """Does the statement apply to ``action``? None when an unresolved pattern might."""
    hit = any(isinstance(p, str) and action_matches(p, action) for p in statement.actions)
    if not hit and any(isinstance(p, Unresolved) for p in statement.actions):
        return None
    return not hit if statement.not_action else hit


def covers_resource(statement: Statement, arn: str) -> bool | None:
    hit = any(isinstance(p, str) and resource_matches(p, arn) for p in statement.resources)
    if not hit and any(isinstance(p, Unresolved) for p in statement.resources):
        return None
    return not hit if statement.not_resource else hit


class Access(enum.Enum):
    ALLOWED = "allowed"
    NOT_ALLOWED = "not allowed"
    UNKNOWN = "unknown"


def access(
    statements: Iterable[Statement], action: str, arns: Iterable[str], *, complete: bool = True
) -> Access:
    """Whether the statements allow ``action`` on any of ``arns`` (Allow minus explicit Deny).

    ``complete`` False means some of the principal's policies could not be read: what is not
    found allowed is then UNKNOWN rather than NOT_ALLOWED.
    """
    arns = tuple(arns)
    allowed = maybe = False
    denied_arns: set[str] = set()
    statements = tuple(statements)
    for st in statements:
        if st.effect == "Deny" and not st.condition and covers_action(st, action):
            denied_arns.update(a for a in arns if covers_resource(st, a))
    for st in statements:
        if not st.allows and st.effect:
            continue
        act = covers_action(st, action)
        if act is False:
            continue
        for arn in arns:
            if arn in denied_arns:
                continue
            res = covers_resource(st, arn)
            if act and res and st.effect == "Allow":
                allowed = True
            elif res is not False:
                maybe = True
    if allowed:
        return Access.ALLOWED
    if maybe or not complete:
        return Access.UNKNOWN
    return Access.NOT_ALLOWED


@cache
def _actions_by_service() -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    raw = resources.files("stack_auditor.data").joinpath("iam_actions.json.gz").read_bytes()
    data = json.loads(gzip.decompress(raw))
    return {
        service: (frozenset(body["r"].split()), frozenset(body["n"].split()))
        for service, body in data.items()
    }


def service_actions(service: str) -> tuple[str, ...]:
    """Every known action of a service, as ``service:action`` (lower case), sorted."""
    with_resources, without = _actions_by_service().get(service.lower(), (frozenset(), frozenset()))
    return tuple(sorted(f"{service.lower()}:{a}" for a in with_resources | without))


@cache
def supports_resource_level(pattern: str) -> bool:
    """Could a statement with this action pattern be scoped to resources?

    A single action: when it takes resource-level permissions. A wildcard (``s3:Get*``): when
    most of the actions it covers do; ``ec2:Describe*`` covers ~190 actions of which ~17 take
    resources, and nobody scopes it. Unknown services and actions count as supporting them:
    the data lags new actions, and a wildcard resource on an action nobody can look up
    deserves a look.
    """
    service, _, name = pattern.lower().partition(":")
    if not name:
        return pattern == "*"
    if service == "*" or "*" in service or "?" in service:
        return True
    known = _actions_by_service().get(service)
    if known is None:
        return True
    with_resources, without = known
    if "*" not in name and "?" not in name:
        return name in with_resources or name not in without
    matcher = _glob(name, False)
    scoped = sum(1 for a in with_resources if matcher.fullmatch(a))
    unscoped = sum(1 for a in without if matcher.fullmatch(a))
    return scoped > unscoped


def action_strings(statement: Statement) -> Iterator[str]:
    return (a for a in statement.actions if isinstance(a, str))

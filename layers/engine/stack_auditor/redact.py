"""Mask a stack's secret values in any text the auditor writes about it.

Rules name a secret's variable or property, never its value; this is the second line of
defence for the text no rule controls (cfn-lint messages, SAM translation errors, a future
rule's careless message). ``redactor(snapshot)`` collects what counts as secret in that stack:

- values of ``NoEcho`` parameters (given and default);
- string values under a secret-looking name, anywhere in resource properties as written,
  resolved or read live (``MasterUserPassword``, ``SecretString``, ``DB_PASSWORD``; names are
  judged like lambda-env-plaintext-secret judges variable names);
- every environment variable value written literally, of 8 characters or more, that is not
  plainly a setting (one word, ARN, region, number, flag): secrets hide under innocent names
  (``DSN: postgres://user:pw@host``), and no message needs to quote an environment value.

Names of the stack (logical ids, parameter names, resource names and ARNs, the stack name) are
never masked: every message is made of them.

Dynamic references (``{{resolve:secretsmanager:...}}``, ``resolve:ssm-secure:...``) are masked
wherever they appear, secrets or not: their arguments name where a secret is kept.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from stack_auditor.model import EMPTY, Gap, StackSnapshot
from stack_auditor.rules._snapshot_cache import per_snapshot

MASK = "****"
_MAPPINGS = (dict, MappingProxyType)
_SEQUENCES = (list, tuple)
_MIN_SECRET = 4  # shorter values ("no", "1") would mask half of every message
_MIN_NAMED = 6  # under a secret-looking name ("AccessToken: hours" is a setting)
_MIN_ENV_VALUE = 8
_DYNAMIC_REFERENCE = re.compile(r"(\{\{\s*resolve:[A-Za-z-]+:)[^}'\"\s]*(\}\})?")
_BARE_REFERENCE = re.compile(r"\b(resolve:(?:secretsmanager|ssm-secure|ssm):)[^}'\"\s]*")
# Words without digits ("Interface", "orders-service"): names and settings, not secrets.
_WORDS = re.compile(r"^[A-Za-z]+(?:[-_.][A-Za-z]+)*$")
_SETTING = re.compile(
    r"^(?:arn:[\w-]+:|[a-z]{2}(?:-[a-z]+)+-\d+$|\d{12}$|-?\d+(?:\.\d+)?$"
    r"|[a-z0-9.-]+\.amazonaws\.com(?:\.cn)?$"  # service principals
    r"|(?i:true|false|yes|no|required|optional|enabled|disabled|none|auto|default)$)"
)


@dataclass(frozen=True, slots=True)
class Redactor:
    secrets: tuple[str, ...]  # longest first, so a secret containing another is masked whole

    def text(self, value: str) -> str:
        if "resolve:" in value:
            value = _DYNAMIC_REFERENCE.sub(rf"\g<1>{MASK}\g<2>", value)
            value = _BARE_REFERENCE.sub(rf"\g<1>{MASK}", value)
        # One substring search per secret: 6x faster than one regex alternation of them all
        # (1,000 secrets over 2,000 messages: 0.16 s against 1.0 s).
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def value(self, value: Any) -> Any:
        """A JSON-like value with every string (keys included) masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value

    def gap(self, gap: Gap) -> Gap:
        return Gap(gap.scope, gap.what, self.text(gap.reason), self.text(gap.detail))


@per_snapshot
def redactor(snapshot: StackSnapshot) -> Redactor:
    names = _names(snapshot)
    found = set(_no_echo_values(snapshot))
    for resource in snapshot.resources.values():
        found.update(_secrets_in(resource.raw_properties, names, as_written=True))
        found.update(_secrets_in(resource.properties, names, as_written=False))
        found.update(_secrets_in(resource.live, names, as_written=True))
    resources = snapshot.template.get("Resources")
    if isinstance(resources, Mapping):  # inactive ones, and what a failed expansion lost
        for logical_id, body in resources.items():
            if logical_id not in snapshot.resources and isinstance(body, Mapping):
                found.update(_secrets_in(body.get("Properties"), names, as_written=True))
    return Redactor(
        tuple(sorted((s for s in found if len(s) >= _MIN_SECRET), key=len, reverse=True))
    )


def _names(snapshot: StackSnapshot) -> frozenset[str]:
    """Strings that name something of the stack: never secret, and all over the messages."""
    names = {snapshot.ref.stack_name, *snapshot.identifiers}
    for section in ("Resources", "Parameters", "Conditions", "Mappings", "Outputs"):
        declared = snapshot.template.get(section)
        if isinstance(declared, Mapping):
            names.update(str(k) for k in declared)
    names.update(snapshot.resources)
    return frozenset(names)


def _no_echo_values(snapshot: StackSnapshot) -> Iterator[str]:
    declared = snapshot.template.get("Parameters")
    declared = declared if isinstance(declared, Mapping) else EMPTY
    for name in snapshot.no_echo:
        decl = declared.get(name)
        default = decl.get("Default") if isinstance(decl, Mapping) else None
        for value in (snapshot.parameters.get(name), default):
            values = value if isinstance(value, (list, tuple)) else (value,)
            yield from (str(v) for v in values if isinstance(v, (str, int, float)))


@functools.lru_cache(maxsize=4096)  # property and variable names repeat across resources
def _looks_secret(name: str) -> bool:
    # Late import: the naming heuristic belongs to the rule that reports such variables.
    from stack_auditor.rules.lambda_.env_plaintext_secret import looks_secret

    return looks_secret(name)


def _is_intrinsic(value: Mapping[Any, Any]) -> bool:
    if len(value) != 1:
        return False
    (key,) = value
    return isinstance(key, str) and (key in ("Ref", "Condition") or key.startswith("Fn::"))


def _secrets_in(node: Any, names: frozenset[str], *, as_written: bool) -> Iterator[str]:
    """Secret strings of a property tree: under secret-looking keys, and environment values.

    ``as_written``: literals of the template (or live values). Environment values under
    innocent names count only there: a resolved value is built from names and parameters.
    """
    stack: list[tuple[Any, str, bool]] = [(node, "", False)]
    while stack:
        value, key, in_environment = stack.pop()
        kind = type(value)  # concrete types: abc isinstance checks tripled the walk's time
        if kind is str:
            if value in names or _SETTING.match(value):
                continue
            if (len(value) >= _MIN_NAMED and _looks_secret(key)) or (
                in_environment
                and as_written
                and len(value) >= _MIN_ENV_VALUE
                and not _WORDS.match(value)
            ):
                yield value
        elif kind in _MAPPINGS:
            if as_written and _is_intrinsic(value):
                continue  # Ref/GetAtt name things; Sub/Join literals are fragments
            name = value.get("Name")
            if type(name) is str and type(value.get("Value")) is str:
                # {Name, Value} pairs (ECS, CodeBuild environments): judge the value by Name
                stack.append((value["Value"], name, in_environment))
            environment = in_environment or key == "Variables"
            stack.extend((v, str(k), environment) for k, v in value.items())
        elif kind in _SEQUENCES:
            stack.extend((v, key, in_environment) for v in value)

"""The stack's environment (per the catalog's "Environment" paragraph) and what a name expression
references.

Environment: the first stack parameter whose name is in ``config.environment_parameters`` (in
the configured order), else the stack tag ``Environment``; production when the value matches
``config.production_pattern``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import StackSnapshot, Unresolved
from stack_auditor.rules._literals import sub_variables


@dataclass(frozen=True, slots=True)
class Environment:
    parameter: str | None  # the environment parameter's name, None when from the stack tag
    value: Any  # str, or Unresolved when unknown

    def is_production(self, config: AuditConfig) -> bool | None:
        """Production when one word of the value matches the pattern as a whole.

        Words, not substrings: "prod", "prod-eu" and "live" are production; "preprod",
        "nonprod" and "delivery" are not.
        """
        if not isinstance(self.value, str):
            return None
        pattern = _production(config.production_pattern)
        return any(pattern.fullmatch(word) for word in _WORDS.split(self.value) if word)


_WORDS = re.compile(r"[^A-Za-z0-9]+")


@cache
def _production(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def environment_parameter(snapshot: StackSnapshot, config: AuditConfig) -> str | None:
    """Name of the template's environment parameter, or None when it has none."""
    declared = snapshot.template.get("Parameters")
    if not isinstance(declared, Mapping):
        return None
    for name in config.environment_parameters:
        if name in declared:
            return name
    return None


def stack_environment(snapshot: StackSnapshot, config: AuditConfig) -> Environment | None:
    parameter = environment_parameter(snapshot, config)
    if parameter is not None:
        value = snapshot.parameters.get(parameter, Unresolved("parameter value unknown"))
        return Environment(parameter, value)
    tag = snapshot.tags.get("Environment")
    return Environment(None, tag) if tag is not None else None


def referenced_names(expression: Any) -> set[str]:
    """Every name an expression as written refers to: Ref targets, GetAtt resources, Sub vars.

    ``!GetAtt Table.Arn`` and ``${Table.Arn}`` give ``Table``; pseudo parameters keep their
    ``AWS::`` name.
    """
    names: set[str] = set()
    _collect(expression, names)
    return names


def _collect(node: Any, names: set[str]) -> None:
    if isinstance(node, Mapping):
        for key, arg in node.items():
            if key == "Ref" and isinstance(arg, str):
                names.add(arg)
            elif key == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, (list, tuple)) and arg else arg
                if isinstance(target, str):
                    names.add(target.split(".", 1)[0])
            elif key == "Fn::Sub":
                template = arg[0] if isinstance(arg, (list, tuple)) and arg else arg
                if isinstance(template, str):
                    for variable in sub_variables(template):
                        names.add(
                            variable if variable.startswith("AWS::") else variable.split(".")[0]
                        )
                if isinstance(arg, (list, tuple)) and len(arg) > 1:
                    _collect(arg[1], names)
            else:
                _collect(arg, names)
    elif isinstance(node, (list, tuple)):
        for child in node:
            _collect(child, names)


def is_literal(expression: Any) -> bool:
    """True when the expression has no intrinsic function at all (a plain string/number)."""
    return isinstance(expression, (str, int, float)) and not isinstance(expression, bool)

"""The literal text of a template as its author wrote it, with where each piece sits.

The hardcoded-* rules judge what the author typed, not what the resolver computed: a value
that arrives through ``Ref``/``Fn::GetAtt``/``${AWS::Region}`` is portable, the same text typed
literally is not. So this walks the original template (``snapshot.template``) and yields every
literal string: plain strings, the literal parts of ``Fn::Sub`` (each ``${...}`` replaced by
``SUB_VARIABLE``, which no pattern matches), the pieces of ``Fn::Join``/``Fn::Select``/... .
Logical names that are not values (``Ref`` targets, ``GetAtt`` pairs, ``Fn::If`` condition
names, ``FindInMap`` keys, ``ImportValue`` export names) are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from stack_auditor.model import StackSnapshot
from stack_auditor.rules._snapshot_cache import per_snapshot

SUB_VARIABLE = "\x00"  # stands for a ${...} of Fn::Sub in literal text

_SUB_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_SKIPPED_FUNCTIONS = frozenset(
    {"Ref", "Fn::GetAtt", "Fn::FindInMap", "Fn::ImportValue", "Condition", "Fn::Transform"}
)
# The snapshot's containers are frozen dicts and tuples (model.freeze). Checking those concrete
# types rather than the collections.abc ones halves the walk: it visits every value of the
# template for each hardcoded-* rule's index, and abc isinstance checks dominated its profile.
_MAPPING_TYPES = (dict, MappingProxyType)
_SEQUENCE_TYPES = (list, tuple)
PSEUDO_PARAMETERS = ("AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::URLSuffix")


@dataclass(frozen=True, slots=True)
class Literal:
    """One literal string of the template as written."""

    logical_id: str | None  # None for Outputs and Globals
    resource_type: str | None
    path: str  # "Properties.Policies[0].PolicyDocument.Statement[1].Resource"
    key: str  # the nearest mapping key above the value ("Resource", "AWS", "BucketName", ...)
    text: str  # ${...} of a Sub replaced by SUB_VARIABLE
    sub_template: str | None = None  # the whole Fn::Sub string when the text came from one


@per_snapshot
def template_literals(snapshot: StackSnapshot) -> tuple[Literal, ...]:
    """Every literal of resource properties, outputs and SAM Globals, in template order."""
    template = snapshot.template
    found: list[Literal] = []
    resources = template.get("Resources")
    if isinstance(resources, Mapping):
        for logical_id, body in resources.items():
            if not isinstance(body, Mapping):
                continue
            kind = body.get("Type") if isinstance(body.get("Type"), str) else None
            props = body.get("Properties")
            found.extend(_walk(props, "Properties", "", str(logical_id), kind))
    outputs = template.get("Outputs")
    if isinstance(outputs, Mapping):
        for name, body in outputs.items():
            if isinstance(body, Mapping):
                found.extend(_walk(body.get("Value"), f"Outputs.{name}.Value", "Value", None, None))
    globals_ = template.get("Globals")
    if isinstance(globals_, Mapping):
        found.extend(_walk(globals_, "Globals", "", None, None))
    return tuple(found)


def _walk(
    node: Any, path: str, key: str, logical_id: str | None, kind: str | None
) -> Iterator[Literal]:
    node_type = type(node)
    if node_type is str:
        yield Literal(logical_id, kind, path, key, node)
    elif node_type is int:
        # YAML reads an unquoted account id as an int (bool is not int by `type`).
        yield Literal(logical_id, kind, path, key, str(node))
    elif isinstance(node, _MAPPING_TYPES):
        if len(node) == 1:
            ((name, arg),) = node.items()
            if name in _SKIPPED_FUNCTIONS:
                return
            if name == "Fn::Sub":
                yield from _walk_sub(arg, f"{path}.Fn::Sub", key, logical_id, kind)
                return
            if name == "Fn::If" and isinstance(arg, _SEQUENCE_TYPES) and len(arg) == 3:
                yield from _walk(arg[1], f"{path}.Fn::If[1]", key, logical_id, kind)
                yield from _walk(arg[2], f"{path}.Fn::If[2]", key, logical_id, kind)
                return
            if isinstance(name, str) and name.startswith("Fn::"):
                yield from _walk(arg, f"{path}.{name}", key, logical_id, kind)
                return
        for child_key, child in node.items():
            yield from _walk(child, f"{path}.{child_key}", str(child_key), logical_id, kind)
    elif isinstance(node, _SEQUENCE_TYPES):
        for index, child in enumerate(node):
            yield from _walk(child, f"{path}[{index}]", key, logical_id, kind)


def _walk_sub(
    arg: Any, path: str, key: str, logical_id: str | None, kind: str | None
) -> Iterator[Literal]:
    if isinstance(arg, (list, tuple)) and arg:
        template, variables = arg[0], arg[1] if len(arg) > 1 else {}
        path_of_string = f"{path}[0]"
        if isinstance(variables, Mapping):
            for name, value in variables.items():
                yield from _walk(value, f"{path}[1].{name}", key, logical_id, kind)
    else:
        template, path_of_string = arg, path
    if isinstance(template, str):
        yield Literal(logical_id, kind, path_of_string, key, sub_literal_text(template), template)


def sub_literal_text(template: str) -> str:
    """The literal text of a Sub string: ``${X}`` -> SUB_VARIABLE, ``${!X}`` -> ``${X}``."""
    return _SUB_REFERENCE.sub(
        lambda m: "${" + m.group(1)[1:] + "}" if m.group(1).startswith("!") else SUB_VARIABLE,
        template,
    )


def sub_variables(template: str) -> tuple[str, ...]:
    """Names a Sub string refers to (``${Env}`` -> ``Env``, ``${Fn.Arn}`` -> ``Fn.Arn``)."""
    return tuple(
        m.group(1).strip()
        for m in _SUB_REFERENCE.finditer(template)
        if not m.group(1).startswith("!")
    )


def substitute_pseudo_parameters(template: str, snapshot: StackSnapshot) -> str | None:
    """A Sub string with only pseudo parameters, filled in from the snapshot; else None."""
    ref = snapshot.ref
    values = {
        "AWS::AccountId": ref.account,
        "AWS::Region": ref.region,
        "AWS::Partition": partition_of(ref.region),
        "AWS::URLSuffix": "amazonaws.com.cn" if ref.region.startswith("cn-") else "amazonaws.com",
    }
    if any(name not in values for name in sub_variables(template)):
        return None
    return _SUB_REFERENCE.sub(
        lambda m: (
            "${" + m.group(1)[1:] + "}"
            if m.group(1).startswith("!")
            else values[m.group(1).strip()]
        ),
        template,
    )


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"

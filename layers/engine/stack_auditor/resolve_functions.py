"""The intrinsic functions, one small function each: ``(resolver, argument, expression) -> value``.

Split from ``resolve`` so each file stays short; ``HANDLERS`` maps the function names to them.
Any malformed argument becomes ``Unresolved``, never an exception.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stack_auditor.model import Unresolved
from stack_auditor.template.loader import UNKNOWN_TAG

if TYPE_CHECKING:
    from stack_auditor.resolve import Resolver


class _NoValueType:
    """AWS::NoValue: removes the enclosing key or list item."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValueType()

_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


def as_text(value: Any) -> str | None:
    """The string form CloudFormation would use for a scalar, None for anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def first_unresolved(values: Any) -> Unresolved | None:
    for value in values:
        if isinstance(value, Unresolved):
            return value
    return None


def _fn_getatt(r: Resolver, arg: Any, expr: Any) -> Any:
    if isinstance(arg, str):
        head, _, tail = arg.partition(".")
        arg = [head, tail]
    if not isinstance(arg, list) or len(arg) != 2:
        return Unresolved("malformed Fn::GetAtt", expr)
    logical_id, attribute = arg[0], r.resolve(arg[1])
    if isinstance(attribute, Unresolved):
        return attribute
    if not isinstance(logical_id, str) or logical_id not in r.resources:
        return Unresolved(f"Fn::GetAtt of unknown resource {logical_id!r}", expr)
    if not isinstance(attribute, str):
        return Unresolved("Fn::GetAtt attribute is not a string", expr)
    return r.resource_attribute(logical_id, attribute, expr)


def _sub_variable(r: Resolver, name: str, variables: Mapping[str, Any], expr: Any) -> Any:
    name = name.strip()
    if name in variables:
        return variables[name]
    if "." in name and not name.startswith("AWS::"):
        head, _, tail = name.partition(".")
        if head in r.resources:
            return _fn_getatt(r, [head, tail], expr)
    return r.ref(name, expr)


def _fn_sub(r: Resolver, arg: Any, expr: Any) -> Any:
    if isinstance(arg, str):
        text, raw_vars = arg, {}
    elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
        text, raw_vars = arg[0], arg[1]
    else:
        return Unresolved("malformed Fn::Sub", expr)
    variables = r.resolve(raw_vars) if isinstance(raw_vars, Mapping) else {}
    if isinstance(variables, Unresolved):
        return Unresolved(f"Fn::Sub: {variables.reason}", expr)
    parts: list[str] = []
    pos = 0
    for match in _SUB_VAR.finditer(text):
        parts.append(text[pos : match.start()])
        pos = match.end()
        name = match.group(1)
        if name.startswith("!"):
            parts.append("${" + name[1:] + "}")  # ${!Literal} is the escape for ${Literal}
            continue
        value = _sub_variable(r, name, variables, expr)
        if isinstance(value, Unresolved):
            return Unresolved(f"Fn::Sub: {value.reason}", expr)
        piece = as_text(value)
        if piece is None:
            return Unresolved(f"Fn::Sub: ${{{name}}} is not a string", expr)
        parts.append(piece)
    parts.append(text[pos:])
    return "".join(parts)


def _fn_join(r: Resolver, arg: Any, expr: Any) -> Any:
    if not isinstance(arg, list) or len(arg) != 2:
        return Unresolved("malformed Fn::Join", expr)
    delimiter = r.resolve_text(arg[0], expr)
    items = r.resolve_list(arg[1], expr)
    for value in (delimiter, items):
        if isinstance(value, Unresolved):
            return Unresolved(f"Fn::Join: {value.reason}", expr)
    assert isinstance(delimiter, str) and isinstance(items, list)
    texts = []
    for item in items:
        if isinstance(item, Unresolved):
            return Unresolved(f"Fn::Join: {item.reason}", expr)
        text = as_text(item)
        if text is None:
            return Unresolved("Fn::Join: an item is not a string", expr)
        texts.append(text)
    return delimiter.join(texts)


def _fn_select(r: Resolver, arg: Any, expr: Any) -> Any:
    if not isinstance(arg, list) or len(arg) != 2:
        return Unresolved("malformed Fn::Select", expr)
    index = r.resolve(arg[0])
    items = r.resolve_list(arg[1], expr)
    if isinstance(index, Unresolved):
        return index
    if isinstance(items, Unresolved):
        return items
    try:
        position = int(index)
    except (TypeError, ValueError):
        return Unresolved("Fn::Select index is not a number", expr)
    if not 0 <= position < len(items):
        return Unresolved("Fn::Select index out of range", expr)
    return items[position]


def _fn_split(r: Resolver, arg: Any, expr: Any) -> Any:
    if not isinstance(arg, list) or len(arg) != 2:
        return Unresolved("malformed Fn::Split", expr)
    delimiter = r.resolve_text(arg[0], expr)
    source = r.resolve_text(arg[1], expr)
    if isinstance(delimiter, Unresolved):
        return delimiter
    if isinstance(source, Unresolved):
        return source
    if not delimiter:
        return Unresolved("Fn::Split with an empty delimiter", expr)
    return source.split(delimiter)


def _fn_if(r: Resolver, arg: Any, expr: Any) -> Any:
    if not isinstance(arg, list) or len(arg) != 3:
        return Unresolved("malformed Fn::If", expr)
    chosen = r.condition(arg[0])
    if isinstance(chosen, Unresolved):
        return Unresolved(f"Fn::If: {chosen.reason}", expr)
    return r.resolve(arg[1] if chosen else arg[2])


def _fn_equals(r: Resolver, arg: Any, expr: Any) -> Any:
    if not isinstance(arg, list) or len(arg) != 2:
        return Unresolved("malformed Fn::Equals", expr)
    left, right = r.resolve(arg[0]), r.resolve(arg[1])
    unresolved = first_unresolved((left, right))
    if unresolved is not None:
        return unresolved

    # CloudFormation compares values as strings ("1" == 1), lists item by item
    def norm(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return tuple(norm(v) for v in value)
        text = as_text(value)
        return text if text is not None else value

    return norm(left) == norm(right)


def _conditions_of(r: Resolver, arg: Any, expr: Any) -> list[bool | Unresolved] | Unresolved:
    if not isinstance(arg, list) or not arg:
        return Unresolved("malformed condition function", expr)
    return [r.condition_value(item) for item in arg]


def _fn_and(r: Resolver, arg: Any, expr: Any) -> Any:
    values = _conditions_of(r, arg, expr)
    if isinstance(values, Unresolved):
        return values
    if any(v is False for v in values):
        return False
    return first_unresolved(values) or True


def _fn_or(r: Resolver, arg: Any, expr: Any) -> Any:
    values = _conditions_of(r, arg, expr)
    if isinstance(values, Unresolved):
        return values
    if any(v is True for v in values):
        return True
    return first_unresolved(values) or False


def _fn_not(r: Resolver, arg: Any, expr: Any) -> Any:
    values = _conditions_of(r, arg, expr)
    if isinstance(values, Unresolved):
        return values
    if len(values) != 1:
        return Unresolved("Fn::Not takes one condition", expr)
    value = values[0]
    return value if isinstance(value, Unresolved) else not value


def _fn_find_in_map(r: Resolver, arg: Any, expr: Any) -> Any:
    if not isinstance(arg, list) or len(arg) not in (3, 4):
        return Unresolved("malformed Fn::FindInMap", expr)
    default: Any = None
    has_default = False
    if len(arg) == 4:
        options = arg[3]
        if isinstance(options, Mapping) and "DefaultValue" in options:
            has_default = True
            default = options["DefaultValue"]
    keys = [r.resolve(k) for k in arg[:3]]
    unresolved = first_unresolved(keys)
    if unresolved is not None:
        return Unresolved(f"Fn::FindInMap: {unresolved.reason}", expr)
    node: Any = r.mappings
    for key in keys:
        text = as_text(key)
        if isinstance(node, Mapping) and text is not None and text in node:
            node = node[text]
        elif isinstance(node, Mapping) and isinstance(key, (int, float)) and key in node:
            node = node[key]
        else:
            if has_default:
                return r.resolve(default)
            return Unresolved(f"Fn::FindInMap: no entry {keys!r}", expr)
    return r.resolve(node)


def _fn_base64(r: Resolver, arg: Any, expr: Any) -> Any:
    text = r.resolve_text(arg, expr)
    if isinstance(text, Unresolved):
        return Unresolved(f"Fn::Base64: {text.reason}", expr)
    return base64.b64encode(text.encode()).decode()


def _fn_get_azs(r: Resolver, arg: Any, expr: Any) -> Any:
    region = r.resolve(arg)
    if isinstance(region, Unresolved):
        return region
    if region in ("", None):
        region = r.context.region
    if not isinstance(region, str):
        return Unresolved("Fn::GetAZs region is not a string", expr)
    if not r.context.synthetic_azs:
        return Unresolved("Availability Zones of the account are not read", expr)
    return [f"{region}{letter}" for letter in "abc"]


def _fn_cidr(r: Resolver, arg: Any, expr: Any) -> Any:
    if not isinstance(arg, list) or len(arg) != 3:
        return Unresolved("malformed Fn::Cidr", expr)
    values = [r.resolve(v) for v in arg]
    unresolved = first_unresolved(values)
    if unresolved is not None:
        return Unresolved(f"Fn::Cidr: {unresolved.reason}", expr)
    try:
        network = ipaddress.ip_network(str(values[0]), strict=False)
        count, bits = int(values[1]), int(values[2])
        prefix = network.max_prefixlen - bits
        subnets: list[str] = []
        for subnet in network.subnets(new_prefix=prefix):
            if len(subnets) == count:
                break
            subnets.append(str(subnet))
    except (ValueError, TypeError) as exc:
        return Unresolved(f"Fn::Cidr: {exc}", expr)
    if len(subnets) < count:
        return Unresolved("Fn::Cidr: the block is too small", expr)
    return subnets


def _fn_import_value(r: Resolver, arg: Any, expr: Any) -> Any:
    name = r.resolve(arg)
    label = name if isinstance(name, str) else "a computed name"
    return Unresolved(f"Fn::ImportValue {label} (another stack's export)", expr)


def _fn_transform(r: Resolver, arg: Any, expr: Any) -> Any:
    return Unresolved("Fn::Transform is expanded by a macro at deployment", expr)


def _fn_unknown_tag(r: Resolver, arg: Any, expr: Any) -> Any:
    tag = arg.get("Tag") if isinstance(arg, Mapping) else None
    return Unresolved(f"unknown YAML tag {tag} (expanded by a packaging tool, e.g. rain)", expr)


def _fn_length(r: Resolver, arg: Any, expr: Any) -> Any:
    items = r.resolve_list(arg, expr)
    if isinstance(items, Unresolved):
        return items
    return len(items)


def _fn_to_json_string(r: Resolver, arg: Any, expr: Any) -> Any:
    value = r.resolve(arg)
    if _contains_unresolved(value):
        return Unresolved("Fn::ToJsonString of an unresolved value", expr)
    return json.dumps(value, separators=(",", ":"))


def _contains_unresolved(value: Any) -> bool:
    if isinstance(value, Unresolved):
        return True
    if isinstance(value, Mapping):
        return any(_contains_unresolved(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_unresolved(v) for v in value)
    return False


HANDLERS: dict[str, Any] = {
    "Fn::GetAtt": _fn_getatt,
    "Fn::Sub": _fn_sub,
    "Fn::Join": _fn_join,
    "Fn::Select": _fn_select,
    "Fn::Split": _fn_split,
    "Fn::If": _fn_if,
    "Fn::Equals": _fn_equals,
    "Fn::And": _fn_and,
    "Fn::Or": _fn_or,
    "Fn::Not": _fn_not,
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::Base64": _fn_base64,
    "Fn::GetAZs": _fn_get_azs,
    "Fn::Cidr": _fn_cidr,
    "Fn::ImportValue": _fn_import_value,
    "Fn::Transform": _fn_transform,
    "Fn::Length": _fn_length,
    "Fn::ToJsonString": _fn_to_json_string,
    UNKNOWN_TAG: _fn_unknown_tag,
}

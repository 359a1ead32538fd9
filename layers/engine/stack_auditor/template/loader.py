"""Parse a CloudFormation template (JSON or YAML with short tags) into plain long-form data.

Why our own loader rather than cfn-lint's ``cfnlint.decode``: cfn-lint is a dev dependency
only (the Lambda layer ships without it), and its decoder builds ``dict_node``/``str_node``
wrappers with marks on every value, which we would have to strip again. A ``yaml.CSafeLoader``
subclass gives plain dicts/lists and is faster (measured on a 1,000-resource, 170 kB YAML
template: 0.064 s here against 0.108 s for ``cfnlint.decode.cfn_yaml.loads``). We keep the
line of each resource key by composing the node graph first and reading the marks of the
``Resources`` node's keys.

Tags that are not CloudFormation's (``!Rain::Embed``, ``!Rain::Module``, ``!ValueOf``: a
packaging tool expands them before deployment) do not stop the scan: each becomes the marker
``{UNKNOWN_TAG: {"Tag": "!Rain::Embed", "Value": ...}}``, which the resolver turns into an
Unresolved value, and ``LoadedTemplate.unknown_tags`` records where each tag first appears so
the snapshot can say what was not expanded.

Safety: PyYAML shares the constructed object for every alias, so a "billion laughs" document is
cheap to construct but explodes when anything walks it. Before constructing we compute the
expanded size of the node graph (memoised per node, so the check itself is linear) and reject
documents beyond a budget, recursive aliases and absurd nesting depth.

Deep nesting needs care before that: libyaml's C composer recurses once per nesting level on
the C stack (~300 bytes a level), and 100,000 nested ``[`` (200 kB of text) crashed the whole
process with a segmentation fault. So a document goes to the C composer only when a bound of
its nesting depth computed from the text (``_nesting_bound``) is small: every corpus template
but two. The others are composed by PyYAML's Python composer over libyaml's events, which
stops at ``MAX_DEPTH`` with a TemplateError (it loads 40 % slower, which is why it is not the
only path).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer

MAX_TEMPLATE_BYTES = 20 * 1024 * 1024  # CloudFormation itself caps templates at 1 MB
MAX_EXPANDED_NODES = 2_000_000  # nodes after alias expansion
# Values aliases may add on top of the document's own. The snapshot copies what an alias
# shares, and each rule walks the copies: 262,144 values from an 8 kB document took ~3 s to
# scan (a minute on a loaded CI machine). The largest corpus template has 6,662 values in all.
MAX_ALIAS_EXPANSION = 100_000
MAX_DEPTH = 200
MAX_LOGICAL_ID = 255  # CloudFormation's limit
_MAX_REASON = 300  # characters of a rejection reason after the file name

# Marker key of a value under a tag that is not a CloudFormation intrinsic function.
UNKNOWN_TAG = "Fn::UnknownTag"

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_C_COMPOSER_DEPTH = 500  # ~150 kB of C stack: safe even on a 256 kB thread stack
# What can precede a block collection on its line: indentation and indicators (``- - x``,
# ``? - x``), node properties for good measure. YAML 1.1 breaks lines at NEL, U+2028, U+2029 too.
# Possessive: backtracking state for a 2 MB line of "- - - ..." took 190 MB.
_BLOCK_PREFIX = re.compile(
    r"(?:^|(?<=[\r\n\x85\u2028\u2029]))[ \t]*+(?:(?:[-?:]|[&!][^\s]*+)[ \t]++)*+"
)


class TemplateError(Exception):
    """The template cannot be read; ``str()`` is a one-line reason a person can act on."""


@dataclass(frozen=True)
class LoadedTemplate:
    data: dict[str, Any]
    lines: dict[str, int]  # logical id -> 1-based line of its key under Resources
    # non-CloudFormation tag ("!Rain::Embed") -> 1-based line of its first use
    unknown_tags: Mapping[str, int] = field(default_factory=dict)


def _nesting_bound(text: str) -> int:
    """An upper bound of the document's nesting depth, at the speed of C string search.

    A flow collection opens with ``[`` or ``{``: all of them count, quoted or not. A block
    collection starts only in a line's prefix of indentation and indicators, at a column right
    of its parent's (an indentless sequence shares its mapping's column): at most two levels
    per column of the longest prefix.
    """
    flow = text.count("[") + text.count("{")
    if flow > _C_COMPOSER_DEPTH:  # over the limit anyway: skip the slower prefix search
        return flow + 2 * (len(text) + 1)  # no prefix is longer than the text
    return flow + 2 * (max(map(len, _BLOCK_PREFIX.findall(text)), default=0) + 1)


class _CfnLoader(_BaseLoader):
    """Safe loader with CloudFormation short tags, duplicate-key errors, dates as strings."""

    unknown_tags: dict[str, int]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping node, but found {node.id}", node.start_mark
            )
        self.flatten_mapping(node)  # merge keys (<<)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, "found an unhashable key", key_node.start_mark
                )
            if key in mapping:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(f"duplicate key {_shown(key)} at line {line}")


def _shown(value: Any) -> str:
    """A key quoted in a reason: repr'd (escapes, quotes) and cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _DeepCfnLoader(_CfnLoader):
    """_CfnLoader composed in Python, with a depth limit (see the module docstring)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.anchors: dict[str, yaml.Node] = {}
        self.depth = 0

    get_single_node = Composer.get_single_node
    compose_document = Composer.compose_document
    compose_scalar_node = Composer.compose_scalar_node
    compose_sequence_node = Composer.compose_sequence_node
    compose_mapping_node = Composer.compose_mapping_node

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.depth >= MAX_DEPTH and not self.check_event(yaml.AliasEvent, yaml.ScalarEvent):
            raise TemplateError(f"template nests deeper than {MAX_DEPTH} levels")
        self.depth += 1
        try:
            node: yaml.Node = Composer.compose_node(self, parent, index)  # type: ignore[assignment]
        finally:
            self.depth -= 1
        return node


def _construct_node(loader: _CfnLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    assert isinstance(node, yaml.MappingNode)
    return loader.construct_mapping(node, deep=True)


def _function_constructor(name: str) -> Any:
    def construct(loader: _CfnLoader, node: yaml.Node) -> dict[str, Any]:
        return {name: _construct_node(loader, node)}

    return construct


def _construct_getatt(loader: _CfnLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct_node(loader, node)
    if isinstance(value, str):
        # "A.B.C": the logical id has no dots, the attribute may ("Endpoint.Address")
        head, _, tail = value.partition(".")
        return {"Fn::GetAtt": [head, tail] if tail else [head]}
    return {"Fn::GetAtt": value}


def _construct_unknown_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> Any:
    tag = f"!{suffix}"
    loader.unknown_tags.setdefault(tag, node.start_mark.line + 1)
    return {UNKNOWN_TAG: {"Tag": tag, "Value": _construct_node(loader, node)}}


def _install_constructors() -> None:
    for short in (
        "Base64", "Cidr", "FindInMap", "GetAZs", "ImportValue", "Join", "Select", "Split",
        "Sub", "Transform", "And", "Equals", "If", "Not", "Or", "Length", "ToJsonString",
        "ForEach",
    ):  # fmt: skip
        _CfnLoader.add_constructor(f"!{short}", _function_constructor(f"Fn::{short}"))
    _CfnLoader.add_constructor("!Ref", _function_constructor("Ref"))
    _CfnLoader.add_constructor("!Condition", _function_constructor("Condition"))
    _CfnLoader.add_constructor("!GetAtt", _construct_getatt)
    _CfnLoader.add_multi_constructor("!", _construct_unknown_tag)
    # CloudFormation keeps "2012-10-17" as text; PyYAML would make a datetime.date of it
    _CfnLoader.add_constructor("tag:yaml.org,2002:timestamp", _CfnLoader.construct_yaml_str)


_install_constructors()


def _check_graph(root: yaml.Node) -> None:
    """Reject alias bombs, recursive aliases and absurd nesting before constructing anything."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    # iterative post-order walk so deep documents cannot overflow the Python stack
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, expanded = stack.pop()
        key = id(node)
        if depth > MAX_DEPTH:
            raise TemplateError(f"template nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children: list[yaml.Node] = (
            [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if expanded:
            in_progress.discard(key)
            total = 1 + sum(sizes[id(c)] for c in children)
            # len(sizes): distinct nodes so far, so the excess only grows from here
            if total > MAX_EXPANDED_NODES or total - len(sizes) > MAX_ALIAS_EXPANSION:
                raise TemplateError(
                    f"YAML aliases expand the template by more than {MAX_ALIAS_EXPANSION} "
                    "values (alias bomb?); refusing to load it"
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in in_progress:
            raise TemplateError("template contains a recursive YAML alias")
        in_progress.add(key)
        stack.append((node, depth, True))
        for child in children:
            if id(child) not in sizes:
                stack.append((child, depth + 1, False))


def _resource_lines(root: yaml.Node) -> dict[str, int]:
    if not isinstance(root, yaml.MappingNode):
        return {}
    for key_node, value_node in root.value:
        if getattr(key_node, "value", None) == "Resources" and isinstance(
            value_node, yaml.MappingNode
        ):
            return {
                str(k.value): k.start_mark.line + 1
                for k, _ in value_node.value
                if isinstance(k, yaml.ScalarNode)
            }
    return {}


def _one_line(exc: BaseException | str) -> str:
    """A reason on one printable line of bounded length, whatever the exception said."""
    text = " ".join(str(exc).split())
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def _load_yaml(text: str, unknown_tags: dict[str, int]) -> tuple[Any, dict[str, int]]:
    deep = _nesting_bound(text) > _C_COMPOSER_DEPTH
    loader = _DeepCfnLoader(text) if deep else _CfnLoader(text)
    loader.unknown_tags = unknown_tags
    try:
        root = loader.get_single_node()
        if root is None:
            return None, {}
        _check_graph(root)
        data = loader.construct_document(root)
        return data, _resource_lines(root)
    finally:
        loader.dispose()


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key, 0)
        result[key] = value
    return result


def _json_lines(text: str, logical_ids: list[str]) -> dict[str, int]:
    """Lines of the resource keys in a JSON text: search each key in order after "Resources"."""
    start = text.find('"Resources"')
    lines: dict[str, int] = {}
    if start < 0:
        return lines
    pos = start
    for logical_id in logical_ids:
        match = re.compile(r'"' + re.escape(logical_id) + r'"\s*:').search(text, pos)
        if match is None:
            continue
        lines[logical_id] = text.count("\n", 0, match.start()) + 1
        pos = match.end()
    return lines


def _check_json_depth(value: Any) -> None:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise TemplateError(f"template nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def load_template_text(text: str, filename: str | None = None) -> LoadedTemplate:
    """Parse JSON or YAML template text; raises TemplateError with a one-line reason."""
    where = f"{filename}: " if filename else ""
    if len(text) > MAX_TEMPLATE_BYTES:
        raise TemplateError(f"{where}template is larger than {MAX_TEMPLATE_BYTES} bytes")
    data: Any
    lines: dict[str, int]
    unknown_tags: dict[str, int] = {}
    try:
        if text.lstrip().startswith("{"):
            try:
                data = json.loads(text, object_pairs_hook=_json_pairs)
                lines = {}
            except json.JSONDecodeError:
                data, lines = _load_yaml(text, unknown_tags)  # YAML flow style, not strict JSON
            else:
                _check_json_depth(data)
                resources = data.get("Resources") if isinstance(data, dict) else None
                if isinstance(resources, dict):
                    lines = _json_lines(text, list(resources))
        else:
            data, lines = _load_yaml(text, unknown_tags)
    except (TemplateError, _DuplicateKey) as exc:
        raise TemplateError(f"{where}{_one_line(exc)}") from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"{where}not valid YAML/JSON: {_one_line(exc)}") from None
    except RecursionError:  # json's decoder recurses, and gives up far beyond MAX_DEPTH
        raise TemplateError(f"{where}template nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        if "integer string conversion" in str(exc):  # Python's guard against quadratic int()
            raise TemplateError(
                f"{where}template has a number with more than {sys.get_int_max_str_digits()} digits"
            ) from None
        raise TemplateError(f"{where}cannot parse template: {_one_line(exc)}") from None
    except TypeError as exc:
        raise TemplateError(f"{where}cannot parse template: {_one_line(exc)}") from None
    if not isinstance(data, dict):
        raise TemplateError(f"{where}template is not a mapping (got {type(data).__name__})")
    resources = data.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise TemplateError(f"{where}template has no Resources section (or it is empty)")
    bad = [k for k, v in resources.items() if not isinstance(k, str) or not isinstance(v, dict)]
    if bad:
        raise TemplateError(f"{where}resource {_shown(bad[0])} is not a mapping with a Type")
    if any(len(k) > MAX_LOGICAL_ID for k in resources):
        raise TemplateError(
            f"{where}a resource logical id is longer than {MAX_LOGICAL_ID} characters"
        )
    return LoadedTemplate(data=data, lines=lines, unknown_tags=unknown_tags)


def load_template_file(path: str | Path) -> LoadedTemplate:
    """Read and parse a template file; unreadable or unparsable files raise TemplateError."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_TEMPLATE_BYTES:
            raise TemplateError(f"{path}: template is larger than {MAX_TEMPLATE_BYTES} bytes")
        raw = path.read_bytes()
    except OSError as exc:
        raise TemplateError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TemplateError(f"{path}: not a UTF-8 text file") from None
    return load_template_text(text, str(path))

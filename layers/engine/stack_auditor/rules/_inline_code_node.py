"""A heuristic reading of inline Node.js handlers (no JavaScript parser ships with the engine).

It is a heuristic, and says so in its answers:

- Strings and comments are masked first (string contents emptied, a template literal with
  ``${...}`` turned into a non-constant token), so braces and keywords inside them are ignored.
- The handler is found by its export: ``exports.NAME = ...``, ``module.exports.NAME = ...``,
  ``export const NAME = ...``, ``export [async] function NAME``, or an export of a local
  function of that name. Not found -> the caller answers UNKNOWN.
- Trivial: every top-level statement of the handler body is ``console.<level>(...)`` (only
  ``JSON.stringify`` may be called in its arguments), ``return`` of a constant (literals,
  object/array literals of constants, ``JSON.stringify`` of a constant, a local bound to one),
  ``callback(null, <constant>)``, ``'use strict'``, or a ``const/let/var`` bound to a constant.
- Error handling: a ``try { ... } catch``, a ``.catch(`` on a promise, or a logging library
  (Powertools Logger, winston, pino) is present anywhere in the module.
"""

from __future__ import annotations

import re

_EXPORT = (
    r"(?:(?:module\.)?exports\.{name}\s*=|export\s+(?:const|let|var)\s+{name}\s*=)"
    r"\s*(?:async\s+)?(?:function\b[^{{]*|\([^)]*\)\s*=>|[\w$]+\s*=>)\s*"
)
_EXPORT_FUNCTION = r"export\s+(?:async\s+)?function\s+{name}\s*\([^)]*\)\s*"
_EXPORT_ALIAS = r"(?:module\.)?exports\.{name}\s*=\s*([A-Za-z_$][\w$]*)\s*(?:;|$)"
_LOCAL = (
    r"(?:(?:async\s+)?function\s+{name}\s*\([^)]*\)\s*|(?:const|let|var)\s+{name}\s*=\s*"
    r"(?:async\s+)?(?:function\b[^{{]*|\([^)]*\)\s*=>|[\w$]+\s*=>)\s*)"
)
_TOKEN = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*|\d+(?:\.\d+)?|\"\"|\S")
_CONSOLE = re.compile(r"console\.(?:log|info|debug|warn|error)\s*\(")
_CALLEE = re.compile(r"([A-Za-z_$][\w$.]*)\s*\(")
_LITERAL_WORDS = frozenset({"true", "false", "null", "undefined"})
_PUNCTUATION = frozenset({"{", "}", "[", "]", "(", ")", ",", ":", "+", "-", '""'})
_NOT_CONSTANT = "__expression__"
_LOGGING_LIBRARIES = ("@aws-lambda-powertools/logger", "winston", "pino")


def mask(source: str) -> str:
    """The code with comments removed and string contents emptied."""
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif char in "'\"`":
            j, interpolated = i + 1, False
            while j < n and source[j] != char:
                if source[j] == "\\":
                    j += 1
                elif char == "`" and source.startswith("${", j):
                    interpolated = True
                j += 1
            out.append(_NOT_CONSTANT if interpolated else '""')
            i = j + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def handler_body(masked: str, name: str) -> str | None:
    """The handler's body (between its braces, or its arrow expression), or None."""
    escaped = re.escape(name)
    for pattern in (_EXPORT, _EXPORT_FUNCTION):
        found = re.search(pattern.format(name=escaped), masked)
        if found:
            return _body_at(masked, found.end())
    alias = re.search(_EXPORT_ALIAS.format(name=escaped), masked, re.MULTILINE)
    if alias:
        local = re.search(_LOCAL.format(name=re.escape(alias.group(1))), masked)
        if local:
            return _body_at(masked, local.end())
    return None


def _body_at(masked: str, start: int) -> str | None:
    if start < len(masked) and masked[start] == "{":
        end = _matching(masked, start)
        return masked[start + 1 : end] if end is not None else None
    # arrow function with an expression body: the expression is the return value
    expression = re.match(r"[^;\n]*", masked[start:])
    return f"return {expression.group(0)}" if expression else None


def _matching(text: str, start: int) -> int | None:
    depth = 0
    for index in range(start, len(text)):
        if text[index] in "{([":
            depth += 1
        elif text[index] in "})]":
            depth -= 1
            if depth == 0:
                return index
    return None


def _statements(body: str) -> list[str]:
    statements: list[str] = []
    current: list[str] = []
    depth = 0
    for char in body:
        if char in "{([":
            depth += 1
        elif char in "})]":
            depth -= 1
        if depth == 0 and char in ";\n":
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    statements.append("".join(current).strip())
    return [s for s in statements if s]


def is_trivial(body: str) -> bool:
    constants: set[str] = set()
    for statement in _statements(body):
        if statement == '""':  # 'use strict'
            continue
        if _CONSOLE.match(statement):
            if any(
                c != "JSON.stringify" and not c.startswith("console.") for c in _callees(statement)
            ):
                return False
            continue
        binding = re.fullmatch(
            r"(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(.*)", statement, re.S
        )
        if binding and _is_constant(binding.group(2), constants):
            constants.add(binding.group(1))
            continue
        returned = re.fullmatch(r"return\b\s*(.*)", statement, re.S)
        if returned and (not returned.group(1) or _is_constant(returned.group(1), constants)):
            continue
        callback = re.fullmatch(r"callback\s*\(\s*null\s*,(.*)\)", statement, re.S)
        if callback and _is_constant(callback.group(1), constants):
            continue
        return False
    return True


def _callees(statement: str) -> list[str]:
    return _CALLEE.findall(statement)


def _is_constant(expression: str, constants: set[str]) -> bool:
    tokens = _TOKEN.findall(expression)
    if not tokens:
        return False
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        preceding = tokens[index - 1] if index else ""
        if token in _PUNCTUATION or token[0].isdigit():
            continue
        if token in _LITERAL_WORDS or token in constants:
            continue
        if token == "JSON.stringify" and following == "(":
            continue
        if following == ":" and preceding in ("{", ","):  # an object key
            continue
        return False
    return True


def error_handling(source: str, masked: str) -> str | None:
    """What handles or reports errors, or None."""
    if re.search(r"\btry\s*\{", masked) and re.search(r"\bcatch\b", masked):
        return "a try/catch block"
    if re.search(r"\.catch\s*\(", masked):
        return "a .catch() handler"
    for library in _LOGGING_LIBRARIES:
        if re.search(r"(?:require\s*\(|from)\s*['\"]" + re.escape(library), source):
            return f"the {library} logging library"
    return None

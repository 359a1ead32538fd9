"""Find a function's inline code (Code.ZipFile, SAM InlineCode) and judge it, Python via ``ast``.

Shared by lambda-trivial-code and lambda-inline-code-no-error-handling. The code is the
*resolved* ZipFile text (a ``Fn::Sub``/``Fn::Join`` the resolver could compute is analysed as
its result; one it could not is UNKNOWN). SAM's ``InlineCode`` is already ``Code.ZipFile`` in
the processed template. Python is parsed with ``ast``, never matched with regular expressions;
Node.js goes to the documented heuristic in ``_inline_code_node``.

What "trivial" means for a Python handler: after an optional docstring, every statement is
``pass``, a ``print``/logging call whose arguments only format values (``json.dumps``,
``str``, ``repr``, ``.format``; logging the event is not logic), an assignment of a constant
to a local name, or a ``return`` of a constant: a literal, a dict/list/tuple/set of constants,
an f-string of constants, ``json.dumps``/``str`` of a constant, or a local bound to one. A
call to anything else, a branch, a loop, a ``try``, an ``await`` or a use of the event outside
logging is logic.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from stack_auditor.model import Resource, Unresolved, Verdict
from stack_auditor.rule import RuleMeta

Language = Literal["python", "node"]
CODE_PATH = "Properties.Code.ZipFile"

_LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}
)
_LOGGER_NAMES = frozenset({"logging", "logger", "log", "_logger", "_log"})
_FORMAT_CALLS = frozenset({"json.dumps", "str", "repr"})
_LOGGING_MODULES = frozenset({"logging", "aws_lambda_powertools", "structlog", "loguru"})


@dataclass(frozen=True, slots=True)
class InlineCode:
    """A function's inline code as far as it can be read; ``problem`` set means UNKNOWN."""

    inline: bool  # False: the code is a package (S3, CodeUri, image), not in the template
    text: str | None = None
    language: Language | None = None  # None with inline True: a runtime we do not analyse
    runtime: str | None = None
    handler: str | None = None  # function name, "index.handler" -> "handler"
    problem: str | None = None
    handler_problem: str | None = None  # why ``handler`` is None (only the trivial rule needs it)

    @staticmethod
    def unknown(problem: str) -> InlineCode:
        return InlineCode(inline=True, problem=problem)


def where(function: Resource) -> str:
    """How messages name the code: the SAM property when the function came from SAM."""
    sam = " (SAM InlineCode)" if function.source_logical_id else ""
    return f"{function.logical_id} (AWS::Lambda::Function) {CODE_PATH}{sam}"


def inline_code(function: Resource) -> InlineCode:
    """Read the resolved ZipFile, the runtime's language and the handler function name."""
    code = function.prop("Code")
    if isinstance(code, Unresolved):
        return InlineCode.unknown(f"Code cannot be resolved ({code})")
    zip_file = function.prop("Code", "ZipFile")
    if zip_file is None:
        return InlineCode(inline=False)
    if isinstance(zip_file, Unresolved):
        return InlineCode.unknown(f"the inline code cannot be resolved ({zip_file})")
    if not isinstance(zip_file, str):
        return InlineCode.unknown(f"the inline code is not text ({type(zip_file).__name__})")
    runtime = function.prop("Runtime")
    if isinstance(runtime, Unresolved):
        return InlineCode.unknown(f"Runtime cannot be resolved ({runtime})")
    if not isinstance(runtime, str):
        return InlineCode.unknown("no Runtime is set, so the code's language is unknown")
    language: Language | None = (
        "python" if runtime.startswith("python") else "node" if runtime.startswith("node") else None
    )
    handler = function.prop("Handler")
    name = handler.rsplit(".", 1)[-1] if isinstance(handler, str) and handler else None
    problem = (
        f"Handler cannot be resolved ({handler})"
        if isinstance(handler, Unresolved)
        else "no Handler is set"
    )
    return InlineCode(
        inline=True,
        text=zip_file,
        language=language,
        runtime=runtime,
        handler=name,
        handler_problem=None if name else problem,
    )


def analysable_code(meta: RuleMeta, function: Resource) -> InlineCode | Verdict:
    """The function's inline code when a rule can analyse it, else the verdict saying why not:
    packaged code and runtimes without an analyser are NOT_APPLICABLE, inline code that cannot
    be resolved is UNKNOWN."""
    code = inline_code(function)
    if not code.inline:
        return meta.not_applicable(function, "the code is a package, not inline")
    if code.problem:
        return meta.unknown(function, f"{where(function)}: {code.problem}.", path=CODE_PATH)
    if code.language is None:
        return meta.not_applicable(function, f"inline code of runtime {code.runtime} not analysed")
    return code


@lru_cache(maxsize=64)
def parse_python(text: str) -> ast.Module | SyntaxError:
    """The module's tree, or the SyntaxError (both rules parse the same text: parse once)."""
    try:
        return ast.parse(text)
    except SyntaxError as error:
        return error
    except ValueError as error:  # null bytes in the source
        return SyntaxError(str(error))


def syntax_problem(error: SyntaxError) -> str:
    line = f" line {error.lineno}" if error.lineno else ""
    return f"the inline Python does not parse ({error.msg}{line})"


@dataclass(frozen=True, slots=True)
class Triviality:
    """``trivial`` None: the handler could not be judged (``reason`` says why)."""

    trivial: bool | None
    reason: str


def python_triviality(module: ast.Module, handler: str) -> Triviality:
    definition = _handler_definition(module, handler)
    if definition is None:
        if _is_bound(module, handler):
            return Triviality(None, f"handler {handler!r} is bound by an import or assignment")
        return Triviality(
            None, f"no function {handler!r} is defined (invocation fails: HandlerNotFound)"
        )
    constants: set[str] = set()
    body = definition.body
    if body and _is_docstring(body[0]):
        body = body[1:]
    for statement in body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and _is_log_call(statement.value):
            continue
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and _is_constant(statement.value, constants)
        ):
            constants.add(statement.targets[0].id)
            continue
        if isinstance(statement, ast.Return) and (
            statement.value is None or _is_constant(statement.value, constants)
        ):
            continue
        return Triviality(False, f"line {statement.lineno}: {type(statement).__name__.lower()}")
    return Triviality(True, "it only logs and returns a constant")


def python_error_handling(module: ast.Module) -> str | None:
    """What handles or reports errors (a try statement, a logging import), or None."""
    for node in ast.walk(module):
        if isinstance(node, (ast.Try, ast.TryStar)):
            return f"a try statement (line {node.lineno})"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in _LOGGING_MODULES:
                    return f"import {alias.name}"
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0] in _LOGGING_MODULES
        ):
            return f"from {node.module} import ..."
        if isinstance(node, ast.Call) and _is_logger_call(node):
            return f"a logger call (line {node.lineno})"
    return None


def _handler_definition(
    module: ast.Module, name: str
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    found = None
    for statement in module.body:  # the last definition wins, as at import
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
            statement.name == name
        ):
            found = statement
    return found


def _is_bound(module: ast.Module, name: str) -> bool:
    for statement in module.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            if any((a.asname or a.name.split(".")[0]) == name for a in statement.names):
                return True
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
    return False


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def _is_log_call(node: ast.expr) -> bool:
    """A print or logger call that only formats its arguments: not logic."""
    if not isinstance(node, ast.Call):
        return False
    return (_dotted(node.func) == "print" or _is_logger_call(node)) and _only_formats(node)


def _is_logger_call(call: ast.Call) -> bool:
    """``logger.info(...)``, ``logging.error(...)``, ``self.log.warning(...)``..."""
    name = _dotted(call.func)
    if name is None:
        return False
    head, _, method = name.rpartition(".")
    owner = head.rpartition(".")[2].lower()
    return (
        bool(head)
        and method in _LOG_METHODS
        and (owner in _LOGGER_NAMES or owner.endswith("logger"))
    )


def _only_formats(call: ast.Call) -> bool:
    """True when the call's arguments compute nothing but text (no other calls, no await)."""
    for argument in [*call.args, *(k.value for k in call.keywords)]:
        for node in ast.walk(argument):
            if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
                return False
            if isinstance(node, ast.Call):
                name = _dotted(node.func)
                is_format = isinstance(node.func, ast.Attribute) and node.func.attr == "format"
                if name not in _FORMAT_CALLS and not is_format:
                    return False
    return True


def _is_constant(node: ast.expr, constants: set[str]) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id in constants
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return all(_is_constant(e, constants) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _is_constant(k, constants) for k in node.keys) and all(
            _is_constant(v, constants) for v in node.values
        )
    if isinstance(node, ast.JoinedStr):
        return all(_is_constant(v, constants) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        return _is_constant(node.value, constants)
    if isinstance(node, ast.UnaryOp):
        return _is_constant(node.operand, constants)
    if isinstance(node, ast.BinOp):
        return _is_constant(node.left, constants) and _is_constant(node.right, constants)
    if isinstance(node, ast.Call):
        return (
            _dotted(node.func) in _FORMAT_CALLS
            and all(_is_constant(a, constants) for a in node.args)
            and all(_is_constant(k.value, constants) for k in node.keywords)
        )
    return False

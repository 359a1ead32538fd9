"""lambda-inline-code-no-error-handling: inline handler code neither catches nor logs errors.

Template only: the resolved ``Code.ZipFile`` (SAM ``InlineCode``). Python (``ast``): FAIL when
the module has no ``try`` statement anywhere AND no logging (``import logging``, Powertools
``Logger``, structlog, loguru, or a ``logger.<level>(...)`` call); either one -> PASS. ``print``
is not logging. Node.js (heuristic, ``_inline_code_node``): a ``try``/``catch``, a ``.catch(``
or a logging library. Python that does not parse -> UNKNOWN (it cannot be judged); code in a
package -> NOT_APPLICABLE; unresolvable code -> UNKNOWN.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules import _inline_code_node as node
from stack_auditor.rules._inline_code import (
    CODE_PATH,
    analysable_code,
    parse_python,
    python_error_handling,
    syntax_problem,
    where,
)

META = RuleMeta(
    id="lambda-inline-code-no-error-handling",
    title="Inline function code handles or logs its errors",
    severity=Severity.LOW,
    family="Code and template quality",
    subject_types=("AWS::Lambda::Function",),
    sides=frozenset({Side.TEMPLATE}),
    risk=(
        "An unexpected input or a failed call ends the invocation with a bare stack trace: no "
        "context is logged, nothing is cleaned up or reported (custom resources hang until "
        "CloudFormation times out)."
    ),
    remediation=(
        "Wrap the handler's work in try/except, log the failure with context and re-raise (or "
        "report it, e.g. cfnresponse.send(..., FAILED) for a custom resource):\n"
        "  logger = logging.getLogger(); logger.setLevel(logging.INFO)\n"
        "  try: ...\n"
        "  except Exception:\n"
        "      logger.exception('processing failed'); raise"
    ),
    seeds=("000 #5", "002 #3"),
    reference="https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html",
)


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for function in snapshot.of_type("AWS::Lambda::Function"):
        yield _judge(function)


def _judge(function: Resource) -> Verdict:
    code = analysable_code(META, function)
    if isinstance(code, Verdict):
        return code
    place = where(function)
    assert code.text is not None
    if code.language == "python":
        tree = parse_python(code.text)
        if not isinstance(tree, ast.Module):
            return META.unknown(function, f"{place}: {syntax_problem(tree)}.", path=CODE_PATH)
        handled = python_error_handling(tree)
        lacking = "no try/except and no logging (print is not logging)"
    else:
        handled = node.error_handling(code.text, node.mask(code.text))
        lacking = "no try/catch, no .catch() and no logging library (Node.js heuristic)"
    evidence = {"source": "resolved", "runtime": code.runtime}
    if handled is None:
        return META.failed(
            function,
            f"{place}: the inline code has {lacking}; a failure surfaces as a bare error with "
            "no context.",
            path=CODE_PATH,
            evidence=evidence,
        )
    return META.passed(function, path=CODE_PATH, evidence={**evidence, "found": handled})


RULE = Rule(META, check)

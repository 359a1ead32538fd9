"""lambda-trivial-code: a function's inline code is a placeholder ("Hello World", print + return).

Template side: the resolved ``Code.ZipFile`` (SAM ``InlineCode``). The handler named by
``Handler`` ("index.handler" -> function ``handler``) is judged: Python with ``ast``
(``_inline_code``), Node.js with a documented heuristic (``_inline_code_node``). Decisions:

- A handler that only logs and returns a constant is trivial; logging the event is not logic.
- The handler not defined in the code (or bound by an import/assignment) -> UNKNOWN: the code
  may still be real, and a missing handler is a deployment error, not a placeholder.
- Python that does not parse -> UNKNOWN with the syntax error (python2.7-era code does not
  parse as Python 3; it is not a placeholder for that reason).
- Code given by ``Fn::Sub``/``Fn::Join`` is judged as resolved text; unresolvable -> UNKNOWN.
- Code in a package (S3, CodeUri, image) -> NOT_APPLICABLE, in a scan and in a live audit
  alike: the deployed package is not read. ``GetFunction`` gives it only as a presigned S3
  URL (Code.Location); downloading it needs lambda:GetFunction, which exposes every
  function's code to the auditor, and could not be tested here (moto answers with a URL that
  serves nothing). The catalog's L side for packages is therefore not implemented.
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
    python_triviality,
    syntax_problem,
    where,
)

META = RuleMeta(
    id="lambda-trivial-code",
    title="Functions run real code, not a placeholder",
    severity=Severity.MEDIUM,
    family="Code and template quality",
    subject_types=("AWS::Lambda::Function",),
    sides=frozenset({Side.TEMPLATE, Side.LIVE}),
    risk=(
        "A placeholder handler deploys and answers successfully, so the stack looks healthy "
        "while the feature it stands for does nothing."
    ),
    remediation=(
        "Replace the placeholder with the function's real logic (read the event, call the "
        "services it is wired to, return a computed result), or move the code into a package "
        "(CodeUri / S3) built and tested with the application."
    ),
    seeds=("000 #3",),
    reference="https://docs.aws.amazon.com/lambda/latest/dg/python-handler.html",
)


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for function in snapshot.of_type("AWS::Lambda::Function"):
        yield _judge(function)


def _judge(function: Resource) -> Verdict:
    code = analysable_code(META, function)
    if isinstance(code, Verdict):
        return code
    place = where(function)
    if code.handler is None:
        return META.unknown(function, f"{place}: {code.handler_problem}.", path=CODE_PATH)
    assert code.text is not None
    evidence = {"source": "resolved", "runtime": code.runtime, "handler": code.handler}
    if code.language == "python":
        tree = parse_python(code.text)
        if not isinstance(tree, ast.Module):
            return META.unknown(function, f"{place}: {syntax_problem(tree)}.", path=CODE_PATH)
        verdict = python_triviality(tree, code.handler)
        trivial, reason = verdict.trivial, verdict.reason
    else:
        body = node.handler_body(node.mask(code.text), code.handler)
        if body is None:
            return META.unknown(
                function,
                f"{place}: the heuristic finds no exported Node.js handler {code.handler!r}.",
                path=CODE_PATH,
                evidence=evidence,
            )
        trivial = node.is_trivial(body)
        reason = "it only logs and returns a constant (Node.js heuristic)"
    if trivial is None:
        return META.unknown(function, f"{place}: {reason}.", path=CODE_PATH, evidence=evidence)
    if trivial:
        return META.failed(
            function,
            f"{place}: handler {code.handler!r} is a placeholder: {reason}, so the function "
            "does nothing its event sources and permissions suggest.",
            path=CODE_PATH,
            evidence=evidence,
        )
    return META.passed(function, path=CODE_PATH, evidence=evidence)


RULE = Rule(META, check)

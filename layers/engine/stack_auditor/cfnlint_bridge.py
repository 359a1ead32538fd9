"""Run cfn-lint over a snapshot's processed template and turn its matches into verdicts.

Opt-in (``cfn_lint: true`` / ``scan --cfn-lint``): cfn-lint costs ~0.1-2 s per template, far
more than the whole catalog, and is imported here lazily, never when the engine loads. Not
installed (the Lambda layer ships it only when configured) -> one UNKNOWN verdict saying so.

Which template: the processed one (what CloudFormation creates; in a live audit it is
CloudFormation's own Processed stage), carrying the original ``Transform`` declaration so
cfn-lint knows the resources came from SAM and stays quiet where SAM output is expected to
differ from hand-written CloudFormation (unused parameters, needless ``Fn::Sub``). Measured on
the corpus's SAM templates: linting the original instead misses errors inside SAM resources
(cfn-lint 1.x validates them against SAM schemas, e.g. a misspelt Runtime), and linting the
processed template without the declaration adds SAM-only warnings; the cost is the same.

A template the engine could not fully expand (unknown macro, failed SAM translation, a
packaging tool's YAML tag; template-not-expanded reports it) is not linted: cfn-lint would
report the unexpanded input (on the corpus: E3001/E3012/E6101 on every such template), so the
answer is one UNKNOWN. ``Fn::ForEach`` is the exception: cfn-lint expands it itself.

Each match -> FAIL verdict ``cfn-lint/<code>`` with the severity of its level (E -> HIGH,
W -> LOW, I -> INFORMATIONAL; a ``severity_overrides`` entry for the code wins), the logical id
from a ``Resources/<id>/...`` path (else None), the path below it, and cfn-lint's message
(secret values and dynamic references masked by ``redact``: cfn-lint quotes the values it
objects to). ``disabled_rules`` may name single codes. A project's ``.cfnlintrc`` in the
working directory applies, as it would to cfn-lint itself. Parameter values are not passed to
cfn-lint, so it can never echo a secret one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import EMPTY, Outcome, Severity, StackSnapshot, Verdict, thaw

if TYPE_CHECKING:
    from stack_auditor.redact import Redactor

logger = logging.getLogger(__name__)

RULE_ID = "cfn-lint"
LEVEL_SEVERITY = {"E": Severity.HIGH, "W": Severity.LOW, "I": Severity.INFORMATIONAL}
_MESSAGE_LIMIT = 300  # "'x' is not one of [every runtime]" would swamp the alert


def lint_template(snapshot: StackSnapshot) -> dict[str, Any]:
    """The template cfn-lint reads: processed, with the original Transform declaration."""
    template: dict[str, Any] = thaw(snapshot.processed)
    if "Transform" not in template and "Transform" in snapshot.template:
        template["Transform"] = thaw(snapshot.template["Transform"])
    return template


@cache
def _runner(region: str) -> Any:
    """One cfn-lint runner per region: loading its rules costs ~0.2 s, linting reuses them."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(regions=[region]))


def run_cfn_lint(template: Mapping[str, Any], region: str) -> list[Any]:
    """cfn-lint's matches for ``template`` (raises ImportError when cfn-lint is missing)."""
    return list(_runner(region).validate_template(dict(template)))


def cfn_lint_verdicts(snapshot: StackSnapshot, config: AuditConfig) -> Iterator[Verdict]:
    unexpanded = _unexpanded_transforms(snapshot)
    if unexpanded:
        yield _template_verdict(
            Outcome.UNKNOWN,
            f"cfn-lint not run: the template is not fully expanded ({unexpanded}), and linting "
            "the unexpanded input reports errors CloudFormation never sees. Lint the packaged "
            "template, or audit the deployed stack (its processed template).",
        )
        return
    started = time.perf_counter()
    try:
        matches = run_cfn_lint(lint_template(snapshot), snapshot.ref.region)
    except ImportError:
        yield _template_verdict(
            Outcome.UNKNOWN,
            "cfn-lint is enabled (cfn_lint: true) but not installed here: pip install cfn-lint "
            "(or add it to the engine layer) to lint the template.",
        )
        return
    except Exception as error:  # cfn-lint's own failure must not cost the audit
        logger.exception("cfn-lint failed on stack %s", snapshot.ref.stack_name)
        yield _template_verdict(
            Outcome.UNKNOWN,
            _redactor(snapshot).text(
                f"cfn-lint could not lint the template: {type(error).__name__}: {error}"
            ),
        )
        return
    logger.debug("cfn-lint: %d matches in %.3f s", len(matches), time.perf_counter() - started)
    redact = _redactor(snapshot)
    reported = 0
    for match in matches:
        verdict = _verdict(snapshot, config, match, redact)
        if verdict is not None:
            reported += 1
            yield verdict
    if not reported:
        yield _template_verdict(Outcome.PASS, "cfn-lint reports no errors or warnings.")


def _unexpanded_transforms(snapshot: StackSnapshot) -> str:
    """Transforms the engine left unexpanded, except Fn::ForEach (cfn-lint expands it)."""
    return "; ".join(
        gap.detail or gap.reason
        for gap in snapshot.gaps
        if gap.what == "Transform" and "Fn::ForEach" not in gap.detail
    )


def _redactor(snapshot: StackSnapshot) -> Redactor:
    # Late import: redact imports the rules package, which imports this module.
    from stack_auditor.redact import redactor

    return redactor(snapshot)


def _verdict(
    snapshot: StackSnapshot, config: AuditConfig, match: Any, redact: Redactor
) -> Verdict | None:
    code = str(match.rule.id)
    rule_id = f"{RULE_ID}/{code}"
    if rule_id in config.disabled_rules:
        return None
    path = tuple(getattr(match, "path", None) or ())
    logical_id: str | None = None
    below = path
    if len(path) >= 2 and path[0] == "Resources":
        logical_id, below = str(path[1]), path[2:]
    default = LEVEL_SEVERITY.get(code[:1], Severity.MEDIUM)
    message = redact.text(str(match.message))
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 3] + "..."
    where = f"{logical_id} {format_path(below)}" if logical_id else format_path(path)
    return Verdict(
        rule_id=rule_id,
        outcome=Outcome.FAIL,
        logical_id=logical_id,
        resource_type=_resource_type(snapshot, logical_id),
        message=f"cfn-lint {code} at {where or 'the template'}: {message}",
        path=format_path(below),
        evidence={"source": "template", "cfn_lint_rule": code, "level": str(match.rule.severity)},
        severity=config.severity_for(rule_id, default),
    )


def format_path(path: Sequence[Any]) -> str:
    """('Properties', 'Policies', 0, 'Action') -> 'Properties.Policies[0].Action'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _resource_type(snapshot: StackSnapshot, logical_id: str | None) -> str | None:
    if logical_id is None:
        return None
    resource = snapshot.resources.get(logical_id)
    if resource is not None:
        return resource.type
    for section in (snapshot.processed, snapshot.template):
        body = (section.get("Resources") or EMPTY).get(logical_id)
        if isinstance(body, Mapping) and isinstance(body.get("Type"), str):
            return str(body["Type"])
    return None


def _template_verdict(outcome: Outcome, message: str) -> Verdict:
    return Verdict(
        rule_id=RULE_ID,
        outcome=outcome,
        logical_id=None,
        resource_type=None,
        message=message,
        path="",
        evidence={"source": "engine"},
    )

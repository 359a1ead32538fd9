"""template-not-expanded: a transform of the template could not be expanded by the engine.

An engine-level finding, not a catalog row: the snapshot records a gap (``what="Transform"``)
when a macro is unknown, the SAM translation fails, ``Fn::ForEach`` needs expanding, or a
packaging tool's YAML tag (``!Rain::Embed``) is left in the file. What that transform would
produce was then not audited at all, which the report must say rather than look clean. One
template-wide verdict: FAIL (INFORMATIONAL) listing every transform not expanded, else PASS.
Only scans expand transforms locally; a live audit reads CloudFormation's processed template
and has no such gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stack_auditor.config import AuditConfig
from stack_auditor.model import Gap, Outcome, Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._template_resources import written_verdict

META = RuleMeta(
    id="template-not-expanded",
    title="Every transform of the template was expanded and its resources audited",
    severity=Severity.INFORMATIONAL,
    family="Code and template quality",
    subject_types=("*",),
    sides=frozenset({Side.TEMPLATE}),
    risk=(
        "Resources produced by a transform the engine could not expand were not audited: a "
        "clean report says nothing about them."
    ),
    remediation=(
        "Audit the deployed stack (stack-auditor audit, or the Lambda on stack events), which "
        "reads CloudFormation's processed template; scan the packaged template (rain pkg) "
        "rather than the source; or fix the SAM error the finding names (sam validate --lint)."
    ),
    reference="https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-macros.html",
)


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    gaps = [g for g in snapshot.gaps if g.what == "Transform"]
    if not gaps:
        yield written_verdict(META, Outcome.PASS, None, None, META.title, path="Transform")
        return
    described = "; ".join(_describe(gap, snapshot) for gap in gaps)
    yield written_verdict(
        META,
        Outcome.FAIL,
        None,
        None,
        f"Not expanded: {described}. Resources it would produce or change were not audited.",
        path="Transform",
        evidence={
            "source": "template",
            "transforms": [{"reason": g.reason, "detail": g.detail} for g in gaps],
        },
    )


def _describe(gap: Gap, snapshot: StackSnapshot) -> str:
    if gap.reason == "SAM translation failed":
        sam_ids = _serverless_ids(snapshot)
        skipped = f" (skipped: {', '.join(sam_ids)})" if sam_ids else ""
        return f"the SAM transform failed ({gap.detail}){skipped}"
    if gap.reason == "unknown YAML tag":
        return f"the {gap.detail} (a packaging tool such as rain expands it before deployment)"
    if "Fn::ForEach" in gap.detail:
        return "AWS::LanguageExtensions Fn::ForEach loops (the engine does not expand them)"
    return f"the transform {gap.detail or gap.reason} (a macro only CloudFormation can run)"


def _serverless_ids(snapshot: StackSnapshot) -> list[str]:
    written = snapshot.template.get("Resources")
    if not isinstance(written, Mapping):
        return []
    return [
        str(logical_id)
        for logical_id, body in written.items()
        if isinstance(body, Mapping) and str(body.get("Type", "")).startswith("AWS::Serverless::")
    ]


RULE = Rule(META, check)

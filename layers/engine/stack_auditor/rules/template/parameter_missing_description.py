"""parameter-missing-description: a template parameter has no Description.

Parameters are not resources: each verdict is template-wide (logical id None) and its path
``Parameters.<Name>`` keeps the findings of different parameters apart. Read from the template
as written (parameters a macro adds to the processed template are not the author's). An empty
or blank Description counts as missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stack_auditor.config import AuditConfig
from stack_auditor.model import Outcome, Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._template_resources import written_verdict

META = RuleMeta(
    id="parameter-missing-description",
    title="Every template parameter has a Description",
    severity=Severity.INFORMATIONAL,
    family="Code and template quality",
    subject_types=("*",),
    sides=frozenset({Side.TEMPLATE}),
    risk=(
        "Whoever deploys the stack (console, CI, a colleague) must guess what the parameter "
        "controls and which values are safe."
    ),
    remediation=(
        "Give the parameter a Description saying what it controls and its expected values, "
        "e.g.\n  EnvironmentSuffix:\n    Type: String\n"
        "    Description: Suffix appended to resource names (dev, staging, prod)"
    ),
    seeds=("002",),
    reference="https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html",
)


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    declared = snapshot.template.get("Parameters")
    if not isinstance(declared, Mapping):
        return
    for name, body in declared.items():
        path = f"Parameters.{name}"
        description = body.get("Description") if isinstance(body, Mapping) else None
        if isinstance(description, str) and description.strip():
            yield written_verdict(META, Outcome.PASS, None, None, META.title, path=path)
        else:
            yield written_verdict(
                META,
                Outcome.FAIL,
                None,
                None,
                f"Parameter {name} ({path}) has no Description: whoever deploys the stack "
                "must guess what it controls.",
                path=path,
                evidence={"source": "template", "parameter": str(name)},
            )


RULE = Rule(META, check)

"""cfn-lint: cfn-lint's errors and warnings on the processed template, as findings (opt-in).

The catalog row ``cfn-lint``; its verdicts carry ``cfn-lint/<code>`` rule ids and the severity
of cfn-lint's level (findings.meta_for maps them back to this metadata). Runs only when the
policy sets ``cfn_lint: true`` (CLI: ``scan --cfn-lint``); otherwise it yields nothing, and
findings.evaluated_rule_ids leaves it out so stored cfn-lint findings are not resolved. The work
is in ``stack_auditor.cfnlint_bridge``, which imports cfn-lint only when it runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.cfnlint_bridge import RULE_ID, cfn_lint_verdicts
from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta

META = RuleMeta(
    id=RULE_ID,
    title="cfn-lint reports no errors or warnings on the template",
    severity=Severity.LOW,  # each verdict carries its own: E -> HIGH, W -> LOW, I -> INFO
    family="Code and template quality",
    subject_types=("*",),
    sides=frozenset({Side.TEMPLATE}),
    risk=(
        "cfn-lint errors are values CloudFormation or the service rejects (a failed or rolled "
        "back deployment); warnings are settings that deploy but are likely wrong."
    ),
    remediation=(
        "Fix the property cfn-lint names (its message says what is expected; "
        "https://github.com/aws-cloudformation/cfn-lint/blob/main/docs/rules.md explains each "
        "code), or suppress the code with a reason."
    ),
    seeds=("002",),
    reference="https://github.com/aws-cloudformation/cfn-lint",
)


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    if not config.cfn_lint:
        return
    yield from cfn_lint_verdicts(snapshot, config)


RULE = Rule(META, check)

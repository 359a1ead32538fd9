"""s3-bucket-name-not-unique: an explicit BucketName that is not unique across accounts.

Bucket names share one global namespace. The name is unique when the expression as written
references ``AWS::AccountId`` or ``AWS::StackId``; failing that, when its resolved value
contains the account id (a parameter that carries it). Unresolved -> UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Outcome, Severity, Side, StackSnapshot, Verdict, is_unresolved, thaw
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._names import referenced_names
from stack_auditor.rules._template_resources import written_resources, written_verdict

META = RuleMeta(
    id="s3-bucket-name-not-unique",
    title="Explicit bucket names include the account id",
    severity=Severity.MEDIUM,
    family="Portability and naming",
    subject_types=("AWS::S3::Bucket",),
    sides=frozenset({Side.TEMPLATE}),
    risk=(
        "Bucket names are global across all AWS accounts: a name without the account id "
        "can already be taken elsewhere, and the deployment fails."
    ),
    remediation="Add the account id: !Sub '${AWS::StackName}-data-${AWS::AccountId}'.",
    seeds=("001 #6",),
    reference="https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
)

_UNIQUE_SOURCES = frozenset({"AWS::AccountId", "AWS::StackId"})
_PATH = "Properties.BucketName"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    account = snapshot.ref.account
    for logical_id, kind, props in written_resources(snapshot, frozenset(META.subject_types)):
        if "BucketName" not in props:
            yield written_verdict(
                META, Outcome.NOT_APPLICABLE, logical_id, kind, "no explicit BucketName"
            )
            continue
        expression = props["BucketName"]
        names = referenced_names(expression)
        if names & _UNIQUE_SOURCES:
            yield written_verdict(META, Outcome.PASS, logical_id, kind, META.title, path=_PATH)
            continue
        resource = snapshot.resources.get(logical_id)
        resolved = resource.prop("BucketName") if resource else None
        if is_unresolved(resolved):
            yield written_verdict(
                META,
                Outcome.UNKNOWN,
                logical_id,
                kind,
                f"{logical_id} {_PATH} cannot be resolved ({resolved}); cannot tell whether it "
                "contains the account id.",
                path=_PATH,
                evidence={"source": "template", "value": thaw(expression)},
            )
        elif isinstance(resolved, str) and account in resolved:
            yield written_verdict(META, Outcome.PASS, logical_id, kind, META.title, path=_PATH)
        else:
            yield written_verdict(
                META,
                Outcome.FAIL,
                logical_id,
                kind,
                f"{logical_id} (AWS::S3::Bucket) sets {_PATH} without AWS::AccountId: bucket "
                "names are global across all accounts, so the name may already be taken and "
                "the deployment fails.",
                path=_PATH,
                evidence={
                    "source": "template",
                    "value": thaw(expression),
                    # a NoEcho parameter's value is never shown
                    "resolved": None if names & snapshot.no_echo else resolved,
                },
            )


RULE = Rule(META, check)

"""hardcoded-account-id: a 12-digit account id typed literally into the template.

Precision over recall: a 12-digit number is an account id only where an account id goes.
 - the account field of an ARN (``arn:<partition>:<service>:<region>:<ACCOUNT>:...``, also with
   ``${AWS::Partition}``/``${AWS::Region}`` around it in a Sub);
 - the account segment of an SQS queue URL (``amazonaws.com/<ACCOUNT>/queue``) and an ECR
   registry host (``<ACCOUNT>.dkr.ecr.<region>...``);
 - a bare 12-digit value of a key that holds accounts or principals (key name contains
   "Account", "Principal" or "Owner", a ``Principal: {AWS: ...}`` entry, condition keys such as
   ``aws:SourceAccount``).
Other 12-digit numbers (timestamps, sizes, ids of other things) are not reported. Excluded:
accounts AWS owns that a template must name literally (Elastic Load Balancing log-delivery
accounts, per region, from the ELB user guide), ``arn:aws:iam::aws:policy/...`` (not digits),
and Lambda layer version ARNs: layers are shared across accounts and are usually published
by AWS or a vendor (Powertools, Lambda Insights, Datadog...), so the account in them is the
publisher's, valid from every account; only its region is a portability issue, which
hardcoded-region reports. ``${AWS::AccountId}`` never matches: Sub variables are masked
before matching.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Severity, Side, StackSnapshot, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._literals import Literal
from stack_auditor.rules.template._hardcoded import literal_verdicts, where

META = RuleMeta(
    id="hardcoded-account-id",
    title="The template names no AWS account id literally",
    severity=Severity.HIGH,
    family="Portability and naming",
    subject_types=("*",),
    sides=frozenset({Side.TEMPLATE}),
    risk=(
        "A literal account id ties the template to one account: deploying it elsewhere points "
        "at resources the stack does not own, or fails."
    ),
    remediation=(
        "Replace the account id with the pseudo parameter: !Sub "
        "'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/...' or !Ref AWS::AccountId; for "
        "another account's id, take it from a parameter."
    ),
    seeds=("000 #1", "004 #1"),
    reference="https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html",
)

# Elastic Load Balancing log-delivery accounts ("Attach a policy to your S3 bucket", ELB user
# guide). cfn-lint and botocore carry no such list; newer regions use the
# logdelivery.elasticloadbalancing.amazonaws.com service principal instead of an account.
AWS_OWNED_ACCOUNTS = frozenset(
    {
        "127311923021",
        "033677994240",
        "027434742980",
        "797873946194",  # us-east/west
        "098369216593",
        "754344448648",
        "589379963580",
        "718504428378",  # af, ap
        "383597477331",
        "600734575887",
        "114774131450",
        "783225319266",  # ap
        "582318560864",
        "985666609251",
        "054676820928",
        "156460612806",  # ap, ca, eu
        "652711504416",
        "635631232127",
        "009996457667",
        "897822967062",  # eu
        "076674570225",
        "507241528517",
        "048591011584",
        "190560391635",  # me, sa, us-gov
        "638102146993",
        "037604701340",  # cn
    }
)

_ARN_ACCOUNT = re.compile(r"arn:[^:\s\"']+:[^:\s\"']*:[^:\s\"']*:(\d{12})(?![\d])(?!:layer:)")
_QUEUE_URL_ACCOUNT = re.compile(r"amazonaws\.com(?:\.cn)?/(\d{12})(?=/)")
_ECR_ACCOUNT = re.compile(r"(?<![\d])(\d{12})\.dkr\.ecr\.")
_BARE_ACCOUNT = re.compile(r"^\s*(\d{12})(?::root)?\s*$")
_ACCOUNT_KEY = re.compile(r"account|principal|owner|^AWS$", re.IGNORECASE)


def find_account_ids(literal: Literal, snapshot: StackSnapshot) -> tuple[str, ...]:
    text = literal.text
    found: list[str] = []
    if "arn:" in text:
        found += _ARN_ACCOUNT.findall(text)
    if "amazonaws.com" in text:
        found += _QUEUE_URL_ACCOUNT.findall(text)
    if ".dkr.ecr." in text:
        found += _ECR_ACCOUNT.findall(text)
    if _ACCOUNT_KEY.search(literal.key):
        bare = _BARE_ACCOUNT.match(text)
        if bare:
            found.append(bare.group(1))
    return tuple(dict.fromkeys(a for a in found if a not in AWS_OWNED_ACCOUNTS))


def _describe(literal: Literal, found: tuple[str, ...]) -> str:
    ids = ", ".join(found)
    return (
        f"{where(literal)} contains the account id {ids} literally; the template only works in "
        "that account. Use ${AWS::AccountId} (or a parameter for another account)."
    )


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    return literal_verdicts(META, snapshot, find_account_ids, _describe)


RULE = Rule(META, check)

"""s3-bucket-public-access-not-blocked: a bucket whose template does not block public access.

All four flags of ``PublicAccessBlockConfiguration`` (BlockPublicAcls, BlockPublicPolicy,
IgnorePublicAcls, RestrictPublicBuckets) must be true; a flag left out of a present block is
false. Since April 2023 S3 turns the block on for new buckets, and an account-level block may
cover the bucket too, but the catalog fires when the template does not state it: the message
says so. An ``AWS::S3::AccountPublicAccessBlock`` in the same stack with all four flags true
does cover every bucket of the account, so those buckets pass.
Live: ``PublicAccessBlockConfiguration`` (``GetPublicAccessBlock``; None when the bucket has
no block) in ``resource.live`` is what is judged, with the template's block kept for drift.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._live_gap import live_gap
from stack_auditor.rules._observed import NOT_READ, as_bool, observe

META = RuleMeta(
    id="s3-bucket-public-access-not-blocked",
    title="S3 buckets block all public access",
    severity=Severity.HIGH,
    family="Data protection",
    subject_types=("AWS::S3::Bucket",),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "Without the block a public ACL or bucket policy (added later, by anyone with "
        "s3:PutBucketPolicy) exposes the bucket's objects to the internet."
    ),
    remediation=(
        "Set PublicAccessBlockConfiguration: {BlockPublicAcls: true, BlockPublicPolicy: true, "
        "IgnorePublicAcls: true, RestrictPublicBuckets: true}."
    ),
    seeds=("000 #6",),
    reference="https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",
)

FLAGS = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
_PATH = "Properties.PublicAccessBlockConfiguration"


def _flags(block: Any) -> dict[str, Any] | Unresolved | None:
    """Each flag's value (absent: False); None when there is no block at all."""
    if block is None or isinstance(block, Unresolved):
        return block
    if not isinstance(block, Mapping):
        return None
    return {flag: as_bool(block.get(flag, False)) for flag in FLAGS}


def _weak(flags: dict[str, Any] | Unresolved | None) -> list[str] | Unresolved | None:
    """Flags not true; None when there is no block; Unresolved when unknowable."""
    if flags is None or isinstance(flags, Unresolved):
        return flags
    unresolved = [v for v in flags.values() if isinstance(v, Unresolved)]
    weak = [f for f, v in flags.items() if v is not True and not isinstance(v, Unresolved)]
    if unresolved and not weak:
        return unresolved[0]
    return weak


def _account_block(snapshot: StackSnapshot) -> bool:
    for block in snapshot.of_type("AWS::S3::AccountPublicAccessBlock"):
        weak = _weak(_flags(block.prop("PublicAccessBlockConfiguration")))
        if weak == []:
            return True
    return False


def _live_flags(bucket: Resource) -> Any:
    if bucket.live is None or "PublicAccessBlockConfiguration" not in bucket.live:
        return NOT_READ
    return _flags(bucket.live["PublicAccessBlockConfiguration"])


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    account_blocked = _account_block(snapshot)
    for bucket in snapshot.of_type("AWS::S3::Bucket"):
        live = _live_flags(bucket)
        seen = observe(_flags(bucket.prop("PublicAccessBlockConfiguration")), live)
        weak = _weak(seen.value)
        where = f"{bucket.logical_id} (AWS::S3::Bucket) {_PATH}"
        gap = live_gap(snapshot, bucket, "s3") if live is NOT_READ else None
        if gap is not None:
            yield META.unknown(
                bucket,
                f"{where}: the deployed bucket's public access block could not be read "
                f"({gap.what}: {gap.reason}); the template alone cannot show it.",
                path=_PATH,
                evidence={"source": "live", "gap": f"{gap.what}: {gap.reason}"},
            )
        elif weak == []:
            yield META.passed(bucket, path=_PATH, evidence=seen.evidence())
        elif account_blocked:
            yield META.passed(
                bucket,
                "the stack's AWS::S3::AccountPublicAccessBlock blocks public access for every "
                "bucket of the account",
                path=_PATH,
                evidence=seen.evidence(account_block=True),
            )
        elif isinstance(weak, Unresolved):
            yield META.unknown(
                bucket,
                f"{where} cannot be resolved ({weak}).",
                path=_PATH,
                evidence=seen.evidence(),
            )
        elif weak is None and seen.source == "live":
            yield META.failed(
                bucket,
                f"{where}: the deployed bucket has no public access block (GetPublicAccessBlock "
                "finds none), so a public ACL or bucket policy on it takes effect unless an "
                "account-level block covers it. Set all four flags to true." + seen.drift_note(),
                path=_PATH,
                evidence=seen.evidence(),
            )
        elif weak is None:
            yield META.failed(
                bucket,
                f"{where} is missing: the template does not block public ACLs and policies on "
                "this bucket. S3's default for new buckets (since April 2023) or an account-level "
                "block may cover it, but the template does not state it, so a later public "
                "policy or ACL could expose the objects. Set all four flags to true."
                + seen.drift_note(),
                path=_PATH,
                evidence=seen.evidence(),
            )
        else:
            deployed = ": the deployed block" if seen.source == "live" else ""
            yield META.failed(
                bucket,
                f"{where}{deployed} leaves {', '.join(weak)} false (a flag left out counts as "
                "false): a public ACL or bucket policy on this bucket would take effect. Set all "
                "four flags to true." + seen.drift_note(),
                path=_PATH,
                evidence=seen.evidence(weak=weak),
            )


RULE = Rule(META, check)

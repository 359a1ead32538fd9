"""s3-bucket-no-tls-enforcement: a bucket whose policy does not refuse plain-HTTP requests.

S3 answers HTTP as well as HTTPS unless the bucket policy denies it. Enforced means an
``AWS::S3::BucketPolicy`` of the stack whose ``Bucket`` resolves to this bucket has a
statement with Effect Deny, Principal ``*``, Condition ``Bool`` (or ``BoolIfExists``)
``aws:SecureTransport: false`` (string or boolean), actions covering all of S3 (``s3:*`` or
``*``), and resources covering the bucket and its objects (``arn`` and ``arn/*``). When the
bucket's name is unresolved in a scan, policy and bucket are matched by expression as
written (``_bucket_identity``).
Live: the bucket policy (``GetBucketPolicy``, key ``Policy``; None when the bucket has none)
in ``resource.live`` is what is judged; the template's policies are judged too, and a
disagreement is reported as drift.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._iam import Statement, covers_action, parse_document
from stack_auditor.rules._live_gap import live_gap, unread
from stack_auditor.rules._snapshot_cache import per_snapshot
from stack_auditor.rules.s3._bucket_identity import bucket_arns, covers, policy_names_bucket

META = RuleMeta(
    id="s3-bucket-no-tls-enforcement",
    title="S3 bucket policies deny requests that do not use TLS",
    severity=Severity.MEDIUM,
    family="Data protection",
    subject_types=("AWS::S3::Bucket",),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "Without a deny on aws:SecureTransport false, clients may read and write objects over "
        "plain HTTP, exposing data and credentials-signed requests in transit."
    ),
    remediation=(
        "Add to the bucket's AWS::S3::BucketPolicy: {Sid: DenyInsecureTransport, Effect: Deny, "
        "Principal: '*', Action: 's3:*', Resource: [!GetAtt Bucket.Arn, !Sub "
        "'${Bucket.Arn}/*'], Condition: {Bool: {'aws:SecureTransport': 'false'}}}."
    ),
    seeds=("000 #6",),
    reference="https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html",
)

_PATH = "BucketPolicy.PolicyDocument"  # the bucket's policy, wherever it is attached
_ALL_S3 = ("s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject")


@dataclass
class _Policies:
    by_bucket: dict[str, list[tuple[Resource, Any]]] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)  # policies whose Bucket is unknown


@per_snapshot
def _bucket_policies(snapshot: StackSnapshot) -> _Policies:
    found = _Policies()
    for policy in snapshot.of_type("AWS::S3::BucketPolicy"):
        bucket = policy.prop("Bucket")
        owner = snapshot.owner_of(bucket, "AWS::S3::Bucket")
        if isinstance(bucket, Unresolved):
            # the name is unknown in this scan: match the expression as written
            buckets = snapshot.of_type("AWS::S3::Bucket")
            owner = next((b for b in buckets if policy_names_bucket(policy, b)), None)
            if owner is None:
                found.unresolved.append(policy.logical_id)
        if owner is not None and owner.type == "AWS::S3::Bucket":
            found.by_bucket.setdefault(owner.logical_id, []).append(
                (policy, policy.prop("PolicyDocument"))
            )
    return found


def _principal_is_everyone(principal: Any) -> bool | None:
    if isinstance(principal, Unresolved):
        return None
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        aws = principal.get("AWS")
        values = aws if isinstance(aws, tuple) else (aws,)
        return "*" in values
    return False


def _denies_plain_http(condition: Mapping[str, Any]) -> bool:
    for operator in ("Bool", "BoolIfExists"):
        block = condition.get(operator)
        if not isinstance(block, Mapping):
            continue
        for key, value in block.items():
            values = value if isinstance(value, tuple) else (value,)
            if key.lower() == "aws:securetransport" and any(
                v is False or (isinstance(v, str) and v.lower() == "false") for v in values
            ):
                return True
    return False


def _shortfalls(statement: Statement, arns: tuple[str, ...]) -> dict[str, bool | None]:
    """What a Deny-on-plain-HTTP statement must cover -> whether it does (None: unknown)."""
    actions = [covers_action(statement, action) for action in _ALL_S3]
    return {
        "Principal '*'": _principal_is_everyone(statement.principal),
        "every S3 action": None if None in actions else all(actions),
        "the bucket ARN": False
        if statement.not_resource
        else covers(statement.resources, arns, ""),
        "its objects (ARN/*)": False
        if statement.not_resource
        else covers(statement.resources, arns, "/object"),
    }


def _enforces(statement: Statement, arns: tuple[str, ...]) -> tuple[bool | None, list[str]]:
    """Does the statement deny every S3 action over plain HTTP on bucket and objects?

    Also what a statement that denies plain HTTP leaves out, for the message.
    """
    if statement.effect != "Deny" or not _denies_plain_http(statement.condition):
        return (False if statement.effect else None), []
    checks = _shortfalls(statement, arns)
    values = list(checks.values())
    if all(values):
        return True, []
    missing = [what for what, covered in checks.items() if covered is False]
    return (None if not missing else False), missing


@dataclass
class _Assessment:
    """What one side's policies say about plain HTTP."""

    enforced: bool | None  # None: cannot tell
    policies: list[str] = field(default_factory=list)  # holders read
    statement: str = ""  # the enforcing statement's path
    near_misses: list[str] = field(default_factory=list)
    unsure: list[str] = field(default_factory=list)

    def evidence(self, source: str) -> dict[str, Any]:
        if self.enforced:
            policy = self.policies[-1] if self.policies else None
            return {"source": source, "policy": policy, "statement": self.statement}
        return {"source": source, "policies": self.policies, "partial": self.near_misses}


def _assess(
    documents: Iterable[tuple[str, str, Any]], arns: tuple[str, ...], unresolved: Iterable[str]
) -> _Assessment:
    """(holder, label for messages, document) of one side -> whether they enforce TLS."""
    found = _Assessment(enforced=False)
    for holder, label, document in documents:
        found.policies.append(holder)
        statements, problem = parse_document(document, holder, "Properties.PolicyDocument", "")
        if problem:
            found.unsure.append(f"{label}: {problem}")
        for statement in statements:
            verdict, missing = _enforces(statement, arns)
            if missing:
                found.near_misses.append(
                    f"{label} {statement.path} denies plain HTTP but not on {', '.join(missing)}"
                )
            if verdict:
                found.enforced, found.statement = True, statement.path
                return found
            if verdict is None:
                found.unsure.append(f"{label} {statement.path}")
    found.unsure += [f"{p}: Bucket cannot be resolved" for p in unresolved]
    if found.unsure:
        found.enforced = None
    return found


def _written(snapshot: StackSnapshot, bucket: Resource) -> _Assessment:
    """The stack's AWS::S3::BucketPolicy resources attached to the bucket, as resolved."""
    policies = _bucket_policies(snapshot)
    documents = [
        (policy.logical_id, policy.logical_id, document)
        for policy, document in policies.by_bucket.get(bucket.logical_id, ())
    ]
    return _assess(documents, bucket_arns(bucket), policies.unresolved)


def _deployed(bucket: Resource) -> _Assessment | None:
    """The bucket's live policy (``GetBucketPolicy``; None: it has none); None if not read."""
    if bucket.live is None or "Policy" not in bucket.live:
        return None
    document = bucket.live["Policy"]
    documents = [] if document is None else [(bucket.logical_id, "the deployed policy", document)]
    return _assess(documents, bucket_arns(bucket), ())


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for bucket in snapshot.of_type("AWS::S3::Bucket"):
        yield _judge(snapshot, bucket)


def _judge(snapshot: StackSnapshot, bucket: Resource) -> Verdict:
    where = f"{bucket.logical_id} (AWS::S3::Bucket)"
    written = _written(snapshot, bucket)
    live = _deployed(bucket)
    if live is None and (gap := live_gap(snapshot, bucket, "s3")):
        return unread(META, bucket, gap, _PATH, "bucket policy", "whether plain HTTP is denied")
    seen = live or written
    source = "resolved" if live is None else "live"
    evidence = seen.evidence(source)
    # drift: the deployed policy disagrees with what the template attaches
    drift = live is not None and written.enforced is not None and live.enforced != written.enforced
    if drift:
        evidence["template"] = written.evidence("resolved")
    if seen.enforced:
        return META.passed(bucket, path=_PATH, evidence=evidence)
    if seen.enforced is None:
        return META.unknown(
            bucket,
            f"{where}: cannot tell whether {'its deployed' if live else 'a'} bucket policy "
            f"denies aws:SecureTransport false ({'; '.join(seen.unsure)}).",
            path=_PATH,
            evidence=evidence,
        )
    if seen.near_misses:
        found = f"{'; '.join(seen.near_misses)}. It needs a"
    elif live is not None:
        found = (
            "the deployed bucket policy has no"
            if seen.policies
            else "the deployed bucket has no bucket policy (GetBucketPolicy), so no"
        )
    elif seen.policies:
        found = f"its bucket policy ({', '.join(seen.policies)}) has no"
    else:
        found = "no AWS::S3::BucketPolicy of the stack attaches a"
    note = ""
    if drift:
        note = (
            f" The template's bucket policy ({', '.join(written.policies)}) does deny plain "
            "HTTP: the deployed policy was changed outside CloudFormation (drift)."
        )
    return META.failed(
        bucket,
        f"{where}: {found} Deny statement for Principal '*' on s3:* over the bucket and its "
        "objects with Condition Bool aws:SecureTransport 'false', so S3 also serves this "
        f"bucket over plain HTTP. Add that statement to the bucket policy.{note}",
        path=_PATH,
        evidence=evidence,
    )


RULE = Rule(META, check)

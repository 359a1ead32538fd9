"""kms-key-rotation-disabled: a symmetric customer managed key without automatic rotation.

Automatic rotation exists only for symmetric encryption keys (``KeySpec`` absent or
``SYMMETRIC_DEFAULT``) whose key material KMS generated (``Origin`` absent or ``AWS_KMS``);
asymmetric and HMAC keys, and keys with imported or external key material, cannot rotate
automatically and are not applicable. ``EnableKeyRotation`` defaults to false.
Live: ``KeyRotationEnabled`` (``GetKeyRotationStatus``; ``KeyMetadata`` when a collector read it)
in ``resource.live``: the live status is judged, and rotation turned off or on outside
CloudFormation is reported as drift; a key whose status could not be read is UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._live_gap import live_gap, unread
from stack_auditor.rules._observed import NOT_READ, as_bool, judge, observe

META = RuleMeta(
    id="kms-key-rotation-disabled",
    title="Symmetric customer managed KMS keys rotate automatically",
    severity=Severity.MEDIUM,
    family="Data protection",
    subject_types=("AWS::KMS::Key",),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "Key material that never rotates protects ever more data for ever longer, widening "
        "the impact of its compromise; many compliance frameworks require yearly rotation."
    ),
    remediation="Set EnableKeyRotation: true on the AWS::KMS::Key.",
    seeds=("004 #8",),
    reference="https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html",
)

_PATH = "Properties.EnableKeyRotation"


def _setting(key: Resource, prop: str, live_field: str, default: str) -> Any:
    metadata = key.live.get("KeyMetadata") if key.live is not None else None
    if metadata and live_field in metadata:
        return metadata[live_field]
    value = key.prop(prop)
    return default if value is None else value


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for key in snapshot.of_type("AWS::KMS::Key"):
        yield _judge(snapshot, key)


def _judge(snapshot: StackSnapshot, key: Resource) -> Verdict:
    where = f"{key.logical_id} (AWS::KMS::Key)"
    spec = _setting(key, "KeySpec", "KeySpec", "SYMMETRIC_DEFAULT")
    origin = _setting(key, "Origin", "Origin", "AWS_KMS")
    for name, value in (("KeySpec", spec), ("Origin", origin)):
        if isinstance(value, Unresolved):
            return META.unknown(
                key, f"{where} Properties.{name} cannot be resolved ({value}).", path=_PATH
            )
    if spec != "SYMMETRIC_DEFAULT":
        return META.not_applicable(key, f"KeySpec {spec} does not support automatic rotation")
    if origin != "AWS_KMS":
        return META.not_applicable(key, f"Origin {origin}: key material KMS cannot rotate")
    live = NOT_READ
    if key.live is not None and "KeyRotationEnabled" in key.live:
        live = key.live["KeyRotationEnabled"] is True
    elif gap := live_gap(snapshot, key, "kms"):
        return unread(META, key, gap, _PATH, "key's rotation status", "it")
    written = as_bool(key.prop("EnableKeyRotation"))
    seen = observe(written if isinstance(written, Unresolved) else written is True, live)
    return judge(
        META,
        key,
        seen,
        _PATH,
        ("is not enabled on the deployed key (live)" if seen.source == "live" else "is not true")
        + ": this symmetric customer managed key never rotates its key material. Set "
        "EnableKeyRotation: true (KMS then rotates it yearly, or per RotationPeriodInDays).",
    )


RULE = Rule(META, check)

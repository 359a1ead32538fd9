"""stateful-resource-retention-mismatch: a stateful resource's retention does not fit the
stack's environment.

Stateful resources: DynamoDB tables and global tables, RDS DB instances and clusters, S3
buckets, KMS keys (the catalog's list). The environment comes from ``_names.stack_environment``
(the catalog's "Environment" paragraph).

- Production: the data must survive a stack deletion or a removal from the template, so
  ``DeletionPolicy`` must be ``Retain``, ``RetainExceptOnCreate`` or ``Snapshot``, or deletion
  protection must be on (RDS ``DeletionProtection``; DynamoDB ``DeletionProtectionEnabled``
  counts too, as it equally stops CloudFormation from deleting the table). RDS clusters and
  standalone instances default to ``Snapshot`` (CloudFormation's documented exception), so they
  pass without a policy; an explicit ``Delete`` fails.
- Non-production: test environments must be destroyable (seed 004 #9): deletion protection,
  or a ``Retain``/``RetainExceptOnCreate`` policy that leaves the resource behind, fails.
  ``Snapshot`` (RDS's default) does not block the teardown and passes.

No environment signal at all (no environment parameter, no ``Environment`` stack tag):
NOT_APPLICABLE, the rule cannot judge. An environment parameter without a known value, or a
``DeletionPolicy`` intrinsic that cannot be resolved: UNKNOWN. Aurora member instances are
NOT_APPLICABLE: their cluster holds the data and is judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules._names import Environment, stack_environment

META = RuleMeta(
    id="stateful-resource-retention-mismatch",
    title="Stateful resources are retained in production and destroyable elsewhere",
    severity=Severity.MEDIUM,
    family="Data protection",
    subject_types=(
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
    ),
    sides=frozenset({Side.RESOLVED}),
    risk=(
        "Production: deleting the stack (or the resource from the template) destroys the data "
        "or the key that decrypts it. Non-production: the stack cannot be torn down cleanly and "
        "left-behind resources keep costing."
    ),
    remediation=(
        "Production: DeletionPolicy: Retain (Snapshot for RDS) and UpdateReplacePolicy: Retain, "
        "or DeletionProtection: true. Non-production: DeletionPolicy: Delete and "
        "DeletionProtection: false, e.g. DeletionPolicy: !If [IsProduction, Retain, Delete] "
        "with Transform: AWS::LanguageExtensions."
    ),
    seeds=("004 #9",),
    reference="https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html",
)

_RETAINING = frozenset({"Retain", "RetainExceptOnCreate"})
_KEEPING = _RETAINING | {"Snapshot"}
_PROTECTION = {
    "AWS::RDS::DBInstance": "DeletionProtection",
    "AWS::RDS::DBCluster": "DeletionProtection",
    "AWS::DynamoDB::Table": "DeletionProtectionEnabled",
}


@dataclass(frozen=True, slots=True)
class _Retention:
    policy: str  # effective DeletionPolicy
    default: bool  # True when the template sets none
    protection: bool | Unresolved
    protection_path: str


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    stateful = [r for r in snapshot.resources.values() if r.type in META.subject_types]
    if not stateful:
        return
    environment = stack_environment(snapshot, config)
    for resource in stateful:
        yield _judge(snapshot, config, resource, environment)


def _judge(
    snapshot: StackSnapshot,
    config: AuditConfig,
    resource: Resource,
    environment: Environment | None,
) -> Verdict:
    where = f"{resource.logical_id} ({resource.type})"
    if resource.type == "AWS::RDS::DBInstance" and resource.prop("DBClusterIdentifier") is not None:
        return META.not_applicable(resource, "Aurora instance: retention is judged on its cluster")
    if environment is None:
        return META.not_applicable(
            resource, "no environment parameter or Environment stack tag: cannot judge retention"
        )
    production = environment.is_production(config)
    evidence = _environment_evidence(snapshot, environment)
    if production is None:
        return META.unknown(
            resource,
            f"{where}: the stack's environment ({evidence['environment_from']}) has no known "
            "value; cannot tell which retention it needs.",
            path="DeletionPolicy",
            evidence=evidence,
        )
    retention = _retention(snapshot, resource)
    if isinstance(retention, Unresolved):
        return META.unknown(
            resource,
            f"{where} DeletionPolicy cannot be resolved ({retention}).",
            path="DeletionPolicy",
            evidence=evidence,
        )
    evidence |= {
        "deletion_policy": retention.policy,
        "deletion_policy_default": retention.default,
        "deletion_protection": str(retention.protection)
        if isinstance(retention.protection, Unresolved)
        else retention.protection,
    }
    if production:
        return _judge_production(resource, retention, evidence)
    return _judge_non_production(resource, retention, evidence)


def _judge_production(
    resource: Resource, retention: _Retention, evidence: dict[str, Any]
) -> Verdict:
    where = f"{resource.logical_id} ({resource.type})"
    if retention.policy in _KEEPING or retention.protection is True:
        return META.passed(resource, path="DeletionPolicy", evidence=evidence)
    if isinstance(retention.protection, Unresolved):
        return META.unknown(
            resource,
            f"{where} {retention.protection_path} cannot be resolved ({retention.protection}).",
            path=retention.protection_path,
            evidence=evidence,
        )
    policy = "is not set (default: Delete)" if retention.default else "is Delete"
    protection = " and deletion protection is off" if retention.protection_path else ""
    return META.failed(
        resource,
        f"{where} DeletionPolicy {policy}{protection} in a production stack "
        f"({evidence['environment']!r}): deleting the stack or removing the resource from the "
        "template destroys its data. Set DeletionPolicy: Retain (Snapshot for RDS) and "
        "UpdateReplacePolicy: Retain.",
        path="DeletionPolicy",
        evidence=evidence,
    )


def _judge_non_production(
    resource: Resource, retention: _Retention, evidence: dict[str, Any]
) -> Verdict:
    where = f"{resource.logical_id} ({resource.type})"
    blockers = []
    if retention.protection is True:
        blockers.append((retention.protection_path, f"{retention.protection_path} is true"))
    if retention.policy in _RETAINING:
        blockers.append(("DeletionPolicy", f"DeletionPolicy is {retention.policy}"))
    if blockers:
        return META.failed(
            resource,
            f"{where} {' and '.join(text for _p, text in blockers)} in a non-production stack "
            f"({evidence['environment']!r}): test environments must be destroyable, but this "
            "blocks or outlives the stack's deletion and keeps costing. Use DeletionPolicy: "
            "Delete and no deletion protection outside production.",
            path=blockers[0][0],
            evidence=evidence,
        )
    if isinstance(retention.protection, Unresolved):
        return META.unknown(
            resource,
            f"{where} {retention.protection_path} cannot be resolved ({retention.protection}).",
            path=retention.protection_path,
            evidence=evidence,
        )
    return META.passed(resource, path="DeletionPolicy", evidence=evidence)


def _retention(snapshot: StackSnapshot, resource: Resource) -> _Retention | Unresolved:
    bodies = snapshot.processed.get("Resources")
    body = bodies.get(resource.logical_id) if isinstance(bodies, Mapping) else None
    declared = isinstance(body, Mapping) and "DeletionPolicy" in body
    policy = resource.deletion_policy
    if declared and policy is None:
        return Unresolved("intrinsic DeletionPolicy", body["DeletionPolicy"])  # type: ignore[index]
    if policy is None:
        # CloudFormation's documented exception: RDS clusters and standalone instances.
        rds = resource.type in ("AWS::RDS::DBCluster", "AWS::RDS::DBInstance")
        policy = "Snapshot" if rds else "Delete"
    protection, path = _protection(resource)
    return _Retention(policy, not declared, protection, path)


def _protection(resource: Resource) -> tuple[bool | Unresolved, str]:
    if resource.type == "AWS::DynamoDB::GlobalTable":
        replicas = resource.prop("Replicas")
        if isinstance(replicas, Unresolved):
            return replicas, "Properties.Replicas"
        flags = [
            _flag(r.get("DeletionProtectionEnabled"))
            for r in replicas or ()
            if isinstance(r, Mapping)
        ]
        unresolved = next((f for f in flags if isinstance(f, Unresolved)), None)
        if True in flags:
            return True, "Properties.Replicas[*].DeletionProtectionEnabled"
        return unresolved or False, "Properties.Replicas[*].DeletionProtectionEnabled"
    name = _PROTECTION.get(resource.type)
    if name is None:
        return False, ""
    return _flag(resource.prop(name)), f"Properties.{name}"


def _flag(value: Any) -> bool | Unresolved:
    if isinstance(value, Unresolved):
        return value
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _environment_evidence(snapshot: StackSnapshot, environment: Environment) -> dict[str, Any]:
    origin = (
        f"parameter {environment.parameter}" if environment.parameter else "stack tag Environment"
    )
    value: Any = environment.value
    if environment.parameter in snapshot.no_echo or isinstance(value, Unresolved):
        value = None
    return {"source": "resolved", "environment_from": origin, "environment": value}


RULE = Rule(META, check)

"""rds-storage-unencrypted: an RDS DB instance or cluster stores data unencrypted.

``StorageEncrypted`` defaults to false, and encryption cannot be turned on after creation
(only by restoring an encrypted snapshot copy into a new database).

Traps:
- Aurora: encryption is a property of the DB cluster; the member instances
  (``DBClusterIdentifier``) are NOT_APPLICABLE and the cluster is judged. Aurora Serverless v1
  (``EngineMode: serverless``) is always encrypted.
- Inherited encryption: a read replica (``SourceDBInstanceIdentifier``/``SourceDbiResourceId``/
  ``SourceDBInstanceAutomatedBackupsArn``), an instance restored from a snapshot
  (``DBSnapshotIdentifier``) or a cluster restored/cloned (``SnapshotIdentifier``,
  ``SourceDBClusterIdentifier``, ``ReplicationSourceIdentifier``) takes its encryption from
  the source. A replica of an instance of this stack is NOT_APPLICABLE (its source is judged);
  otherwise the template cannot tell, so UNKNOWN unless ``StorageEncrypted`` is true. The
  live side (DescribeDBInstances/DescribeDBClusters ``StorageEncrypted``) answers directly.
"""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules.rds._database import (
    CLUSTER,
    INSTANCE,
    as_bool,
    cluster_of,
    read_setting,
    ref_target,
    where,
)

META = RuleMeta(
    id="rds-storage-unencrypted",
    title="RDS DB instances and clusters encrypt their storage",
    severity=Severity.HIGH,
    family="Data protection",
    subject_types=(INSTANCE, CLUSTER),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "Data, automated backups, snapshots and read replicas are stored unencrypted at rest; "
        "encryption cannot be enabled later without restoring into a new database."
    ),
    remediation=(
        "Set StorageEncrypted: true (and KmsKeyId: !Ref <Key> for a customer managed key) on "
        "the DB instance, or on the DB cluster for Aurora. For an existing database: copy a "
        "snapshot with encryption and restore from it."
    ),
    seeds=("002 #4", "004 #8"),
    reference="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html",
)

_PATH = "Properties.StorageEncrypted"
_INSTANCE_SOURCES: tuple[str, ...] = (
    "SourceDBInstanceIdentifier",
    "SourceDbiResourceId",
    "SourceDBInstanceAutomatedBackupsArn",
    "DBSnapshotIdentifier",
)
_CLUSTER_SOURCES: tuple[str, ...] = (
    "SnapshotIdentifier",
    "SourceDBClusterIdentifier",
    "ReplicationSourceIdentifier",
)


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for database in snapshot.of_type(INSTANCE, CLUSTER):
        yield _judge(snapshot, database)


def _judge(snapshot: StackSnapshot, database: Resource) -> Verdict:
    setting = read_setting(database, "StorageEncrypted")
    encrypted = as_bool(setting.value)
    if database.type == INSTANCE:
        cluster = cluster_of(snapshot, database)
        if cluster is not None:
            owner = cluster.logical_id if isinstance(cluster, Resource) else "outside this stack"
            return META.not_applicable(
                database, f"Aurora instance: storage encryption is set on its DB cluster ({owner})"
            )
        sources = _INSTANCE_SOURCES
    elif str(database.prop("EngineMode", default="")).lower() == "serverless":
        return META.passed(
            database, "Aurora Serverless v1 clusters are always encrypted", path=_PATH
        )
    else:
        sources = _CLUSTER_SOURCES
    source_property = next((p for p in sources if database.prop(p) is not None), None)
    if setting.source != "live" and source_property is not None and encrypted is not True:
        return _inherited(snapshot, database, source_property)
    if isinstance(encrypted, Unresolved):
        return META.unknown(
            database,
            f"{where(database)} {_PATH} cannot be resolved ({encrypted}).",
            path=_PATH,
            evidence=setting.evidence(),
        )
    if encrypted:
        return META.passed(database, path=_PATH, evidence=setting.evidence())
    state = "is false" if encrypted is False else "is not set (default: unencrypted)"
    return META.failed(
        database,
        f"{where(database)} {_PATH} {state}: its storage, backups and snapshots are not "
        "encrypted at rest, and encryption cannot be enabled in place. Set StorageEncrypted: "
        "true (with KmsKeyId for a customer managed key)." + setting.drift_note(),
        path=_PATH,
        evidence=setting.evidence(),
    )


def _inherited(snapshot: StackSnapshot, database: Resource, source_property: str) -> Verdict:
    source = snapshot.owner_of(database.prop(source_property), database.type)
    source = source or ref_target(snapshot, database, source_property)
    if source is not None and source.type == database.type:
        return META.not_applicable(
            database,
            f"inherits storage encryption from {source.logical_id} ({source_property}), "
            "judged there",
        )
    return META.unknown(
        database,
        f"{where(database)} takes its storage encryption from the source named by "
        f"Properties.{source_property}, which is not in this stack: the template cannot tell "
        "whether it is encrypted (the live description can).",
        path=_PATH,
        evidence={"source": "resolved", "inherited_from": source_property},
    )


RULE = Rule(META, check)

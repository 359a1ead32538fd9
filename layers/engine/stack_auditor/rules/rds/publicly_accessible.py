"""rds-publicly-accessible: an RDS database gets a public IP and an internet-resolvable endpoint.

``PubliclyAccessible: true`` fails. When the property is absent, the AWS default decides
(CreateDBInstance / CreateDBCluster API reference): with a DB subnet group other than
``default`` the database is private, so it passes with that note; Aurora instances default to
private. Without a DB subnet group a non-Aurora instance (or Multi-AZ DB cluster) is placed in
the default VPC, whose internet gateway makes it public by default: that fails too, with a
message naming the default (the catalog's "PubliclyAccessible true" is the effective value).
A read replica without the property takes its placement from the source: UNKNOWN from the
template. Aurora DB clusters have no such property (it is set per instance): NOT_APPLICABLE.
Live side: DescribeDBInstances/DescribeDBClusters ``PubliclyAccessible``, drift reported.
"""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules.rds._database import (
    CLUSTER,
    INSTANCE,
    Setting,
    as_bool,
    cluster_of,
    is_aurora,
    read_setting,
    where,
)

META = RuleMeta(
    id="rds-publicly-accessible",
    title="RDS databases are not publicly accessible",
    severity=Severity.CRITICAL,
    family="Data protection",
    subject_types=(INSTANCE, CLUSTER),
    sides=frozenset({Side.RESOLVED, Side.LIVE}),
    risk=(
        "The database endpoint resolves to a public IP address: one permissive security "
        "group rule away from the internet reaching the database port."
    ),
    remediation=(
        "Set PubliclyAccessible: false and place the database in private subnets through "
        "DBSubnetGroupName: !Ref <DBSubnetGroup>; reach it from inside the VPC."
    ),
    seeds=("004 #5",),
    reference="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html#USER_VPC.Hiding",
)

_PATH = "Properties.PubliclyAccessible"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for database in snapshot.of_type(INSTANCE, CLUSTER):
        yield _judge(snapshot, database)


def _judge(snapshot: StackSnapshot, database: Resource) -> Verdict:
    if database.type == CLUSTER and is_aurora(database.prop("Engine")):
        return META.not_applicable(database, "Aurora clusters set public access per instance")
    setting = read_setting(database, "PubliclyAccessible")
    public = as_bool(setting.value)
    if isinstance(public, Unresolved):
        return META.unknown(
            database,
            f"{where(database)} {_PATH} cannot be resolved ({public}).",
            path=_PATH,
            evidence=setting.evidence(),
        )
    if public is True:
        return META.failed(
            database,
            f"{where(database)} {_PATH} is true: the endpoint resolves to a public IP address "
            "and only security groups stand between the internet and the database. Set it to "
            "false and keep the database in private subnets." + setting.drift_note(),
            path=_PATH,
            evidence=setting.evidence(),
        )
    if public is False:
        return META.passed(database, path=_PATH, evidence=setting.evidence())
    return _judge_default(snapshot, database, setting)


def _judge_default(snapshot: StackSnapshot, database: Resource, setting: Setting) -> Verdict:
    """PubliclyAccessible is not set: what the AWS default gives."""
    if database.type == INSTANCE and cluster_of(snapshot, database) is not None:
        return META.passed(database, "not set; Aurora instances default to private", path=_PATH)
    subnet_group = database.prop("DBSubnetGroupName")
    if isinstance(subnet_group, str) and subnet_group.lower() == "default":
        reason = "uses the DB subnet group 'default', for which the default is public"
    elif subnet_group is not None:
        return META.passed(
            database, "not set; with a DB subnet group the default is private", path=_PATH
        )
    elif database.prop("SourceDBInstanceIdentifier") is not None:
        return META.unknown(
            database,
            f"{where(database)} {_PATH} is not set on this read replica, which is placed "
            "from its source: the template cannot tell whether it is public.",
            path=_PATH,
            evidence={"source": setting.source},
        )
    else:
        reason = (
            "has no DBSubnetGroupName, so RDS places it in the default VPC, where the default "
            "is public (its internet gateway)"
        )
    return META.failed(
        database,
        f"{where(database)} {_PATH} is not set and the database {reason}: the endpoint gets "
        "a public IP address. Set PubliclyAccessible: false and a DBSubnetGroupName of private "
        "subnets.",
        path=_PATH,
        evidence={"source": setting.source, "value": None, "default": "public"},
    )


RULE = Rule(META, check)

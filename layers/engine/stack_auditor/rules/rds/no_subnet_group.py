"""rds-no-subnet-group: an RDS database has no DB subnet group, so RDS picks its network.

Without ``DBSubnetGroupName`` RDS uses the account's default DB subnet group (the default
VPC's subnets, public ones), and the launch fails where no default VPC exists ("DB subnet group
required", seed 004 #5). The stack should own a subnet group of private subnets in two AZs.

Traps: an Aurora instance takes its network from its DB cluster, so the cluster's
``DBSubnetGroupName`` counts (the instance passes or fails with it; a cluster outside the stack
is UNKNOWN). A name known only at deployment (a Ref to the stack's DBSubnetGroup) counts as
set. A read replica (``SourceDBInstanceIdentifier``) is placed in its source's network:
NOT_APPLICABLE. The DB subnet group named ``default`` is no better than none: it fails.
"""

from __future__ import annotations

from collections.abc import Iterable

from stack_auditor.config import AuditConfig
from stack_auditor.model import Resource, Severity, Side, StackSnapshot, Unresolved, Verdict
from stack_auditor.rule import Rule, RuleMeta
from stack_auditor.rules.rds._database import CLUSTER, INSTANCE, cluster_of, where

META = RuleMeta(
    id="rds-no-subnet-group",
    title="RDS databases are placed in a DB subnet group of the stack's choosing",
    severity=Severity.HIGH,
    family="Data protection",
    subject_types=(INSTANCE, CLUSTER),
    sides=frozenset({Side.RESOLVED}),
    risk=(
        "RDS falls back to the default VPC's default subnet group (public subnets), or fails "
        "to launch where there is none: the database's network isolation is left to chance."
    ),
    remediation=(
        "Add an AWS::RDS::DBSubnetGroup with private subnets in at least two Availability "
        "Zones and set DBSubnetGroupName: !Ref <DBSubnetGroup> (on the DB cluster for Aurora)."
    ),
    seeds=("004 #5",),
    reference="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html#USER_VPC.Subnets",
)

_PATH = "Properties.DBSubnetGroupName"


def check(snapshot: StackSnapshot, config: AuditConfig) -> Iterable[Verdict]:
    for database in snapshot.of_type(INSTANCE, CLUSTER):
        yield _judge(snapshot, database)


def _judge(snapshot: StackSnapshot, database: Resource) -> Verdict:
    holder = database
    if database.type == INSTANCE:
        cluster = cluster_of(snapshot, database)
        if isinstance(cluster, Unresolved):
            return META.unknown(
                database,
                f"{where(database)} belongs to a DB cluster whose subnet group cannot be read "
                f"({cluster}).",
                path=_PATH,
                evidence={"source": "resolved"},
            )
        if cluster is not None:
            holder = cluster
        elif database.prop("SourceDBInstanceIdentifier") is not None:
            return META.not_applicable(database, "read replica: placed in its source's network")
    name = holder.prop("DBSubnetGroupName")
    via = "" if holder is database else f" (its DB cluster {holder.logical_id})"
    if isinstance(name, Unresolved):
        # Set, to a name known at deployment (a Ref to the stack's DBSubnetGroup, an import):
        # only the literal name "default" would be as bad as none.
        return META.passed(
            database, path=_PATH, evidence={"source": "resolved", "subnet_group": str(name)}
        )
    if isinstance(name, str) and name and name.lower() != "default":
        return META.passed(
            database, path=_PATH, evidence={"source": "resolved", "subnet_group": name}
        )
    state = "names the 'default' DB subnet group" if name else "is not set"
    return META.failed(
        database,
        f"{where(database)}{via} {_PATH} {state}: RDS uses the default VPC's subnets (public) "
        "or fails to launch where there is no default VPC. Add an AWS::RDS::DBSubnetGroup of "
        "private subnets in two AZs and reference it.",
        path=_PATH,
        evidence={"source": "resolved", "subnet_group": name},
    )


RULE = Rule(META, check)

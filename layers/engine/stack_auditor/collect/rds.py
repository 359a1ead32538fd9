"""RDS live state: each DB instance's and DB cluster's storage encryption and public access.

``DescribeDBInstances`` / ``DescribeDBClusters`` with a ``db-instance-id`` / ``db-cluster-id``
filter of up to 100 of the stack's identifiers (their physical ids) per call, paginated. ``live``
holds the keys the RDS rules read (``StorageEncrypted``, ``PubliclyAccessible``), as the API
gives them; a key the API leaves out (an Aurora cluster has no ``PubliclyAccessible``) is left
out. A filter silently drops an identifier that no longer exists: that database is a NotFound
gap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from stack_auditor.collect.live import Collector, LiveContext, Task, batches
from stack_auditor.model import Resource

INSTANCE = "AWS::RDS::DBInstance"
CLUSTER = "AWS::RDS::DBCluster"
BATCH = 100  # identifiers per filter: one full page of the API's default MaxRecords
_KEYS = ("StorageEncrypted", "PubliclyAccessible")


# type -> (paginated operation, filter name, result list, identifier key, IAM action)
_READS = {
    INSTANCE: (
        "describe_db_instances",
        "db-instance-id",
        "DBInstances",
        "DBInstanceIdentifier",
        "rds:DescribeDBInstances",
    ),
    CLUSTER: (
        "describe_db_clusters",
        "db-cluster-id",
        "DBClusters",
        "DBClusterIdentifier",
        "rds:DescribeDBClusters",
    ),
}


def _plan(context: LiveContext, databases: Sequence[Resource]) -> Iterable[Task]:
    def read(kind: str, batch: Sequence[Resource]) -> None:
        operation, filter_name, results, id_key, action = _READS[kind]
        # RDS stores identifiers in lower case; CloudFormation reports them that way too
        wanted = {str(db.physical_id).lower(): db for db in batch}
        paginator = context.client("rds").get_paginator(operation)
        pages = paginator.paginate(Filters=[{"Name": filter_name, "Values": list(wanted)}])
        for page in pages:
            for described in page.get(results) or ():
                db = wanted.pop(str(described.get(id_key, "")).lower(), None)
                if db is not None:
                    live = {key: described[key] for key in _KEYS if key in described}
                    context.put(db.logical_id, live)
        for identifier, db in wanted.items():
            context.gap(db.logical_id, action, "NotFound", f"{identifier} is not described")

    for kind, (_op, _filter, _results, _id, action) in _READS.items():
        of_kind = [db for db in databases if db.type == kind]
        for batch in batches(of_kind, BATCH):
            scopes = tuple(db.logical_id for db in batch)
            yield Task(scopes, action, _bind(read, kind, batch))


def _bind(
    read: Callable[[str, Sequence[Resource]], None], kind: str, batch: Sequence[Resource]
) -> Callable[[], None]:
    return lambda: read(kind, batch)


COLLECTOR = Collector(
    service="rds",
    types=(INSTANCE, CLUSTER),
    actions=("rds:DescribeDBInstances", "rds:DescribeDBClusters"),
    plan=_plan,
    reads="StorageEncrypted, PubliclyAccessible",
)

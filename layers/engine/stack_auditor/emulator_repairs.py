"""Per-resource repairs of settings moto's CloudFormation leaves out (``emulator_fixups``).

Emulator only: ``emulator_fixups.repair_deployment`` calls these after moto's CloudFormation
created or updated a stack. Each repair reads the setting through the service's own API,
compares it with the stack's resolved template and writes only what differs; it returns the
number of API writes. Where moto's API cannot change a setting once the resource exists, the
resource is re-created under the same name from what the API shows of it plus the declared
setting. Nothing a freshly deployed stack does not hold is carried over (table items, log
events, a function's versions, aliases, resource policy or event invoke configs).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from typing import Any

from stack_auditor.collect.clients import Clients
from stack_auditor.collect.live import is_error
from stack_auditor.collect.logs import describe_log_group
from stack_auditor.model import Resource, contains_unresolved, thaw


def declared(resource: Resource, *path: str) -> Any:
    """The resolved property at ``path`` as plain JSON; None when absent or not resolved."""
    value = resource.prop(*path)
    if value is None or contains_unresolved(value):
        return None
    return thaw(value)


def flag(value: Any) -> bool | None:
    """A CloudFormation boolean (``true``, ``"true"``, ``"False"``); None when unset."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def text(value: Any) -> str:
    """A template scalar as CloudFormation passes it to an API taking strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json_document(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# -- KMS ------------------------------------------------------------------------------


def repair_key_policy(clients: Clients, key: Resource) -> int:
    """moto's CloudFormation stores ``KeyPolicy`` as a dict instead of JSON text: moto's
    DescribeKey then fails (HTTP 500, a TypeError inside moto) and GetKeyPolicy answers a
    non-string. The declared policy is put back as JSON."""
    policy = _json_document(declared(key, "KeyPolicy"))
    if not isinstance(policy, dict):
        return 0
    kms = clients("kms")
    found = kms.get_key_policy(KeyId=key.physical_id, PolicyName="default").get("Policy")
    if isinstance(found, str) and _json_document(found) == policy:
        return 0
    kms.put_key_policy(KeyId=key.physical_id, PolicyName="default", Policy=json.dumps(policy))
    return 1


def key_arn(clients: Clients, key_id: str) -> str:
    """The ARN of a key given by id, ARN, alias name or alias ARN (as services record it)."""
    return str(clients("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Arn"])


# -- DynamoDB -------------------------------------------------------------------------


def repair_table_backups(clients: Clients, table: Resource) -> int:
    """moto's CloudFormation ignores ``PointInTimeRecoverySpecification``: the declared
    point-in-time recovery is set with UpdateContinuousBackups."""
    wanted = flag(declared(table, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"))
    if wanted is None:
        return 0
    dynamodb = clients("dynamodb")
    found = dynamodb.describe_continuous_backups(TableName=table.physical_id)
    status = (
        found.get("ContinuousBackupsDescription", {})
        .get("PointInTimeRecoveryDescription", {})
        .get("PointInTimeRecoveryStatus")
    )
    if (status == "ENABLED") == wanted:
        return 0
    dynamodb.update_continuous_backups(
        TableName=table.physical_id,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": wanted},
    )
    return 1


def repair_table_encryption(clients: Clients, table: Resource) -> int:
    """moto's CloudFormation reads ``SSESpecification.Enabled`` where CloudFormation has
    ``SSEEnabled``, so a table declared KMS-encrypted gets the AWS owned key; and moto's
    UpdateTable ignores ``SSESpecification``. The table is re-created with the declared
    encryption (the key recorded by ARN, as DynamoDB does)."""
    spec = declared(table, "SSESpecification")
    if not isinstance(spec, dict) or flag(spec.get("SSEEnabled")) is not True:
        return 0
    dynamodb = clients("dynamodb")
    found = dynamodb.describe_table(TableName=table.physical_id)["Table"]
    key = spec.get("KMSMasterKeyId")
    wanted_key = key_arn(clients, str(key)) if key else None
    sse = found.get("SSEDescription") or {}
    if sse.get("Status") == "ENABLED" and wanted_key in (None, sse.get("KMSMasterKeyArn")):
        return 0
    request = _table_request(found)
    request["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
    if wanted_key:
        request["SSESpecification"]["KMSMasterKeyId"] = wanted_key
    tags = dynamodb.list_tags_of_resource(ResourceArn=found["TableArn"]).get("Tags") or []
    if tags:
        request["Tags"] = tags
    writes = 0
    if found.get("DeletionProtectionEnabled"):
        dynamodb.update_table(TableName=table.physical_id, DeletionProtectionEnabled=False)
        request["DeletionProtectionEnabled"] = True
        writes += 1
    dynamodb.delete_table(TableName=table.physical_id)
    dynamodb.create_table(**request)
    return writes + 2


def _table_request(found: Mapping[str, Any]) -> dict[str, Any]:
    """CreateTable parameters reproducing the described table (schema, capacity, indexes,
    stream)."""
    mode = (found.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    request: dict[str, Any] = {
        "TableName": found["TableName"],
        "KeySchema": found["KeySchema"],
        "AttributeDefinitions": found["AttributeDefinitions"],
        "BillingMode": mode,
    }
    if mode == "PROVISIONED":
        request["ProvisionedThroughput"] = _throughput(found.get("ProvisionedThroughput"))
    indexes = [
        {
            "IndexName": index["IndexName"],
            "KeySchema": index["KeySchema"],
            "Projection": index["Projection"],
            **(
                {"ProvisionedThroughput": _throughput(index.get("ProvisionedThroughput"))}
                if mode == "PROVISIONED"
                else {}
            ),
        }
        for index in found.get("GlobalSecondaryIndexes") or ()
    ]
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    local = [
        {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
        for i in found.get("LocalSecondaryIndexes") or ()
    ]
    if local:
        request["LocalSecondaryIndexes"] = local
    stream = found.get("StreamSpecification") or {}
    if stream.get("StreamEnabled"):
        request["StreamSpecification"] = stream
    return request


def _throughput(found: Any) -> dict[str, int]:
    found = found or {}
    return {
        "ReadCapacityUnits": int(found.get("ReadCapacityUnits") or 1),
        "WriteCapacityUnits": int(found.get("WriteCapacityUnits") or 1),
    }


# -- Lambda ---------------------------------------------------------------------------

# Settings compared with the live configuration. TracingConfig is what moto's CloudFormation
# drops; the others because moto applies a stack update to the function object its
# CloudFormation created, which a re-created function no longer is.
_FUNCTION_SETTINGS = (
    "Runtime",
    "Handler",
    "Role",
    "Description",
    "Timeout",
    "MemorySize",
    "Environment",
    "TracingConfig",
)
_CODE_FILE = {"python": "index.py", "nodejs": "index.js"}


def repair_function(clients: Clients, function: Resource) -> int:
    """moto's CloudFormation ignores a function's ``TracingConfig``, and moto's
    UpdateFunctionConfiguration ignores it too: the function is re-created under its name
    with its live configuration and tags, the declared settings and the declared code."""
    wanted = {key: _function_setting(key, declared(function, key)) for key in _FUNCTION_SETTINGS}
    wanted = {key: value for key, value in wanted.items() if value is not None}
    lambda_ = clients("lambda")
    found = lambda_.get_function_configuration(FunctionName=function.physical_id)
    live = {key: _function_setting(key, found.get(key)) for key in wanted}
    if live == wanted:
        return 0
    code = _function_code(declared(function, "Code"), str(found.get("Runtime") or ""))
    if code is None:
        return 0  # the package cannot be rebuilt from the template: left as moto made it
    request = _function_request(found)
    request.update(wanted)
    request["Code"] = code
    tags = lambda_.list_tags(Resource=found["FunctionArn"]).get("Tags") or {}
    if tags:
        request["Tags"] = tags
    lambda_.delete_function(FunctionName=function.physical_id)
    lambda_.create_function(**request)
    writes = 2
    concurrency = declared(function, "ReservedConcurrentExecutions")
    if concurrency is not None:
        lambda_.put_function_concurrency(
            FunctionName=function.physical_id, ReservedConcurrentExecutions=int(concurrency)
        )
        writes += 1
    return writes


def _function_setting(key: str, value: Any) -> Any:
    """A setting in the API's shape, from the template or from GetFunctionConfiguration."""
    if value is None:
        return None
    if key in ("Timeout", "MemorySize"):
        return int(value)
    if key == "Environment":
        variables = value.get("Variables") if isinstance(value, Mapping) else None
        # no variables: the API leaves Environment out, as if the template had not set it
        return {"Variables": {k: text(v) for k, v in variables.items()}} if variables else None
    if key == "TracingConfig":
        return {"Mode": str(value.get("Mode") or "PassThrough")}
    return str(value)


def _function_request(found: Mapping[str, Any]) -> dict[str, Any]:
    """CreateFunction parameters reproducing the described configuration (without code)."""
    request: dict[str, Any] = {
        key: found[key]
        for key in ("FunctionName", "Runtime", "Role", "Handler", "Description", "Timeout")
        if found.get(key) is not None
    }
    for key in ("MemorySize", "PackageType", "Architectures", "EphemeralStorage", "KMSKeyArn"):
        if found.get(key):
            request[key] = found[key]
    if found.get("Environment", {}).get("Variables"):
        request["Environment"] = {"Variables": found["Environment"]["Variables"]}
    vpc = found.get("VpcConfig") or {}
    if vpc.get("SubnetIds"):
        request["VpcConfig"] = {
            "SubnetIds": vpc["SubnetIds"],
            "SecurityGroupIds": vpc.get("SecurityGroupIds") or [],
        }
    layers = [layer["Arn"] for layer in found.get("Layers") or () if layer.get("Arn")]
    if layers:
        request["Layers"] = layers
    return request


def _function_code(code: Any, runtime: str) -> dict[str, Any] | None:
    """CreateFunction's Code from the template's: inline code zipped as CloudFormation does
    (``index.py`` / ``index.js``), an S3 object or image as declared."""
    if not isinstance(code, dict):
        return None
    if "ZipFile" in code:
        name = next((f for prefix, f in _CODE_FILE.items() if runtime.startswith(prefix)), None)
        if name is None:
            return None
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as package:
            package.writestr(name, str(code["ZipFile"]))
        return {"ZipFile": archive.getvalue()}
    keep = ("S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri")
    found = {key: code[key] for key in keep if key in code}
    return found or None


# -- CloudWatch Logs ------------------------------------------------------------------


def repair_log_group(clients: Clients, group: Resource) -> int:
    """moto's CloudFormation drops a log group's ``KmsKeyId``, and moto does not implement
    AssociateKmsKey: the group is re-created with the key and its tags. ``RetentionInDays``
    is kept by moto, and set with PutRetentionPolicy should it differ."""
    logs = clients("logs")
    name = str(group.physical_id)
    found = describe_log_group(logs, name)
    if found is None:
        return 0  # deleted: the audit reports it missing
    writes = 0
    retention = declared(group, "RetentionInDays")
    wanted_retention = int(retention) if retention is not None else found.get("retentionInDays")
    current_retention = found.get("retentionInDays")
    key = declared(group, "KmsKeyId")
    if key is not None and found.get("kmsKeyId") != key:
        tags = logs.list_tags_for_resource(resourceArn=_group_arn(found)).get("tags") or {}
        logs.delete_log_group(logGroupName=name)
        logs.create_log_group(logGroupName=name, kmsKeyId=str(key), **_tags_param(tags))
        current_retention = None  # a new group never expires its events
        writes += 2
    if wanted_retention is not None and current_retention != wanted_retention:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(wanted_retention))
        writes += 1
    return writes


def _group_arn(found: Mapping[str, Any]) -> str:
    return str(found.get("logGroupArn") or str(found["arn"]).removesuffix(":*"))


def _tags_param(tags: Mapping[str, str]) -> dict[str, Any]:
    return {"tags": dict(tags)} if tags else {}


# -- S3 -------------------------------------------------------------------------------

_BLOCK_SETTINGS = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)


def repair_public_access_block(clients: Clients, bucket: Resource) -> int:
    """moto's CloudFormation ignores a bucket's ``PublicAccessBlockConfiguration``: it is put
    with PutPublicAccessBlock (a setting left out is false, as in CloudFormation)."""
    block = declared(bucket, "PublicAccessBlockConfiguration")
    if not isinstance(block, dict):
        return 0
    wanted = {key: flag(block.get(key)) is True for key in _BLOCK_SETTINGS}
    s3 = clients("s3")
    try:
        found = s3.get_public_access_block(Bucket=bucket.physical_id)
    except Exception as exc:
        if not is_error(exc, "NoSuchPublicAccessBlockConfiguration"):
            raise
        found = {}
    current = found.get("PublicAccessBlockConfiguration") or {}
    if {key: current.get(key) is True for key in _BLOCK_SETTINGS} == wanted and current:
        return 0
    s3.put_public_access_block(Bucket=bucket.physical_id, PublicAccessBlockConfiguration=wanted)
    return 1


def repair_bucket_policy(clients: Clients, policy: Resource) -> int:
    """moto's CloudFormation does not create ``AWS::S3::BucketPolicy`` (unsupported type): the
    declared document is put on its bucket with PutBucketPolicy."""
    bucket = declared(policy, "Bucket")
    document = _json_document(declared(policy, "PolicyDocument"))
    if not isinstance(bucket, str) or not isinstance(document, dict):
        return 0
    s3 = clients("s3")
    try:
        found = _json_document(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except Exception as exc:
        if not is_error(exc, "NoSuchBucketPolicy"):
            raise
        found = None
    if found == document:
        return 0
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))
    return 1

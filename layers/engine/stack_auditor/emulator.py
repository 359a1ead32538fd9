"""Create the auditor's own findings table and alert topic in an emulator (moto server).

The definitions are read from template.yaml (the ``FindingsTable`` and ``AlertTopic``
resources), never copied by hand, so end-to-end tests and the demo run against the key
design that is deployed. Properties are translated from CloudFormation's spelling to the
API's; what an emulator does not need (contributor insights, resource policies) is skipped,
and a customer managed KMS key the template creates for them is created in the emulator too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stack_auditor.template.loader import load_template_file

TABLE_ID = "FindingsTable"
TOPIC_ID = "AlertTopic"


class EmulatorError(Exception):
    """The template's definition cannot be turned into API calls."""


@dataclass(frozen=True, slots=True)
class ProvisionedAuditor:
    table_name: str
    topic_arn: str
    table_arn: str = ""
    kms_keys: Mapping[str, str] = field(default_factory=dict)  # logical id -> emulated key ARN
    table_request: Mapping[str, Any] = field(default_factory=dict)  # the CreateTable call made


def _is_intrinsic(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and len(value) == 1
        and (next(iter(value)) == "Ref" or str(next(iter(value))).startswith("Fn::"))
    )


def _referenced_id(value: Any) -> str | None:
    """Logical id a ``Ref``/``Fn::GetAtt`` points at, else None."""
    if not isinstance(value, Mapping):
        return None
    if "Ref" in value and isinstance(value["Ref"], str):
        return value["Ref"]
    target = value.get("Fn::GetAtt")
    if isinstance(target, list) and target:
        return str(target[0])
    if isinstance(target, str):
        return target.split(".", 1)[0]
    return None


def _literal(value: Any, where: str) -> Any:
    if _is_intrinsic(value):
        raise EmulatorError(f"{where} uses an intrinsic function the emulator cannot resolve")
    if isinstance(value, Mapping):
        return {k: _literal(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _resource(
    template: Mapping[str, Any], logical_id: str, expected_type: str
) -> Mapping[str, Any]:
    resource = (template.get("Resources") or {}).get(logical_id)
    if not isinstance(resource, Mapping) or resource.get("Type") != expected_type:
        raise EmulatorError(f"template has no {expected_type} named {logical_id}")
    props = resource.get("Properties") or {}
    if not isinstance(props, Mapping):
        raise EmulatorError(f"{logical_id}.Properties is not a mapping")
    return props


def table_request(props: Mapping[str, Any], table_name: str, kms_key: str | None) -> dict[str, Any]:
    """CreateTable arguments equivalent to an ``AWS::DynamoDB::Table``'s properties."""
    request: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": _literal(props.get("KeySchema"), "KeySchema"),
        "AttributeDefinitions": _literal(props.get("AttributeDefinitions"), "AttributeDefinitions"),
        # CloudFormation's default when BillingMode is absent
        "BillingMode": _literal(props.get("BillingMode", "PROVISIONED"), "BillingMode"),
    }
    if not request["KeySchema"] or not request["AttributeDefinitions"]:
        raise EmulatorError("FindingsTable needs KeySchema and AttributeDefinitions")
    if "ProvisionedThroughput" in props:
        request["ProvisionedThroughput"] = _literal(props["ProvisionedThroughput"], "Throughput")
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            request[key] = [
                {
                    k: v
                    for k, v in _literal(index, key).items()
                    if k != "ContributorInsightsSpecification"
                }
                for index in props[key]
            ]
    stream = props.get("StreamSpecification")
    if isinstance(stream, Mapping) and stream.get("StreamViewType"):
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": _literal(stream["StreamViewType"], "StreamViewType"),
        }
    sse = props.get("SSESpecification")
    if isinstance(sse, Mapping) and sse.get("SSEEnabled") in (True, "true", "True"):
        spec: dict[str, Any] = {"Enabled": True, "SSEType": sse.get("SSEType", "KMS")}
        if kms_key:
            spec["KMSMasterKeyId"] = kms_key
        request["SSESpecification"] = spec
    return request


def _clients(session_or_clients: Any) -> Mapping[str, Any]:
    if isinstance(session_or_clients, Mapping):
        return session_or_clients
    return {name: session_or_clients.client(name) for name in ("dynamodb", "sns", "kms")}


def _key_arns(
    template: Mapping[str, Any], values: list[Any], clients: Mapping[str, Any]
) -> dict[str, str]:
    """Create each customer managed key of the template the table or topic refers to."""
    resources = template.get("Resources") or {}
    created: dict[str, str] = {}
    for value in values:
        target = _referenced_id(value)
        if not target or target in created:
            continue
        if (resources.get(target) or {}).get("Type") != "AWS::KMS::Key":
            continue
        kms = clients.get("kms")
        if kms is None:
            raise EmulatorError(f"{target} is a KMS key: pass a kms client")
        meta = kms.create_key(Description=f"emulated {target}")["KeyMetadata"]
        created[target] = str(meta["Arn"])
    return created


def _key_for(value: Any, keys: Mapping[str, str]) -> str | None:
    """The API value for a KmsMasterKeyId property: literal as is, references via ``keys``."""
    if value is None:
        return None
    if not _is_intrinsic(value):
        return str(value)
    target = _referenced_id(value)
    return keys.get(target) if target else None


def provision_from_template(
    template_path: str | Path,
    session_or_clients: Any,
    *,
    names: Mapping[str, str] | None = None,
    table_id: str = TABLE_ID,
    topic_id: str = TOPIC_ID,
) -> ProvisionedAuditor:
    """Create the findings table and alert topic of ``template_path`` in the emulator.

    ``session_or_clients`` is a boto3 Session pointed at the emulator, or a mapping with
    ``dynamodb``, ``sns`` (and ``kms`` when the template uses a customer managed key)
    clients. ``names`` maps the logical ids to physical names (template names are usually
    ``!Sub`` expressions of the stack name).
    """
    names = dict(names or {})
    template = load_template_file(template_path).data
    table_props = _resource(template, table_id, "AWS::DynamoDB::Table")
    topic_props = _resource(template, topic_id, "AWS::SNS::Topic")
    clients = _clients(session_or_clients)

    sse = table_props.get("SSESpecification") or {}
    keys = _key_arns(
        template, [sse.get("KMSMasterKeyId"), topic_props.get("KmsMasterKeyId")], clients
    )
    table_name = names.get(table_id) or "stack-auditor-findings"
    request = table_request(table_props, table_name, _key_for(sse.get("KMSMasterKeyId"), keys))
    dynamodb = clients["dynamodb"]
    created = dynamodb.create_table(**request)["TableDescription"]
    dynamodb.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    pitr = table_props.get("PointInTimeRecoverySpecification") or {}
    if pitr.get("PointInTimeRecoveryEnabled") in (True, "true", "True"):
        dynamodb.update_continuous_backups(
            TableName=table_name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    ttl = table_props.get("TimeToLiveSpecification")
    if isinstance(ttl, Mapping) and ttl.get("AttributeName"):
        dynamodb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )

    attributes: dict[str, str] = {}
    topic_key = _key_for(topic_props.get("KmsMasterKeyId"), keys)
    if topic_key:
        attributes["KmsMasterKeyId"] = topic_key
    if isinstance(topic_props.get("DisplayName"), str):
        attributes["DisplayName"] = topic_props["DisplayName"]
    topic_arn = clients["sns"].create_topic(
        Name=names.get(topic_id) or "stack-auditor-alerts", Attributes=attributes
    )["TopicArn"]
    return ProvisionedAuditor(
        table_name=table_name,
        topic_arn=str(topic_arn),
        table_arn=str(created.get("TableArn", "")),
        kms_keys=keys,
        table_request=request,
    )

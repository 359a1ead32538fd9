"""provision_from_template creates the auditor's table and topic, from template.yaml, in a
moto server (the same way the end-to-end tests and the demo do)."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from stack_auditor.emulator import EmulatorError, provision_from_template
from stack_auditor.store_schema import (
    ATTRIBUTE_DEFINITIONS,
    GLOBAL_SECONDARY_INDEXES,
    KEY_SCHEMA,
    RULE_INDEX,
    STATUS_SEVERITY_INDEX,
)

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # moto's backends are process-wide: start from an empty account
    reset = f"http://{host}:{port}/moto-api/reset"
    urllib.request.urlopen(urllib.request.Request(reset, method="POST"))
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def session(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> boto3.session.Session:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def _sorted(items: Any, key: str) -> list[Any]:
    return sorted(items, key=lambda i: i[key])


def test_table_and_topic_from_template_yaml(session: boto3.session.Session) -> None:
    provisioned = provision_from_template(
        TEMPLATE, session, names={"FindingsTable": "findings-a", "AlertTopic": "alerts-a"}
    )
    ddb = session.client("dynamodb")
    table = ddb.describe_table(TableName="findings-a")["Table"]
    assert table["KeySchema"] == list(KEY_SCHEMA)
    assert _sorted(table["AttributeDefinitions"], "AttributeName") == _sorted(
        ATTRIBUTE_DEFINITIONS, "AttributeName"
    )
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {STATUS_SEVERITY_INDEX, RULE_INDEX}
    for expected in GLOBAL_SECONDARY_INDEXES:
        got = indexes[expected["IndexName"]]
        assert got["KeySchema"] == expected["KeySchema"]
        assert got["Projection"] == {"ProjectionType": "ALL"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    # the template encrypts with its own key: created in the emulator too
    assert table["SSEDescription"]["KMSMasterKeyArn"] == provisioned.kms_keys["DataKey"]
    backups = ddb.describe_continuous_backups(TableName="findings-a")
    assert (
        backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
            "PointInTimeRecoveryStatus"
        ]
        == "ENABLED"
    )

    attrs = session.client("sns").get_topic_attributes(TopicArn=provisioned.topic_arn)["Attributes"]
    assert provisioned.topic_arn.endswith(":alerts-a")
    assert attrs["KmsMasterKeyId"] == provisioned.kms_keys["MessagingKey"]
    assert provisioned.kms_keys["DataKey"] != provisioned.kms_keys["MessagingKey"]


def test_clients_mapping_and_minimal_template(
    session: boto3.session.Session, tmp_path: Path
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n"
        "  FindingsTable:\n"
        "    Type: AWS::DynamoDB::Table\n"
        "    Properties:\n"
        "      TableName: !Sub '${AWS::StackName}-findings'\n"
        "      BillingMode: PAY_PER_REQUEST\n"
        "      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]\n"
        "      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n"
        "  AlertTopic:\n"
        "    Type: AWS::SNS::Topic\n"
        "    Properties: {KmsMasterKeyId: alias/aws/sns}\n"
    )
    clients = {"dynamodb": session.client("dynamodb"), "sns": session.client("sns")}
    provisioned = provision_from_template(
        path, clients, names={"FindingsTable": "findings-b", "AlertTopic": "alerts-b"}
    )
    assert provisioned.table_name == "findings-b" and provisioned.kms_keys == {}
    attrs = clients["sns"].get_topic_attributes(TopicArn=provisioned.topic_arn)["Attributes"]
    assert attrs["KmsMasterKeyId"] == "alias/aws/sns"


def test_missing_resource_is_an_error(session: boto3.session.Session, tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("Resources:\n  Other:\n    Type: AWS::SNS::Topic\n")
    with pytest.raises(EmulatorError, match="FindingsTable"):
        provision_from_template(path, session)

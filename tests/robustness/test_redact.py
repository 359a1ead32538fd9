"""redact.redactor: what it masks (secret values, dynamic references) and what it never masks
(the names every message is made of, settings)."""

from __future__ import annotations

from stack_auditor.model import Gap, StackRef
from stack_auditor.redact import MASK, redactor
from stack_auditor.snapshot import build_snapshot

REF = StackRef("orders-prod", account="123456789012", region="eu-west-1", trigger="scan")
TEMPLATE = {
    "Parameters": {
        "DbPassword": {"Type": "String", "NoEcho": True, "Default": "NoEchoDefault1"},
        "Stage": {"Type": "String", "Default": "production"},
    },
    "Resources": {
        "OrdersTable": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "orders"}},
        "Worker": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Environment": {
                    "Variables": {
                        "DSN": "postgres://app:Hunter22@db.internal:5432/orders",
                        "TABLE": {"Ref": "OrdersTable"},
                        "STAGE": {"Ref": "Stage"},
                        "MODE": "production-blue",
                        "REGION_NAME": "eu-west-1",
                        "TOPIC": "arn:aws:sns:eu-west-1:123456789012:alerts",
                        "API_TOKEN": "tok_51H8xyz",
                    }
                },
            },
        },
        "Database": {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {
                "MasterUserPassword": "Literal-Pa55",
                "MasterUsername": "admin",
                "StorageEncrypted": "true",
            },
        },
        "Instance": {
            "Type": "AWS::EC2::Instance",
            "Properties": {"MetadataOptions": {"HttpTokens": "required"}},
        },
    },
}


def test_secret_values_are_masked_and_names_are_not() -> None:
    snapshot = build_snapshot(REF, TEMPLATE, None, parameters={"DbPassword": "GivenSecret9"})
    redact = redactor(snapshot)
    assert set(redact.secrets) == {
        "NoEchoDefault1",
        "GivenSecret9",
        "postgres://app:Hunter22@db.internal:5432/orders",
        "tok_51H8xyz",
        "Literal-Pa55",
    }
    message = (
        "Worker DSN=postgres://app:Hunter22@db.internal:5432/orders token tok_51H8xyz, "
        "password 'Literal-Pa55' / GivenSecret9 on OrdersTable (orders) in orders-prod, "
        "eu-west-1, 123456789012, HttpTokens required, Stage production, MODE production-blue"
    )
    assert redact.text(message) == (
        f"Worker DSN={MASK} token {MASK}, password '{MASK}' / {MASK} on OrdersTable (orders) "
        "in orders-prod, eu-west-1, 123456789012, HttpTokens required, Stage production, "
        "MODE production-blue"
    )


def test_dynamic_references_are_masked_wherever_they_appear() -> None:
    redact = redactor(build_snapshot(REF, TEMPLATE, None))
    assert redact.text(
        "uses {{resolve:secretsmanager:prod/db:SecretString:password}} and "
        "'resolve:ssm-secure:/prod/api-key:3' and {{resolve:ssm:/prod/flag}}"
    ) == (
        f"uses {{{{resolve:secretsmanager:{MASK}}}}} and 'resolve:ssm-secure:{MASK}' and "
        f"{{{{resolve:ssm:{MASK}}}}}"
    )


def test_evidence_and_gaps_are_masked() -> None:
    redact = redactor(build_snapshot(REF, TEMPLATE, None))
    assert redact.value({"found": ["Literal-Pa55", 3], "Literal-Pa55": {"x": "tok_51H8xyz"}}) == {
        "found": [MASK, 3],
        MASK: {"x": MASK},
    }
    gap = redact.gap(Gap("Worker", "Transform", "failed", "bad value 'tok_51H8xyz'"))
    assert gap == Gap("Worker", "Transform", "failed", f"bad value '{MASK}'")

"""Planted secrets for the leak tests (imported as ``canaries``): a template whose secret values
are distinctive strings, so any of them found in an output is a leak.

Every place a stack author puts a secret is covered: a NoEcho parameter (its default and the
value given at deployment), Lambda environment values under secret-looking and innocent
names (one literal, one a Ref to the NoEcho parameter), dynamic references to Secrets
Manager and SSM SecureString, a literal RDS master password and a Secrets Manager secret's
SecretString. Some values embed an account id, a region or an ARN, so the hardcoded-* rules
(which quote what they find) fire on them.
"""

from __future__ import annotations

from typing import Any

NOECHO_DEFAULT = "CanaryNoEchoDefault7Q"
NOECHO_GIVEN = "CanaryNoEchoGiven8R-123456789012"
ENV_SECRET_NAME = "CanaryEnvSecretName9S-us-east-1"
ENV_PLAIN_NAME = "CanaryEnvPlain0T"
ENV_ARN = "arn:aws:sqs:us-east-1:123456789012:CanaryEnvArn1U"
DYNAMIC_SM = "CanaryDynSm2V"
DYNAMIC_SSM = "CanaryDynSsm3W"
RDS_PASSWORD = "CanaryRdsPw4X-123456789012-us-east-1"
DYNAMIC_RDS = "CanaryDynRds5Y"
SECRET_STRING = "CanarySecretString6Z"

# Each string must never appear in a finding, a stored item, an alert or an output.
CANARIES = (
    NOECHO_DEFAULT,
    NOECHO_GIVEN,
    ENV_SECRET_NAME,
    ENV_PLAIN_NAME,
    "CanaryEnvArn1U",
    DYNAMIC_SM,
    DYNAMIC_SSM,
    RDS_PASSWORD,
    DYNAMIC_RDS,
    SECRET_STRING,
)
PARAMETERS = {"DbPassword": NOECHO_GIVEN}

_TAGS = [{"Key": "iac-rlhf-amazon", "Value": "true"}]

TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "DbPassword": {"Type": "String", "NoEcho": True, "Default": NOECHO_DEFAULT},
    },
    "Resources": {
        "CanaryRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                        }
                    ],
                },
                "Tags": _TAGS,
            },
        },
        "CanaryFunction": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["CanaryRole", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
                "Environment": {
                    "Variables": {
                        "DB_PASSWORD": ENV_SECRET_NAME,
                        "GREETING": ENV_PLAIN_NAME,
                        "TARGET": ENV_ARN,
                        "API_TOKEN": {"Ref": "DbPassword"},
                        "SM_SECRET": (
                            "{{resolve:secretsmanager:" + DYNAMIC_SM + ":SecretString:password}}"
                        ),
                        "SSM_TOKEN": "{{resolve:ssm-secure:" + DYNAMIC_SSM + ":1}}",
                    }
                },
                "Tags": _TAGS,
            },
        },
        "CanaryDatabase": {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {
                "Engine": "postgres",
                "DBInstanceClass": "db.t3.micro",
                "AllocatedStorage": "20",
                "MasterUsername": "admin",
                "MasterUserPassword": RDS_PASSWORD,
                "Tags": _TAGS,
            },
        },
        "CanaryDatabaseDynamic": {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {
                "Engine": "postgres",
                "DBInstanceClass": "db.t3.micro",
                "AllocatedStorage": "20",
                "MasterUsername": "admin",
                "MasterUserPassword": "{{resolve:ssm-secure:" + DYNAMIC_RDS + "}}",
                "Tags": _TAGS,
            },
        },
        "CanarySecret": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "SecretString": '{"username":"admin","password":"' + SECRET_STRING + '"}',
                "Tags": _TAGS,
            },
        },
    },
}

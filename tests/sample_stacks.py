"""Sample stacks the pipeline and handler tests deploy into moto (imported as ``sample_stacks``).

BROKEN_PAYMENTS is deliberately wrong: a role allowing ``Action: *`` on ``Resource: *``
(iam-admin-access, CRITICAL) and an untagged queue with a fixed name.
"""

from __future__ import annotations

from typing import Any

BROKEN_PAYMENTS: dict[str, Any] = {
    "Resources": {
        "PaymentsQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "payments-queue"}},
        "PaymentsRole": {
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
                "Policies": [
                    {
                        "PolicyName": "everything",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                        },
                    }
                ],
                "Tags": [{"Key": "iac-rlhf-amazon", "Value": "true"}],
            },
        },
    }
}

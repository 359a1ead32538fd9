"""_iam_live: deployed and template statements compare on what they grant, not on spelling."""

from __future__ import annotations

from stack_auditor.rules._iam import parse_document
from stack_auditor.rules._iam_live import statement_key, template_keys


def keys(*statements: dict[str, object]) -> set[str]:
    found, problem = parse_document({"Statement": list(statements)}, "Role", "p", "inline")
    assert problem is None
    return {statement_key(s) for s in found}


def test_single_values_lists_order_and_action_case_grant_the_same() -> None:
    written = {
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": "arn:aws:s3:::b/*",
        "Condition": {"Bool": {"aws:SecureTransport": True}},
    }
    deployed = {
        "Sid": "Objects",
        "Effect": "Allow",
        "Action": ["S3:PutObject", "s3:getobject"],
        "Resource": ["arn:aws:s3:::b/*"],
        "Condition": {"Bool": {"aws:SecureTransport": ["true"]}},
    }
    assert keys(written) == keys(deployed)


def test_a_different_resource_or_effect_is_a_different_statement() -> None:
    base = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    assert keys(base) != keys({**base, "Resource": "*"})
    assert keys(base) != keys({**base, "Effect": "Deny"})
    assert keys(base) != keys({"Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "*"})


def test_a_template_document_that_cannot_be_read_is_not_compared() -> None:
    assert template_keys("not json") is None
    assert template_keys({"Statement": []}) == frozenset()

"""AWS managed policies: ARN by name (for SAM expansion) and policy document by ARN.

The data file is generated from moto's copy of the AWS managed policies by
scripts/gen_data.py; it is read once, lazily, because most scans never need it.
"""

from __future__ import annotations

import gzip
import json
import re
from functools import cache
from importlib import resources
from typing import Any

_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::aws:policy(/(?:[\w+=,.@-]+/)*)([\w+=,.@-]+)$")


@cache
def _policies() -> dict[str, dict[str, Any]]:
    raw = (
        resources.files("stack_auditor.data").joinpath("aws_managed_policies.json.gz").read_bytes()
    )
    data: dict[str, dict[str, Any]] = json.loads(gzip.decompress(raw))
    return data


@cache
def arn_map(partition: str = "aws") -> dict[str, str]:
    """Managed policy name -> ARN, the shape aws-sam-translator's managed_policy_map takes."""
    return {
        name: f"arn:{partition}:iam::aws:policy{body['path']}{name}"
        for name, body in _policies().items()
    }


def parse_arn(arn: str) -> str | None:
    """Name of the AWS managed policy an ARN points at, or None when it is not one."""
    match = _ARN.match(arn)
    return match.group(2) if match else None


def document(arn: str) -> dict[str, Any] | None:
    """Default-version document of an AWS managed policy, or None when unknown."""
    name = parse_arn(arn)
    if name is None:
        return None
    body = _policies().get(name)
    if body is None or body["path"] != _ARN.match(arn).group(1):  # type: ignore[union-attr]
        return None
    doc: dict[str, Any] = body["document"]
    return doc

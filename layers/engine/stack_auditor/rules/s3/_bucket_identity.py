"""Which bucket a bucket policy and its Resource entries name, even when names are unresolved.

A scanned template often takes its bucket name from a parameter without a value, so the
bucket's ARN and every ARN built from it are ``Unresolved``. Two expressions as written can
still be seen to name the same bucket: each is rendered symbolically (``Ref X`` -> ``${X}``,
``GetAtt X.Arn`` -> ``${X.Arn}``, Sub and Join kept as text) and compared as text, with the
policy's wildcards applied to that text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stack_auditor.model import Resource, Unresolved
from stack_auditor.rules._iam import resource_matches
from stack_auditor.rules._names import referenced_names


def symbolic(expression: Any) -> str | None:
    """The expression as text with ``${...}`` for what only deployment knows; None if unsure."""
    if isinstance(expression, Unresolved):
        return symbolic(expression.expression)
    if isinstance(expression, str):
        return expression
    if not isinstance(expression, Mapping) or len(expression) != 1:
        return None
    ((name, arg),) = expression.items()
    if name == "Ref" and isinstance(arg, str):
        return "${" + arg + "}"
    if name == "Fn::GetAtt":
        target = ".".join(arg) if isinstance(arg, (list, tuple)) else arg
        return "${" + target + "}" if isinstance(target, str) else None
    if name == "Fn::Sub":
        return _sub(arg)
    if name == "Fn::Join" and isinstance(arg, (list, tuple)) and len(arg) == 2:
        separator, parts = arg
        rendered = [symbolic(p) for p in parts] if isinstance(parts, (list, tuple)) else [None]
        if isinstance(separator, str) and None not in rendered:
            return separator.join(r for r in rendered if r is not None)
    return None


def _sub(arg: Any) -> str | None:
    if isinstance(arg, str):
        return arg
    if not isinstance(arg, (list, tuple)) or not arg or not isinstance(arg[0], str):
        return None
    text = arg[0]
    variables = arg[1] if len(arg) > 1 and isinstance(arg[1], Mapping) else {}
    for variable, value in variables.items():
        rendered = symbolic(value)
        if rendered is None:
            return None
        text = text.replace("${" + variable + "}", rendered)
    return text


def bucket_names(bucket: Resource) -> tuple[str, ...]:
    """Symbolic names of the bucket: ``${Logical}`` and its BucketName as written."""
    names = ["${" + bucket.logical_id + "}"]
    written = symbolic(bucket.raw_properties.get("BucketName"))
    if written:
        names.append(written)
    return tuple(names)


def bucket_arns(bucket: Resource) -> tuple[str, ...]:
    """The bucket's ARN: resolved when known, and every symbolic form of it."""
    arns = [arn] if isinstance(arn := bucket.attributes.get("Arn"), str) else []
    arns.append("${" + bucket.logical_id + ".Arn}")
    for name in bucket_names(bucket):
        arns += [f"arn:${{AWS::Partition}}:s3:::{name}", f"arn:aws:s3:::{name}"]
    return tuple(arns)


def policy_names_bucket(policy: Resource, bucket: Resource) -> bool:
    """Does the policy's ``Bucket`` as written name ``bucket`` (Ref, or the same expression)?"""
    written = policy.raw_properties.get("Bucket")
    if bucket.logical_id in referenced_names(written):
        return True
    return symbolic(written) in bucket_names(bucket)


def covers(patterns: tuple[Any, ...], arns: tuple[str, ...], suffix: str) -> bool | None:
    """Does any pattern (resolved or symbolic) cover one of ``arns`` + ``suffix``?"""
    unsure = False
    for pattern in patterns:
        text = pattern if isinstance(pattern, str) else symbolic(pattern)
        if text is None:
            unsure = True
        elif any(resource_matches(text, arn + suffix) for arn in arns):
            return True
    return None if unsure else False

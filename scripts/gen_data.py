"""Regenerate the data files the engine ships, from maintained sources installed in the venv.

    .venv/bin/python scripts/gen_data.py          # write
    .venv/bin/python scripts/gen_data.py --check  # exit 1 when a file is stale (tests run this)

Sources (all maintained upstream, none typed by hand here):

- moto's copy of the AWS managed policies (name, path, default version document);
- cfn-lint's bundled CloudFormation resource schemas (which types are taggable, and how);
- cfn-lint's bundled IAM action data (``AdditionalSpecs/Policies.json``: actions per service and
  whether they take resource-level permissions);
- cfn-lint's region list;
- cfn-lint's Lambda runtime lifecycle (deprecation dates and successors);
- docs/rule-catalog.md (the rule ids a suppression may name).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "layers/engine/stack_auditor/data"


def managed_policies() -> bytes:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    policies = json.loads(aws_managed_policies_data)
    slim = {
        name: {"path": body["Path"], "document": body["Document"]}
        for name, body in sorted(policies.items())
    }
    text = json.dumps(slim, sort_keys=True, separators=(",", ":")).encode()
    return gzip.compress(text, mtime=0)


def _compact_json(data: object) -> bytes:
    return (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode()


# The catalog (iam-wildcard-resource) names cloudwatch:PutMetricData as an action without
# resource-level permissions; the service authorization data lists an optional "dataset"
# resource for it, which no real policy scopes to. The contract wins for these.
NO_RESOURCE_LEVEL_OVERRIDES = ("cloudwatch:putmetricdata",)

# SAM resource types are not in the CloudFormation registry schemas; their Tags are maps
# (AWS::Serverless::* specification). Needed only when a SAM template cannot be expanded.
SAM_TAGGABLE = (
    "AWS::Serverless::Api",
    "AWS::Serverless::Application",
    "AWS::Serverless::Function",
    "AWS::Serverless::GraphQLApi",
    "AWS::Serverless::HttpApi",
    "AWS::Serverless::SimpleTable",
    "AWS::Serverless::StateMachine",
)


def taggable_types() -> bytes:
    """Type -> [tag property path, "list" | "map"] for every taggable type (us-east-1 schemas)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    result: dict[str, list[str]] = {}
    for type_name in sorted(PROVIDER_SCHEMA_MANAGER.get_resource_types("us-east-1")):
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", type_name).schema
        tagging = schema.get("tagging")
        if tagging is None:
            # No tagging metadata: taggable when the schema has a Tags property at all.
            if "Tags" not in schema.get("properties", {}):
                continue
            tag_property = "/properties/Tags"
        elif not tagging.get("taggable", True):
            continue
        else:
            tag_property = tagging.get("tagProperty", "/properties/Tags")
        path = tag_property.removeprefix("/properties/")
        result[type_name] = [path, _tag_form(schema, path.split("/"))]
    for type_name in SAM_TAGGABLE:
        result[type_name] = ["Tags", "map"]
    return _compact_json(result)


def _tag_form(schema: dict[str, Any], path: list[str]) -> str:
    node: dict[str, Any] = {"properties": schema.get("properties", {})}
    for part in path:
        node = _deref(schema, node)
        node = node.get("items", {}) if part == "*" else node.get("properties", {}).get(part, {})
    node = _deref(schema, node)
    return "list" if node.get("type") == "array" or "items" in node else "map"


def _deref(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def iam_actions() -> bytes:
    """Service prefix -> {"r": actions with resource-level permissions, "n": without}.

    Action names are lower case (IAM compares them case-insensitively), space-separated and
    gzipped: ~19k actions would otherwise be half a megabyte of JSON punctuation.
    """
    import cfnlint.data.AdditionalSpecs

    raw = resources.files(cfnlint.data.AdditionalSpecs).joinpath("Policies.json").read_text()
    services = json.loads(raw)
    result: dict[str, dict[str, str]] = {}
    for prefix in sorted(services):
        with_resources, without = [], []
        for action, body in sorted(services[prefix].get("Actions", {}).items()):
            supports = bool(body.get("Resources"))
            if f"{prefix}:{action}" in NO_RESOURCE_LEVEL_OVERRIDES:
                supports = False
            (with_resources if supports else without).append(action)
        result[prefix] = {"r": " ".join(with_resources), "n": " ".join(without)}
    return gzip.compress(_compact_json(result), mtime=0)


def regions() -> bytes:
    from cfnlint.helpers import REGIONS

    return _compact_json(sorted(REGIONS))


def lambda_runtimes() -> bytes:
    """Runtime -> {"deprecated": date, "successor": runtime}: AWS's Lambda deprecation schedule.

    cfn-lint's ``AdditionalSpecs/LmbdRuntimeLifecycle.json`` transcribes
    https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html and is kept current.
    """
    import cfnlint.data.AdditionalSpecs

    spec = resources.files(cfnlint.data.AdditionalSpecs).joinpath("LmbdRuntimeLifecycle.json")
    lifecycle = json.loads(spec.read_text())
    slim = {
        runtime: {"deprecated": body.get("deprecated"), "successor": body.get("successor")}
        for runtime, body in sorted(lifecycle.items())
    }
    return (json.dumps(slim, sort_keys=True, indent=1) + "\n").encode()


CATALOG_DOC = Path(__file__).resolve().parent.parent / "docs/rule-catalog.md"
_CATALOG_ROW = re.compile(r"^\|\s*`([a-z0-9-]+)`\s*\|\s*([A-Za-z ]+?)\s*\|", re.MULTILINE)


def rule_ids() -> bytes:
    """Every rule id of the catalog (suppressions may name rules not implemented yet)."""
    ids = sorted({m.group(1) for m in _CATALOG_ROW.finditer(CATALOG_DOC.read_text())})
    return _compact_json(ids)


GENERATORS: dict[str, Callable[[], bytes]] = {
    "aws_managed_policies.json.gz": managed_policies,
    "taggable_types.json": taggable_types,
    "iam_actions.json.gz": iam_actions,
    "regions.json": regions,
    "rule_ids.json": rule_ids,
    "lambda_runtimes.json": lambda_runtimes,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when a file is stale")
    args = parser.parse_args()
    stale = []
    for name, generate in GENERATORS.items():
        content = generate()
        target = DATA / name
        if target.exists() and target.read_bytes() == content:
            continue
        if args.check:
            stale.append(name)
        else:
            target.write_bytes(content)
            shown = target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target
            print(f"wrote {shown}")
    if stale:
        print("stale data files (run scripts/gen_data.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

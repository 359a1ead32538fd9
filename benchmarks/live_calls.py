"""AWS API calls per stack resource of a live audit, against a moto server.

    .venv/bin/python benchmarks/live_calls.py [--sizes 10 50 200] [--runs 3] [--json FILE]

Deploys the benchmark's generated serverless stacks (benchmarks/generate.py: key, table,
queues, topic, bucket, role, policy, function, log group, alarm, event source mapping per
service) into a moto server through CloudFormation, then audits each one the way the Lambda
does (``run_audit`` with the live side, every catalog rule selected) and counts the API
operations the clients made (botocore ``before-call`` events: retries are not counted twice).
Reported: live-collector calls per stack resource (the issue's target is <= 1.5), the
CloudFormation reads of the snapshot, and wall time of the collection and of the whole audit.
Wall times come from one machine and one local emulator: compare them with each other, not
with real AWS latencies.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate

REGION = "us-east-1"


@contextmanager
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _session() -> Any:
    import boto3

    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


def _zip(source: str) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def _upload_code(endpoint: str, template: dict[str, Any]) -> None:
    """The functions' packages, where the template says they are (as ``sam deploy`` would)."""
    s3 = _session().client("s3", endpoint_url=endpoint)
    package = _zip("def handler(event, context):\n    return process(event)\n")
    for body in template["Resources"].values():
        code = body.get("Properties", {}).get("Code", {})
        if "S3Bucket" in code:
            with suppress(s3.exceptions.BucketAlreadyOwnedByYou):
                s3.create_bucket(Bucket=code["S3Bucket"])
            s3.put_object(Bucket=code["S3Bucket"], Key=code["S3Key"], Body=package)


def _tag_keys_after_create(endpoint: str, name: str, template: dict[str, Any]) -> None:
    """moto's CloudFormation fails on AWS::KMS::Key Tags (KeyError 'TagKey'): the keys are
    created untagged and tagged through the KMS API, which is what the stack would hold."""
    cfn = _session().client("cloudformation", endpoint_url=endpoint)
    kms = _session().client("kms", endpoint_url=endpoint)
    physical = {
        summary["LogicalResourceId"]: summary["PhysicalResourceId"]
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=name)
        for summary in page["StackResourceSummaries"]
    }
    for logical_id, tags in _kms_tags(template).items():
        key_id = physical[logical_id]
        kms.tag_resource(
            KeyId=key_id, Tags=[{"TagKey": t["Key"], "TagValue": str(t["Value"])} for t in tags]
        )


def _kms_tags(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {
        logical_id: body["Properties"].get("Tags") or []
        for logical_id, body in template["Resources"].items()
        if body["Type"] == "AWS::KMS::Key"
    }


def deploy(endpoint: str, name: str, size: int) -> int:
    """Create the stack; returns how many resources CloudFormation created."""
    cfn = _session().client("cloudformation", endpoint_url=endpoint)
    template = generate(size)
    _upload_code(endpoint, template)
    deployable = json.loads(json.dumps(template))
    for logical_id in _kms_tags(deployable):
        deployable["Resources"][logical_id]["Properties"].pop("Tags", None)
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(deployable),
        Parameters=[{"ParameterKey": "EnvironmentSuffix", "ParameterValue": "bench"}],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    if status != "CREATE_COMPLETE":
        raise SystemExit(f"{name}: {status}")
    _tag_keys_after_create(endpoint, name, template)
    from stack_auditor.collect.clients import Clients
    from stack_auditor.emulator_fixups import repair_deployment

    repair_deployment(Clients(_session(), endpoint_url=endpoint, region=REGION), name)
    summaries = cfn.get_paginator("list_stack_resources").paginate(StackName=name)
    return sum(len(page["StackResourceSummaries"]) for page in summaries)


def audit_once(endpoint: str, name: str) -> dict[str, Any]:
    from stack_auditor.collect.clients import CallCounter, Clients
    from stack_auditor.collect.cloudformation import snapshot_from_stack
    from stack_auditor.collect.runner import collect_live
    from stack_auditor.config import AuditConfig
    from stack_auditor.evaluate import evaluate
    from stack_auditor.model import StackRef
    from stack_auditor.rules import CATALOG

    counter = CallCounter()
    clients = Clients(_session(), endpoint_url=endpoint, region=REGION, counter=counter)
    ref = StackRef(name, account="123456789012", region=REGION, trigger="audit")
    start = time.perf_counter()
    snapshot = snapshot_from_stack(clients("cloudformation"), ref)
    stack_calls = counter.total
    collected = time.perf_counter()
    live = collect_live(snapshot, clients, CATALOG)
    collect_seconds = time.perf_counter() - collected
    verdicts = evaluate(live, AuditConfig())
    total_seconds = time.perf_counter() - start
    live_calls = Counter(
        {k: v for k, v in counter.calls.items() if not k.startswith("cloudformation:")}
    )
    return {
        "resources": len(snapshot.resources),
        "stack_calls": stack_calls,
        "live_calls": sum(live_calls.values()),
        "by_operation": dict(sorted(live_calls.items())),
        "gaps": [f"{g.scope} {g.what} {g.reason}" for g in live.gaps],
        "verdicts": len(verdicts),
        "collect_seconds": collect_seconds,
        "audit_seconds": total_seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    rows = []
    with moto_server() as endpoint:
        for size in args.sizes:
            name = f"bench-live-{size}"
            created = deploy(endpoint, name, size)
            runs = [audit_once(endpoint, name) for _ in range(args.runs)]
            first = runs[0]
            rows.append(
                {
                    "size": size,
                    "created": created,
                    **{k: first[k] for k in ("resources", "stack_calls", "live_calls")},
                    "calls_per_resource": first["live_calls"] / first["resources"],
                    "all_calls_per_resource": (first["live_calls"] + first["stack_calls"])
                    / first["resources"],
                    "collect_seconds": statistics.median(r["collect_seconds"] for r in runs),
                    "audit_seconds": statistics.median(r["audit_seconds"] for r in runs),
                    "by_operation": first["by_operation"],
                    "gaps": first["gaps"],
                    "runs": args.runs,
                }
            )

    print(
        "| stack | resources | live calls | per resource | + CloudFormation reads | "
        "all per resource | collect (median) | whole audit (median) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| generated, {row['size']} | {row['resources']} | {row['live_calls']} | "
            f"{row['calls_per_resource']:.2f} | {row['stack_calls']} | "
            f"{row['all_calls_per_resource']:.2f} | {row['collect_seconds']:.2f} s | "
            f"{row['audit_seconds']:.2f} s |"
        )
    for row in rows:
        print(f"\n{row['size']} resources, calls by operation: {row['by_operation']}")
        if row["gaps"]:
            print(f"  gaps ({len(row['gaps'])}): {row['gaps'][:5]}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

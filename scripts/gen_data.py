"""Regenerate the data files the engine ships, from maintained sources installed in the venv.

    .venv/bin/python scripts/gen_data.py          # write
    .venv/bin/python scripts/gen_data.py --check  # exit 1 when a file is stale (tests run this)

Sources: moto's copy of the AWS managed policies (name, path, default version document).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Callable
from pathlib import Path

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


GENERATORS: dict[str, Callable[[], bytes]] = {
    "aws_managed_policies.json.gz": managed_policies,
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
            print(f"wrote {target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target}")
    if stale:
        print("stale data files (run scripts/gen_data.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

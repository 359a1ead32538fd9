#!/usr/bin/env bash
# The demo, from a fresh clone: sets up .venv, then runs the auditor's main job against moto's
# server on a free loopback port (sample stacks deployed, stack events pushed through the real
# handler, findings and alerts printed, server stopped). No AWS account needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python demo/run_demo.py "$@"

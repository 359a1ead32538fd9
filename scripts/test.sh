#!/usr/bin/env bash
# The whole test suite, from a fresh clone: sets up .venv (and .sam-venv for the SAM CLI),
# then ruff, mypy, the data-freshness check, pytest, and the `sam local invoke` test on the
# local container runtime from ../shared/tools/sam-local. Exit status is the first failure's.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*"; }

step "bootstrap .venv"
bash scripts/bootstrap.sh
step "bootstrap .sam-venv (AWS SAM CLI)"
bash scripts/sam-venv.sh

step "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
step "mypy"
.venv/bin/mypy

step "pytest"
.venv/bin/pytest -q -p no:cacheprovider

step "sam local invoke (local container runtime)"
bash scripts/sam-local-test.sh

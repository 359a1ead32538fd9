#!/usr/bin/env bash
# The benchmark, from a fresh clone: sets up .venv (scripts/bootstrap.sh) and the peers'
# environment benchmarks/.venv-peers (cfn-lint and checkov at pinned versions, apart from the
# project's pins), then runs benchmarks/run.py, which writes docs/benchmarks.md and prints it.
# Takes several minutes: the peers need seconds per template. Arguments go to run.py
# (--runs N, --corpus-runs N).
set -euo pipefail
cd "$(dirname "$0")/.."
quiet_pip() { grep -v "^WARNING: Location .* is ignored" || true; }

CFN_LINT_VERSION=1.58.0
CHECKOV_VERSION=3.3.30
PEERS=benchmarks/.venv-peers

bash scripts/bootstrap.sh
stamp=$PEERS/.installed-cfn-lint-$CFN_LINT_VERSION-checkov-$CHECKOV_VERSION
if [ ! -f "$stamp" ]; then
  # The peers run on the interpreter .venv was made from (checkov supports 3.9 to 3.13).
  base=$(.venv/bin/python -c 'import sys; print(sys._base_executable)')
  rm -rf "$PEERS"
  "$base" -m venv "$PEERS"
  "$PEERS/bin/python" -m pip install -q --disable-pip-version-check \
    "cfn-lint==$CFN_LINT_VERSION" "checkov==$CHECKOV_VERSION" 2>&1 | quiet_pip
  touch "$stamp"
fi
# Bytecode as in a real install (this machine's shell may set PYTHONDONTWRITEBYTECODE).
unset PYTHONDONTWRITEBYTECODE
exec .venv/bin/python benchmarks/run.py "$@"

#!/usr/bin/env bash
# Create .venv (Python 3.13 when pyenv has it: the Lambda runtime) and install the engine
# package editable with its dev extra. Idempotent: re-running only re-checks.
set -euo pipefail
cd "$(dirname "$0")/.."
# pip warns about every index location of this machine's pip config that does not exist;
# drop those lines and keep the rest (pipefail keeps pip's exit status).
quiet_pip() { grep -v "^WARNING: Location .* is ignored" || true; }
pick_python() {
  for v in 3.13 3.12 3.11; do
    if command -v pyenv >/dev/null 2>&1; then
      p=$(ls -d "$(pyenv root)"/versions/$v* 2>/dev/null | sort -V | tail -1)
      if [ -n "$p" ] && [ -x "$p/bin/python$v" ]; then echo "$p/bin/python$v"; return; fi
    fi
    if command -v "python$v" >/dev/null 2>&1; then command -v "python$v"; return; fi
  done
  echo python3
}
if [ ! -x .venv/bin/python ]; then
  "$(pick_python)" -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | quiet_pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | quiet_pip
  rm -f .venv/.installed-*; touch "$stamp"
fi

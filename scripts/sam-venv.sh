#!/usr/bin/env bash
# Create .sam-venv, a virtualenv holding only the pinned AWS SAM CLI (its pins clash with the
# project's .venv), and .sam-venv/bin/samw, the wrapper every script and test calls instead of
# `sam`. Idempotent: a second run only checks (well under a second).
#
# Why the wrapper: `sam build` for a python3.13 function/layer needs an executable named
# python3.13 on PATH. With pyenv that is the shim plus PYENV_VERSION listing 3.13 (the global
# version first, so `python` stays what it was); without pyenv, the directory of the
# interpreter found below. The wrapper also turns SAM's telemetry off (no internet here).
#
# Usage: bash scripts/sam-venv.sh        then .sam-venv/bin/samw <sam arguments>
set -euo pipefail
cd "$(dirname "$0")/.."
# pip warns about every index location of this machine's pip config that does not exist;
# drop those lines and keep the rest (pipefail keeps pip's exit status).
quiet_pip() { grep -v "^WARNING: Location .* is ignored" || true; }

SAM_CLI_VERSION=1.170.0
VENV=.sam-venv

pyenv_root() { command -v pyenv >/dev/null 2>&1 && pyenv root; }

newest_pyenv_version() { # newest installed pyenv version directory matching $1 (e.g. 3.13)
  local root; root=$(pyenv_root) || return 1
  ls -d "$root"/versions/"$1"* 2>/dev/null | sort -V | tail -1
}

pick_python313() {
  local dir
  if dir=$(newest_pyenv_version 3.13) && [ -n "$dir" ] && [ -x "$dir/bin/python3.13" ]; then
    echo "$dir/bin/python3.13"; return
  fi
  if command -v python3.13 >/dev/null 2>&1; then command -v python3.13; return; fi
  echo "sam-venv.sh: no python3.13 found (pyenv versions/3.13* or python3.13 on PATH);" \
       "the Lambda runtime is python3.13 and sam build needs it" >&2
  exit 1
}

PY313=$(pick_python313)

# A venv from another interpreter version (or a broken one) is rebuilt.
if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c \
    'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
  echo "sam-venv.sh: $VENV is not a Python 3.13 venv; recreating it" >&2
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PY313" -m venv "$VENV"
fi

stamp="$VENV/.installed-aws-sam-cli-$SAM_CLI_VERSION"
if [ ! -f "$stamp" ] || [ ! -x "$VENV/bin/sam" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | quiet_pip
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "aws-sam-cli==$SAM_CLI_VERSION" 2>&1 | quiet_pip
  rm -f "$VENV"/.installed-aws-sam-cli-*
  touch "$stamp"
fi

# The wrapper is rewritten on every run so that it always matches this machine's pyenv.
path_prefix=$(dirname "$PY313")
pyenv_version=""
if root=$(pyenv_root); then
  path_prefix="$root/shims:$path_prefix"
  global=$(pyenv version-name 2>/dev/null || true)
  v313=$(basename "$(newest_pyenv_version 3.13)")
  v312=$(basename "$(newest_pyenv_version 3.12 || true)" 2>/dev/null || true)
  pyenv_version=$(printf '%s\n' "$global" "$v313" "$v312" | awk 'NF && $0 != "system" && !seen[$0]++' | paste -sd: -)
fi
wrapper="$VENV/bin/samw"
tmp=$(mktemp "$VENV/bin/.samw.XXXXXX")
cat >"$tmp" <<EOF
#!/usr/bin/env bash
# Written by scripts/sam-venv.sh: the pinned SAM CLI with python3.13 on PATH for sam build.
export PATH="$path_prefix:\$PATH"
${pyenv_version:+export PYENV_VERSION="$pyenv_version"}
export SAM_CLI_TELEMETRY=0
exec "\$(dirname "\$0")/sam" "\$@"
EOF
chmod +x "$tmp"
mv -f "$tmp" "$wrapper"

"$wrapper" --version >/dev/null

#!/usr/bin/env bash
# The `sam local invoke` end-to-end test (tests/sam_local): sets up the local container runtime
# from ../shared/tools/sam-local (podman + a Lambda python3.13 image stand-in; ~45 s and root
# the first time, ~0.2 s after), exports the variables it prints (DOCKER_HOST, ...), makes sure
# .venv and .sam-venv exist, then runs the test directory. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

runtime="$(pwd)/../shared/tools/sam-local/sam-local-runtime.sh"
if [ ! -f "$runtime" ]; then
  echo "sam-local-test.sh: $runtime not found (shared/ must sit beside the repository)" >&2
  exit 1
fi

out=$(bash "$runtime")
grep -v '^export ' <<<"$out" || true
eval "$(grep '^export ' <<<"$out")"

bash scripts/bootstrap.sh
bash scripts/sam-venv.sh

exec .venv/bin/pytest tests/sam_local -q -p no:cacheprovider "$@"

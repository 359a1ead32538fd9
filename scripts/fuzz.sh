#!/usr/bin/env bash
# Full-size robustness run (docs/robustness.md): 10,000 generated events and 10,000 generated
# templates (FUZZ_EXAMPLES to change), randomly seeded, with the leak and injection tests.
# Prints the figures and writes them to benchmarks/results/fuzz.json (FUZZ_RESULTS to change).
# Extra arguments go to pytest, e.g. `bash scripts/fuzz.sh -k event`.
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_EXAMPLES="${FUZZ_EXAMPLES:-10000}"
export FUZZ_RESULTS="${FUZZ_RESULTS:-benchmarks/results/fuzz.json}"
exec .venv/bin/pytest -q -p no:cacheprovider \
    tests/robustness/test_fuzz_event.py \
    tests/robustness/test_fuzz_template.py \
    tests/robustness/test_alert_injection.py \
    tests/robustness/test_secret_canaries.py \
    tests/robustness/test_redact.py \
    "$@"

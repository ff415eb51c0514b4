#!/usr/bin/env bash
# Runs the whole suite; pytest's "no tests collected" (exit 5) is a failure, not a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
# Four processes by default: most of the suite waits on a browser, a socket or PostgreSQL (with three, the two cores
# were busy little more than half the time); DISPATCH_TEST_WORKERS=0 runs it in this one. Tests that share the
# bench's databases stay on one worker (tests/conftest.py).
workers="${DISPATCH_TEST_WORKERS:-4}"
if [ "$workers" -gt 0 ] 2>/dev/null; then
  .venv/bin/python -m pytest -n "$workers" --dist loadgroup "$@"
else
  .venv/bin/python -m pytest "$@"
fi
status=$?
if [ "$status" = 5 ]; then
  echo "run-tests: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$status"

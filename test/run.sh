#!/usr/bin/env bash
# The test command (README, .ci/run): typecheck, then every test file with
# node's test runner. `test/run.sh unit` runs only the colocated unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# Typecheck and build (tsc emits dist/, the SDK bundle): the CLI the tests run is the one bin/axe.js runs.
npm run build --silent
export AXE_TEST_CLI=dist
mode="${1:-all}"
# What the machine is, for reading the timings: CPUs and the Docker engine's storage driver.
echo "# test machine: $(nproc) CPUs, docker storage driver: $(docker info --format '{{.Driver}}' 2>/dev/null || echo none)"
dirs=(contracts core onboarding schemas cli providers reconcilers controller mcp lab bench)
find_tests() { find "$@" -name '*.test.ts' -not -path '*/node_modules/*' 2>/dev/null | sort; }
mapfile -t unit < <(find_tests "${dirs[@]}")
if [ "${#unit[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
run() { node --import tsx --test --test-reporter=spec --test-timeout=900000 "$@"; }
# The colocated unit tests touch only their own temp dirs and loopback ports: as many at once as there are CPUs.
rc=0
run --test-concurrency="$(nproc)" "${unit[@]}" || rc=$?
[ "$mode" = unit ] && exit "$rc"
# test/: the lab tests share one Docker engine and the lab's images; one file at a time.
mapfile -t lab < <(find_tests test)
run --test-concurrency=1 "${lab[@]}" || rc=$?
exit "$rc"

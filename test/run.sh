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
# A test's (and a whole file's) timeout: 15 min unless test_timeout says otherwise.
run() { node --import tsx --test --test-reporter=spec --test-timeout="${test_timeout:-900000}" "$@"; }
# The colocated unit tests touch only their own temp dirs and loopback ports: as many at once as there are CPUs.
rc=0
run --test-concurrency="$(nproc)" "${unit[@]}" || rc=$?
[ "$mode" = unit ] && exit "$rc"
# test/: each lab file has a lab of its own (test/lab-fixture.ts: own state dir, hosts, users, ports, customer
# ids) on the one Docker engine and its shared stand-in images; one file at a time. Two files side by side were
# tried on 2 CPUs: each ran 2-3x slower, the lab phase took 1497 s against 1479 s (2026-12-06).
# A test's (and a whole file's) timeout is 30 min here: a lab file is long on a slow machine.
mapfile -t lab < <(find_tests test)
# Once: the service stand-ins' images from older sources untagged (test/prepare-lab.ts).
node --import tsx test/prepare-lab.ts
export AXE_TEST_LAB_PREPARED=1
test_timeout=1800000 run --test-concurrency=1 "${lab[@]}" || rc=$?
exit "$rc"

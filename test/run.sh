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
# A test's (and a whole file's) timeout: 15 min for unit files, 30 for a lab file (test/) on a slow machine.
run() { node --import tsx --test --test-reporter=spec --test-timeout="${test_timeout:-900000}" "$@"; }
# The colocated unit tests touch only their own temp dirs and loopback ports: as many at once as there are CPUs.
rc=0
run --test-concurrency="$(nproc)" "${unit[@]}" || rc=$?
[ "$mode" = unit ] && exit "$rc"
# test/: each lab file has a lab of its own (test/lab-fixture.ts: own state dir, hosts, users, ports, customer
# ids) on the one Docker engine and its shared stand-in images. One file at a time by default: on 2 CPUs two
# lanes side by side made every lab file 2-3x slower: the lab phase took 1497 s in two lanes, 1479 s in one (measured 2026-12-06). AXE_TEST_LANES=2
# runs two lanes, each one file at a time: the longest files (LANE_A) in one, the rest in the other; their
# output is prefixed A| and B|. For a machine with more CPUs.
mapfile -t lab < <(find_tests test)
test_timeout=1800000
LANE_A=(test/deploy.test.ts test/controller-lab.test.ts)
# Once, before the lanes: the stand-in images built, stale service images untagged (test/prepare-lab.ts).
node --import tsx test/prepare-lab.ts
export AXE_TEST_LAB_PREPARED=1
if [ "${AXE_TEST_LANES:-1}" != 2 ]; then
  run --test-concurrency=1 "${lab[@]}" || rc=$?
  exit "$rc"
fi
a=() b=()
for f in "${lab[@]}"; do
  if printf '%s\n' "${LANE_A[@]}" | grep -qxF "$f"; then a+=("$f"); else b+=("$f"); fi
done
lanes=$(mktemp -d)
( run --test-concurrency=1 "${a[@]}"; echo $? > "$lanes/a" ) 2>&1 | sed -u 's/^/A| /' &
( run --test-concurrency=1 "${b[@]}"; echo $? > "$lanes/b" ) 2>&1 | sed -u 's/^/B| /' &
wait
for lane in a b; do
  code=$(cat "$lanes/$lane" 2>/dev/null || echo 1)
  [ "$code" = 0 ] || { echo "# lane ${lane^^} failed (exit $code)"; rc=1; }
done
rm -rf "$lanes"
exit "$rc"

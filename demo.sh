#!/usr/bin/env bash
# The lab demo on a fresh machine (root): installs what is missing (Docker
# engine, Compose v2, sshd, busybox; npm packages), builds axe, and runs
# `axe demo` — the main job on the embedded default. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
bash lab/setup/install-system.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
npm run --silent build
exec node bin/axe.js demo

#!/usr/bin/env bash
# The lab demo on a fresh machine: installs what is missing (Docker engine,
# Compose v2, sshd, busybox; npm packages), builds axe once, and runs
# `axe demo` — the main job on the embedded default. Idempotent.
# It needs root: run as root it goes on as it is (no sudo needed, as in a
# container); run as another user it asks sudo for root once, here.
set -euo pipefail
cd "$(dirname "$0")"
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -- "$(pwd)/demo.sh" "$@"; fi
  echo "demo.sh: needs root (it installs Debian packages and starts dockerd), and sudo is not installed; run it as root" >&2
  exit 1
fi
bash lab/setup/install-system.sh
# `npm ci` builds through the `prepare` script; build only when it did not run.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm run --silent build
fi
exec node bin/axe.js demo

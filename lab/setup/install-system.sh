#!/usr/bin/env bash
# Installs and starts the system parts the lab needs, idempotently, as root:
# Docker engine (Debian docker.io), Compose v2 (the plugin from Debian trixie's
# docker-compose package, unpacked without mixing suites), openssh-server,
# busybox-static (for the FROM-scratch stand-in images), git, restic (backups).
# Safe to run again: each step checks before it acts.
set -euo pipefail

log() { printf 'install-system: %s\n' "$*" >&2; }

# Root is needed. As root it goes on as it is (no sudo needed, as in a
# container); as another user it asks sudo for root once, here.
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -- bash "$(cd "$(dirname "$0")" && pwd)/$(basename "$0")" "$@"; fi
  log "must run as root (it installs Debian packages and starts dockerd), and sudo is not installed; run it as root"
  exit 1
fi

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v /usr/sbin/sshd >/dev/null 2>&1 || need_pkgs+=(openssh-server)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx httpd || need_pkgs+=(busybox-static)
command -v git >/dev/null 2>&1 || need_pkgs+=(git)
command -v ssh-keygen >/dev/null 2>&1 || need_pkgs+=(openssh-client)
# promtool (alert-rule unit tests, PromQL checks) and a real Prometheus for the scrape test.
command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)
# A real Alertmanager (the controller posts its alerts there) and amtool.
command -v amtool >/dev/null 2>&1 || need_pkgs+=(prometheus-alertmanager)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
# Every shell file the project ships is checked by shellcheck in the tests.
command -v shellcheck >/dev/null 2>&1 || need_pkgs+=(shellcheck)
# restic: the backup kind's repository on every lab host (called by absolute path, /usr/bin/restic).
command -v restic >/dev/null 2>&1 || need_pkgs+=(restic)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "apt-get install ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

plugin=/usr/libexec/docker/cli-plugins/docker-compose
if ! docker compose version >/dev/null 2>&1; then
  log "installing Compose v2 plugin from Debian trixie's docker-compose package"
  uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
  work=$(mktemp -d)
  echo "deb $uri trixie main" > "$work/trixie.list"
  o=(-o "Dir::Etc::SourceList=$work/trixie.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$work/lists")
  mkdir -p "$work/lists/partial"
  apt-get "${o[@]}" update -qq
  (cd "$work" && apt-get "${o[@]}" download docker-compose >/dev/null)
  dpkg -x "$work"/docker-compose_*.deb "$work/x"
  install -D -m755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" "$plugin"
  rm -rf "$work"
fi
# The lab's hosts reach compose through the docker CLI; make it visible to
# every docker client on the machine (the Debian docker.io client and any other).
for d in /usr/local/lib/docker/cli-plugins /usr/lib/docker/cli-plugins; do
  if [ ! -e "$d/docker-compose" ]; then mkdir -p "$d" && ln -sf "$plugin" "$d/docker-compose"; fi
done

# Each lab customer uses a few docker networks; the engine's default pools hold
# about 30. Give it a larger private pool for the project's own networks.
if [ ! -e /etc/docker/daemon.json ]; then
  mkdir -p /etc/docker
  printf '{\n  "default-address-pools": [{ "base": "10.210.0.0/16", "size": 24 }]\n}\n' > /etc/docker/daemon.json
elif ! grep -q default-address-pools /etc/docker/daemon.json; then
  log "note: /etc/docker/daemon.json has no default-address-pools; a large lab may run out of docker networks"
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  mkdir -p /var/log
  nohup dockerd >/var/log/axe-lab-dockerd.log 2>&1 &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not answer within 60 s; see /var/log/axe-lab-dockerd.log"; exit 1; }
fi
getent group docker >/dev/null || groupadd docker
log "ready: $(docker version --format 'engine {{.Server.Version}}') / $(docker compose version --short 2>/dev/null | sed 's/^/compose /')"

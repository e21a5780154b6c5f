#!/bin/sh
# schedule.sh DIR once|loop|install HASH — the host's own backup schedule, run without the controller.
# install: (re)installs it — a LaunchDaemon (system domain, StartInterval from backup.conf)
#   where launchctl exists, else the detached loop — and records HASH in $DIR/schedule.hash.
# once: one scheduled run (what the LaunchDaemon starts every interval on macOS): a
#   snapshot, then a restore drill when the last one is older than VERIFY_DAYS.
# loop: the lab hosts' stand-in for launchd (no launchd there): sleeps the interval, then
#   runs `once`, forever; started detached by axe, its pid in $DIR/schedule.pid.
set -eu
DIR=${1:?usage: schedule.sh DIR once|loop}
MODE=${2:-once}
BIN=$(dirname "$0")

once() {
  "$BIN/backup.sh" "$DIR" schedule || true
  at=$(sed -n 's/^at=//p' "$DIR/last-verify" 2>/dev/null || true)
  # shellcheck source=/dev/null
  days=$(. "$DIR/backup.conf" && printf '%s' "$VERIFY_DAYS")
  if [ -z "$at" ] || [ $(( $(date +%s) - at )) -ge $(( days * 86400 )) ]; then "$BIN/verify.sh" "$DIR" latest schedule || true; fi
}

LABEL=ai.axelabs.backup
if [ "$MODE" = install ]; then
  HASH=${3:?usage: schedule.sh DIR install HASH}
  # shellcheck source=/dev/null
  interval=$(. "$DIR/backup.conf" && printf '%s' "$INTERVAL_SECONDS")
  if [ -x /bin/launchctl ]; then
    plist=/Library/LaunchDaemons/$LABEL.plist
    {
      printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">'
      printf '<plist version="1.0"><dict><key>Label</key><string>%s</string>\n' "$LABEL"
      printf '<key>ProgramArguments</key><array><string>/bin/sh</string><string>%s/schedule.sh</string><string>%s</string><string>once</string></array>\n' "$BIN" "$DIR"
      printf '<key>UserName</key><string>%s</string><key>StartInterval</key><integer>%s</integer>\n' "$(id -un)" "$interval"
      printf '<key>StandardErrorPath</key><string>%s/schedule.log</string></dict></plist>\n' "$DIR"
    } | /usr/bin/sudo -n /usr/bin/tee "$plist" >/dev/null || { echo "sudo without a password is needed for launchctl in the system domain" >&2; exit 6; }
    /usr/bin/sudo -n /bin/launchctl bootout "system/$LABEL" 2>/dev/null || true
    /usr/bin/sudo -n /bin/launchctl bootstrap system "$plist"
  else
    old=$(cat "$DIR/schedule.pid" 2>/dev/null || true)
    if [ -n "$old" ]; then kill -- "-$old" 2>/dev/null || kill "$old" 2>/dev/null || true; fi
    if [ -x /usr/bin/setsid ]; then
      /usr/bin/setsid nohup /bin/sh "$BIN/schedule.sh" "$DIR" loop < /dev/null > /dev/null 2>&1 &
    else
      nohup /bin/sh "$BIN/schedule.sh" "$DIR" loop < /dev/null > /dev/null 2>&1 &
    fi
    echo $! > "$DIR/schedule.pid"
  fi
  printf '%s\n' "$HASH" > "$DIR/schedule.hash"
  exit 0
fi
if [ "$MODE" = once ]; then once; exit 0; fi
while :; do
  # shellcheck source=/dev/null
  interval=$(. "$DIR/backup.conf" && printf '%s' "$INTERVAL_SECONDS")
  sleep "$interval"
  once >> "$DIR/schedule.log" 2>&1
done

#!/bin/sh
# observe.sh — the backup's read-only observation on the host, one section of axe's
# batched round trip. DIR (the backup directory) and TOOL_DIRS are set before it.
# Prints key=value lines; restic reads the password from its file, stdin is /dev/null.
R=""
for d in $TOOL_DIRS; do if [ -x "$d/restic" ]; then R="$d/restic"; break; fi; done
printf 'restic=%s\n' "$R"
if [ -x /bin/launchctl ]; then printf 'manager=launchd\n'; else printf 'manager=loop\n'; fi
cd "$DIR" 2>/dev/null || { printf 'dir=missing\nnow=%s\n' "$(date +%s)"; exit 0; }
sum() { if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -d" " -f1; else /usr/bin/shasum -a 256 | cut -d" " -f1; fi; }
mode() { stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1" 2>/dev/null; }
for f in backup.conf password bin/lib.sh bin/backup.sh bin/verify.sh bin/schedule.sh; do
  if [ -f "$f" ]; then printf 'file=%s %s %s\n' "$f" "$(sum < "$f")" "$(mode "$f")"; fi
done
if [ -x /bin/launchctl ]; then
  if /bin/launchctl print system/ai.axelabs.backup >/dev/null 2>&1; then printf 'schedule=running\n'; fi
else
  pid=$(cat schedule.pid 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then printf 'schedule=running\n'; fi
fi
if [ -f schedule.hash ]; then printf 'schedule_hash=%s\n' "$(cat schedule.hash)"; fi
if [ -f repo/config ]; then
  if [ -n "$R" ] && out=$(RESTIC_PASSWORD_FILE="$DIR/password" "$R" -r "$DIR/repo" snapshots --json --no-lock --latest 1 2>&1 < /dev/null); then
    printf 'latest=%s\n' "$(printf '%s' "$out" | tr -d '\n')"
  else
    printf 'repo_error=%s\n' "$(printf '%s\n' "$out" | grep -v '^$' | tail -n 1)"
  fi
  printf 'snapshots=%s\n' "$(find repo/snapshots -type f 2>/dev/null | wc -l | tr -d ' ')"
  printf 'size_kb=%s\n' "$(du -sk repo | cut -f1)"
else
  printf 'repo=absent\n'
fi
# The off-box repository backup.conf names (restic over sftp with the host's own SSH key):
# its newest snapshot and count, read live; its size and check come from the last run's record.
# shellcheck source=/dev/null
OFFSITE=$( (. ./backup.conf >/dev/null 2>&1 && printf '%s' "${OFFSITE:-}") 2>/dev/null || true)
if [ -n "$OFFSITE" ] && [ -n "$R" ]; then
  printf 'offsite=%s\n' "$OFFSITE"
  if out=$(RESTIC_PASSWORD_FILE="$DIR/password" "$R" -r "$OFFSITE" snapshots --json --no-lock --latest 1 2>"$DIR/.offsite.err" < /dev/null); then
    printf 'offsite_latest=%s\n' "$(printf '%s' "$out" | tr -d '\n')"
    printf 'offsite_snapshots=%s\n' "$(RESTIC_PASSWORD_FILE="$DIR/password" "$R" -r "$OFFSITE" list snapshots --no-lock 2>/dev/null < /dev/null | grep -c .)"
  else
    # restic's own Fatal line when there is one (after it, it names the location), else its last word.
    err=$(grep '^Fatal: ' "$DIR/.offsite.err" | tail -n 1)
    printf 'offsite_error=%s\n' "${err:-$(grep -v '^$' "$DIR/.offsite.err" | tail -n 1)}"
  fi
  rm -f "$DIR/.offsite.err"
fi
for f in last-run last-check last-verify last-offsite-check; do
  if [ -f "$f" ]; then sed "s/^/$f./" "$f"; fi
done
printf 'now=%s\n' "$(date +%s)"

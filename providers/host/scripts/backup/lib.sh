#!/bin/sh
# Shared by backup.sh, verify.sh and schedule.sh on the customer's host (sourced, not run).
# Reads $DIR/backup.conf (written by axe: no secret in it) and finds the tools by
# absolute path (a non-login SSH or launchd PATH lacks Homebrew's directories).
# shellcheck disable=SC2034 # variables used by the scripts that source this file

fail() { code=$1; shift; printf 'backup: %s\n' "$*" >&2; exit "$code"; }

# find_tool NAME: the first executable NAME in $TOOL_DIRS, or nothing.
find_tool() {
  for d in $TOOL_DIRS; do
    if [ -x "$d/$1" ]; then printf '%s\n' "$d/$1"; return 0; fi
  done
  return 0
}

# container PROJECT SERVICE: the running container of a compose service.
container() {
  "$D" ps -q --no-trunc --filter "label=com.docker.compose.project=$1" --filter "label=com.docker.compose.service=$2" --filter status=running 2>/dev/null | head -n 1
}

# record FILE key=value...: writes a small status file atomically (read by the observation).
record() {
  f=$1; shift
  printf '%s\n' "at=$(date +%s)" "$@" > "$f.tmp" && mv "$f.tmp" "$f"
}

[ -f "$DIR/backup.conf" ] || fail 2 "$DIR/backup.conf is missing (axe pushes it: axe apply)"
# shellcheck source=/dev/null
. "$DIR/backup.conf"
R=$(find_tool restic)
D=$(find_tool docker)
[ -n "$R" ] || fail 3 "restic not found by absolute path in $TOOL_DIRS (brew install restic)"
[ -n "$D" ] || fail 3 "docker not found by absolute path in $TOOL_DIRS"
[ -f "$DIR/password" ] || fail 4 "$DIR/password is missing (axe pushes it from the vault)"
RESTIC_PASSWORD_FILE="$DIR/password"
export RESTIC_PASSWORD_FILE
REPO="$DIR/repo"
STAGE="$DIR/stage"

#!/bin/sh
# backup.sh DIR REASON — one snapshot of this host's customer data (runs on the host,
# from its schedule or from axe): each manifest dump runs in its container (stdout =
# the dump file), each data volume is copied out of a container that mounts it, and
# the staged files go into the restic repository $DIR/repo (and the off-box one, if
# configured). The password is read from $DIR/password by restic (never an argument).
# Prints `snapshot=<id>`; records $DIR/last-run and $DIR/last-check.
# REASON init: only initialises the repository (when it does not exist yet).
set -eu
DIR=${1:?usage: backup.sh DIR REASON}
REASON=${2:-manual}
# shellcheck source=/dev/null
. "$(dirname "$0")/lib.sh"

if [ "$REASON" = init ]; then
  # Initialise the repository once; never over an existing one (its snapshots would be lost).
  if [ -f "$REPO/config" ]; then exit 0; fi
  out=$("$R" -r "$REPO" init 2>&1 < /dev/null) || fail 7 "restic init: $(printf '%s' "$out" | tail -n 1)"
  exit 0
fi
LOCK="$DIR/.lock"
if ! mkdir "$LOCK" 2>/dev/null; then
  other=$(cat "$LOCK/pid" 2>/dev/null || true)
  if [ -n "$other" ] && kill -0 "$other" 2>/dev/null; then fail 9 "another backup (pid $other) is running"; fi
  rm -rf "$LOCK"; mkdir "$LOCK"
fi
echo $$ > "$LOCK/pid"
failed() { record "$DIR/last-run" "ok=0" "reason=$REASON" "detail=$1"; fail "$2" "$1"; }
trap 'rm -rf "$LOCK" "$STAGE"' EXIT

rm -rf "$STAGE"
mkdir -p "$STAGE/dumps" "$STAGE/volumes"

dump() {
  p=$1; s=$2; f=$3; shift 3
  c=$(container "$p" "$s")
  [ -n "$c" ] || failed "dump $f: no running container of $s in $p" 5
  "$D" exec -i "$c" "$@" < /dev/null > "$STAGE/dumps/$f" || failed "dump $f: $* exited $? in $s" 5
  [ -s "$STAGE/dumps/$f" ] || failed "dump $f: $* printed nothing" 5
}
volume() {
  v=$1
  c=$("$D" ps -a -q --no-trunc --filter "volume=$v" 2>/dev/null | head -n 1)
  [ -n "$c" ] || failed "volume $v: no container mounts it (is its stack deployed?)" 6
  dest=$("$D" inspect --format "{{range .Mounts}}{{if eq .Name \"$v\"}}{{.Destination}}{{end}}{{end}}" "$c")
  "$D" cp "$c:$dest/." - > "$STAGE/volumes/$v.tar" || failed "volume $v: docker cp from $c failed" 6
}
load() { :; }
items

[ -f "$REPO/config" ] || failed "the repository $REPO does not exist (axe initialises it: axe apply)" 7
out=$(cd "$STAGE" && "$R" -r "$REPO" backup --quiet --json --host "axe-$CUSTOMER" --tag axe --tag "$REASON" . 2>&1) || failed "restic backup: $(printf '%s' "$out" | tail -n 1)" 8
id=$(printf '%s\n' "$out" | sed -n 's/.*"snapshot_id":"\([0-9a-f]*\)".*/\1/p' | tail -n 1)
[ -n "$id" ] || failed "restic backup gave no snapshot id: $(printf '%s' "$out" | tail -n 1)" 8
if [ -n "$OFFSITE" ]; then
  # restic's Fatal line (else its last line) names why, e.g. the SSH login refused.
  why() { w=$(printf '%s\n' "$1" | grep '^Fatal: ' | tail -n 1); printf '%s' "${w:-$(printf '%s\n' "$1" | grep -v '^$' | tail -n 1)}"; }
  if ! "$R" -r "$OFFSITE" cat config >/dev/null 2>&1 < /dev/null; then
    out=$("$R" -r "$OFFSITE" init 2>&1 < /dev/null) || failed "the off-box repository $OFFSITE cannot be opened or created: $(why "$out")" 10
  fi
  out=$(cd "$STAGE" && "$R" -r "$OFFSITE" backup --quiet --host "axe-$CUSTOMER" --tag axe --tag "$REASON" . 2>&1 < /dev/null) || failed "restic backup to $OFFSITE failed (snapshot $id is in the local repository): $(why "$out")" 10
  # Its structure checked (no data read over the wire) and its size, for the observation.
  size=$("$R" -r "$OFFSITE" stats --json --mode raw-data 2>/dev/null < /dev/null | sed -n 's/.*"total_size":\([0-9]*\).*/\1/p')
  if detail=$("$R" -r "$OFFSITE" check 2>&1 < /dev/null); then
    record "$DIR/last-offsite-check" "ok=1" "detail=structure" "size=${size:-0}"
  else
    record "$DIR/last-offsite-check" "ok=0" "detail=$(printf '%s' "$detail" | grep -v '^$' | tail -n 1)" "size=${size:-0}"
  fi
fi
record "$DIR/last-run" "ok=1" "reason=$REASON" "snapshot=$id"
# A subset of the data on every run, a different tenth each day: restic's own check.
part=$(( $(date +%j | sed 's/^0*//') % 10 + 1 ))
if detail=$("$R" -r "$REPO" check --read-data-subset="$part/10" 2>&1); then
  record "$DIR/last-check" "ok=1" "detail=subset $part/10"
else
  record "$DIR/last-check" "ok=0" "detail=$(printf '%s' "$detail" | grep -v '^$' | tail -n 1)"
fi
printf 'snapshot=%s\n' "$id"

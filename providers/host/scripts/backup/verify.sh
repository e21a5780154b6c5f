#!/bin/sh
# verify.sh DIR [SNAPSHOT] [BY] — a restore drill on the host: restic's own check of the
# repository, the snapshot (default: the newest) restored into a scratch directory, each
# volume archive read back, each dump loaded into a throwaway container of its database's
# image (no network, removed after); the scratch is removed whatever happens. Prints a
# `step=` line as each step starts and `result=ok snapshot=<id>`; records $DIR/last-verify.
set -eu
DIR=${1:?usage: verify.sh DIR [SNAPSHOT] [BY]}
SNAP=${2:-latest}
BY=${3:-manual}
# shellcheck source=/dev/null
. "$(dirname "$0")/lib.sh"

failed() { record "$DIR/last-verify" "ok=0" "snapshot=$SNAP" "by=$BY" "detail=$1"; fail "$2" "$1"; }
step() { printf 'step=%s\n' "$*"; }
last() { printf '%s\n' "$1" | grep -v '^$' | tail -n 1; }
# The first file restic could not restore and why (ciphertext verification failed: corrupt data), else its last line.
restore_error() {
  e=$(printf '%s\n' "$1" | sed -n 's/^ignoring error for \(.*\)$/\1/p' | head -n 1)
  if [ -n "$e" ]; then printf '%s (the data in the repository is corrupt)' "$e"; else last "$1"; fi
}

[ -f "$REPO/config" ] || failed "the repository $REPO does not exist" 7
SCRATCH=$(mktemp -d "$DIR/scratch.XXXXXX")
NAME="axe-drill-$CUSTOMER-$$"
trap 'rm -rf "$SCRATCH"; "$D" rm -f "$NAME" >/dev/null 2>&1 || true' EXIT

step "restic check"
out=$("$R" -r "$REPO" check 2>&1) || failed "restic check: $(last "$out")" 11
id=$("$R" -r "$REPO" snapshots --json --no-lock "$SNAP" 2>/dev/null | sed -n 's/.*"short_id":"\([0-9a-f]*\)".*/\1/p' | tail -n 1)
[ -n "$id" ] || failed "no snapshot $SNAP in the repository (restic snapshots lists them)" 12
SNAP=$id
step "restore $id"
out=$("$R" -r "$REPO" restore "$id" --target "$SCRATCH" 2>&1) || failed "restic restore $id: $(restore_error "$out")" 12
root=$(find "$SCRATCH" -type d -name dumps | head -n 1)
[ -n "$root" ] || failed "snapshot $id holds no axe backup (no dumps directory)" 13
root=$(dirname "$root")
volumes=0
dumps=0
volume() {
  step "read volume $1"
  [ -f "$root/volumes/$1.tar" ] || failed "volume $1 is not in snapshot $id" 13
  tar -tf "$root/volumes/$1.tar" >/dev/null 2>&1 || failed "volume $1: its archive in snapshot $id does not read back (tar -t failed)" 13
  volumes=$((volumes + 1))
}
load() {
  p=$1; s=$2; f=$3; shift 3
  [ -s "$root/dumps/$f" ] || failed "dump $f is not in snapshot $id" 14
  c=$(container "$p" "$s")
  [ -n "$c" ] || failed "dump $f: no running $s in $p to take the database image from" 14
  image=$("$D" inspect --format '{{.Config.Image}}' "$c")
  step "load $f into a throwaway $image container"
  err=$("$D" run --rm -i --name "$NAME" --network none --label "ai.axelabs.axe.backup-drill=$CUSTOMER" "$image" "$@" < "$root/dumps/$f" 2>&1 >/dev/null) || failed "dump $f from snapshot $id does not load: $(last "$err")" 15
  dumps=$((dumps + 1))
}
dump() { :; }
items
record "$DIR/last-verify" "ok=1" "snapshot=$id" "by=$BY" "detail=check ok, restored, $volumes volume(s) read, $dumps dump(s) loaded"
printf 'result=ok snapshot=%s volumes=%s dumps=%s\n' "$id" "$volumes" "$dumps"

# shellcheck shell=sh
# Several steps of an action in one round trip, in order, each in its own
# subshell (its `exit` and `set -e` stay inside).
#   set -- NAME KIND SCRIPT [NAME KIND SCRIPT]...   (KIND: hard or soft)
# A hard step that fails ends this script with its exit code, after its
# stderr and the line `axe-step-failed=NAME`; a soft one's failure is the
# line `axe-step-soft-failed=NAME`, the next steps still run and this script
# exits 1 at the end. providers/host/commands/steps.ts builds the arguments
# and reads those lines back.
soft=""
while [ "$#" -ge 3 ]; do
  name=$1 kind=$2 body=$3
  shift 3
  if [ "$kind" = soft ]; then
    ( eval "$body" ) || { echo "axe-step-soft-failed=$name" >&2; soft=1; }
  else
    ( eval "$body" ) || { rc=$?; echo "axe-step-failed=$name" >&2; exit "$rc"; }
  fi
done
if [ -n "$soft" ]; then exit 1; fi

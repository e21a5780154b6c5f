#!/bin/sh
# axe-env-pull: written by axe (deploy-time secret pull); edits here are reverted.
# The runbook's wrapper, pushed by axe to ~/.axe/bin/axe-env-pull (no secret
# in it): renders a stack's env file on the host from the host's own bw
# session. Usage: axe-env-pull BW SESSION_FILE ENV_FILE, the file's lines on
# stdin: `=LINE` is written as is, `?NAME=ITEM` gets the vault item's password
# (or a secure note's text). The session goes to bw through its environment
# and each value through shell builtins: none is ever on a command line or
# printed. Written 0600, atomically; nothing is left on failure.
# Exit codes (providers/host/executor.ts EXIT): 20 no session, 21 the session
# does not unlock (sync fails), 22 an item missing or empty, 23 a value that
# cannot go in an env file, 24 the env file cannot be written.
set -u
bw=$1; session_file=$2; out=$3
if [ ! -f "$session_file" ]; then echo "no bw session at $session_file" >&2; exit 20; fi
BW_SESSION=$(cat "$session_file"); export BW_SESSION
BW_NOINTERACTION=true; export BW_NOINTERACTION
if ! "$bw" sync </dev/null >/dev/null 2>&1; then echo "bw sync failed: the session in $session_file does not unlock the vault" >&2; exit 21; fi
umask 077
tmp="$out.axe-pull.$$"
trap 'rm -f "$tmp"' EXIT
: > "$tmp" || exit 24
while IFS= read -r line; do
  case "$line" in
    =*) printf '%s\n' "${line#=}" >> "$tmp" ;;
    \?*)
      spec=${line#?}; name=${spec%%=*}; item=${spec#*=}
      value=$("$bw" get password "$item" </dev/null 2>/dev/null) || value=$("$bw" get notes "$item" </dev/null 2>/dev/null) || value=""
      if [ -z "$value" ]; then echo "$item is missing or empty in the host's vault" >&2; exit 22; fi
      case "$value" in *"'"*|*"
"*) echo "$item holds a quote or a line break and cannot be written to an env file" >&2; exit 23 ;; esac
      if printf '%s' "$value" | grep -q '^[A-Za-z0-9_./:@%+,~=-]*$'; then printf '%s=%s\n' "$name" "$value" >> "$tmp"; else printf "%s='%s'\n" "$name" "$value" >> "$tmp"; fi
      ;;
  esac
done
chmod 600 "$tmp" && mv -f "$tmp" "$out" || exit 24
trap - EXIT

# shellcheck shell=sh
# Facts that run side by side, each killed after its time limit
# (providers/host/facts/fact.ts, `timed`). Defined in the sections that have
# such facts; everything is written under the one directory the section made,
# and nothing a fact starts holds the batch's streams (a killed fact or timer
# never keeps the SSH session open).

# axe_timed DIR NAME SECONDS CMD...: runs CMD (stdin /dev/null), its stdout to
# DIR/NAME.out and its stderr to DIR/NAME.err, killed after SECONDS; writes its
# exit code to DIR/NAME.rc (143, as TERM gives, when it was killed).
axe_timed() {
  axe_t_dir=$1 axe_t_name=$2 axe_t_seconds=$3
  shift 3
  "$@" >"$axe_t_dir/$axe_t_name.out" 2>"$axe_t_dir/$axe_t_name.err" </dev/null &
  axe_t_pid=$!
  ( sleep "$axe_t_seconds"; : >"$axe_t_dir/$axe_t_name.killed"; kill "$axe_t_pid" ) >/dev/null 2>&1 </dev/null &
  axe_t_timer=$!
  wait "$axe_t_pid"
  axe_t_rc=$?
  kill "$axe_t_timer" 2>/dev/null
  if [ -f "$axe_t_dir/$axe_t_name.killed" ]; then axe_t_rc=143; fi
  echo "$axe_t_rc" >"$axe_t_dir/$axe_t_name.rc"
}

# axe_timed_frames MARK DIR NAME...: after `wait`, each fact's frame: its
# stdout (the first 2 KiB) and its stderr (the last 400 bytes), one line each
# (a fact's answer cannot forge another's frame), and its exit code. A fact
# whose guard did not hold has no frame. Without DIR (it could not be made),
# every fact's frame says so, with code -1. Removes DIR.
axe_timed_frames() {
  axe_f_mark=$1 axe_f_dir=$2
  shift 2
  for axe_f_name in "$@"; do
    if [ -z "$axe_f_dir" ]; then
      printf '%s begin %s\n\n%s stderr %s\nmktemp failed on the host\n%s end %s -1\n' "$axe_f_mark" "$axe_f_name" "$axe_f_mark" "$axe_f_name" "$axe_f_mark" "$axe_f_name"
      continue
    fi
    [ -f "$axe_f_dir/$axe_f_name.rc" ] || continue
    read -r axe_f_rc <"$axe_f_dir/$axe_f_name.rc"
    printf '%s begin %s\n' "$axe_f_mark" "$axe_f_name"
    head -c 2048 "$axe_f_dir/$axe_f_name.out" | tr '\n\r' '  '
    printf '\n%s stderr %s\n' "$axe_f_mark" "$axe_f_name"
    tail -c 400 "$axe_f_dir/$axe_f_name.err" | tr '\n\r' '  '
    printf '\n%s end %s %s\n' "$axe_f_mark" "$axe_f_name" "$axe_f_rc"
  done
  if [ -n "$axe_f_dir" ]; then rm -rf "$axe_f_dir"; fi
}

# shellcheck shell=sh
# Facts run side by side in a section (providers/host/facts/fact.ts): timed
# facts (`timed`, each killed after its time limit) and background facts and
# groups (`background`, FactGroup). Every job writes under the section's one
# directory, $axe_sd (made here), and nothing a job starts holds the batch's
# streams (a killed fact or timer never keeps the SSH session open); the
# frames are printed, in order, once all ended, so they never interleave.
# Without the directory (mktemp failed) each timed fact's frame says so and
# the background jobs run in turn. `axe_sd_done` removes it.
axe_sd=$(mktemp -d 2>/dev/null) || axe_sd=""

# axe_timed NAME SECONDS CMD...: runs CMD (stdin /dev/null), its stdout to
# $axe_sd/NAME.out and its stderr to $axe_sd/NAME.err, killed after SECONDS;
# writes its exit code to $axe_sd/NAME.rc (143, as TERM gives, when it was killed).
axe_timed() {
  axe_t_name=$1 axe_t_seconds=$2
  shift 2
  "$@" >"$axe_sd/$axe_t_name.out" 2>"$axe_sd/$axe_t_name.err" </dev/null &
  axe_t_pid=$!
  ( sleep "$axe_t_seconds"; : >"$axe_sd/$axe_t_name.killed"; kill "$axe_t_pid" ) >/dev/null 2>&1 </dev/null &
  axe_t_timer=$!
  wait "$axe_t_pid"
  axe_t_rc=$?
  kill "$axe_t_timer" 2>/dev/null
  if [ -f "$axe_sd/$axe_t_name.killed" ]; then axe_t_rc=143; fi
  echo "$axe_t_rc" >"$axe_sd/$axe_t_name.rc"
}

# axe_timed_frames MARK NAME...: after `wait`, each timed fact's frame: its
# stdout (the first 2 KiB) and its stderr (the last 400 bytes), one line each
# (a fact's answer cannot forge another's frame), and its exit code. A fact
# whose guard did not hold has no frame. Without $axe_sd, every fact's frame
# says so, with code -1.
axe_timed_frames() {
  axe_f_mark=$1
  shift
  for axe_f_name in "$@"; do
    if [ -z "$axe_sd" ]; then
      printf '%s begin %s\n\n%s stderr %s\nmktemp failed on the host\n%s end %s -1\n' "$axe_f_mark" "$axe_f_name" "$axe_f_mark" "$axe_f_name" "$axe_f_mark" "$axe_f_name"
      continue
    fi
    [ -f "$axe_sd/$axe_f_name.rc" ] || continue
    read -r axe_f_rc <"$axe_sd/$axe_f_name.rc"
    printf '%s begin %s\n' "$axe_f_mark" "$axe_f_name"
    head -c 2048 "$axe_sd/$axe_f_name.out" | tr '\n\r' '  '
    printf '\n%s stderr %s\n' "$axe_f_mark" "$axe_f_name"
    tail -c 400 "$axe_sd/$axe_f_name.err" | tr '\n\r' '  '
    printf '\n%s end %s %s\n' "$axe_f_mark" "$axe_f_name" "$axe_f_rc"
  done
}

# axe_bg FN NAME: runs the function FN in the background, its stdout to
# $axe_sd/NAME (stderr dropped); in the foreground without $axe_sd.
axe_bg() {
  if [ -n "$axe_sd" ]; then
    "$1" >"$axe_sd/$2" 2>/dev/null </dev/null &
  else
    "$1"
  fi
}

# axe_bg_frames NAME...: after `wait`, the outputs of these axe_bg jobs in
# order (one cat for all); nothing without $axe_sd.
axe_bg_frames() {
  [ -n "$axe_sd" ] || return 0
  for axe_b_name in "$@"; do
    shift
    if [ -f "$axe_sd/$axe_b_name" ]; then set -- "$@" "$axe_sd/$axe_b_name"; fi
  done
  [ $# -eq 0 ] || cat "$@"
}

# axe_sd_done: removes the directory (after every frame was printed).
axe_sd_done() {
  if [ -n "$axe_sd" ]; then rm -rf "$axe_sd"; fi
}

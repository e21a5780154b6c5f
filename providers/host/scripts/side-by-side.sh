# shellcheck shell=sh
# Facts and groups of facts run side by side in a section
# (providers/host/facts/fact.ts, `background` and `factsSection`'s groups):
# each job's frames go to its own file under the section's directory
# ($axe_gd) and are printed, in order, once all ended, so frames never
# interleave. Without the directory (mktemp failed) each runs in turn.

# axe_bg FN NAME: runs the function FN in the background, its stdout to
# $axe_gd/NAME (stderr dropped); in the foreground without $axe_gd.
axe_bg() {
  if [ -n "${axe_gd:-}" ]; then
    "$1" >"$axe_gd/$2" 2>/dev/null </dev/null &
  else
    "$1"
  fi
}

# axe_bg_frames NAME...: after `wait`, the outputs of these axe_bg jobs in
# order (one cat for all); nothing without $axe_gd.
axe_bg_frames() {
  [ -n "${axe_gd:-}" ] || return 0
  for axe_b_name in "$@"; do
    shift
    if [ -f "$axe_gd/$axe_b_name" ]; then set -- "$@" "$axe_gd/$axe_b_name"; fi
  done
  [ $# -eq 0 ] || cat "$@"
}

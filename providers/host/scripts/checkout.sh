# shellcheck shell=sh
# A stack's checkout: clones the repository (when missing) or fetches it, then
# checks the ref out detached, discarding local changes; prints the commit.
#   set -- DIR REPO REF
# `gitx` (git by absolute path with the mirror rewrites, defined before this
# file runs: providers/host/commands/stack.ts checkoutScript) does the work.
# Exit codes (providers/host/exit-codes.ts EXIT): 4 not a checkout, 5 ref not found.
set -e
dir=$1 repo=$2 ref=$3
if [ ! -d "$dir/.git" ]; then
  if [ -d "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then echo "$dir exists and is not a git checkout" >&2; exit 4; fi
  mkdir -p "$dir"
  gitx clone -q --no-checkout "$repo" "$dir"
  cloned=1
fi
if [ "$(gitx -C "$dir" config --get remote.origin.url || true)" != "$repo" ]; then gitx -C "$dir" remote set-url origin "$repo"; fi
want() {
  gitx -C "$dir" rev-parse -q --verify "refs/tags/$ref^{commit}" ||
    gitx -C "$dir" rev-parse -q --verify "refs/remotes/origin/$ref^{commit}" ||
    gitx -C "$dir" rev-parse -q --verify "$ref^{commit}"
}
# A clone just fetched the branches and their tags: fetch again only when the ref is not among them.
if [ -z "${cloned:-}" ] || ! want >/dev/null; then gitx -C "$dir" fetch -q --force --tags origin '+refs/heads/*:refs/remotes/origin/*'; fi
c=$(want) || { echo "ref $ref was not found in $repo" >&2; exit 5; }
gitx -C "$dir" checkout -q --force --detach "$c"
gitx -C "$dir" rev-parse HEAD

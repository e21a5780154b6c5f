# shellcheck shell=sh
# Functions every script axe runs on a host may call (prepended by the
# executor; shell builtins and one process per call at most).

# sha256 of stdin, hex: sha256sum (GNU), else shasum (perl, macOS), else openssl.
axe_sum() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -d" " -f1
  elif [ -x /usr/bin/shasum ]; then /usr/bin/shasum -a 256 | cut -d" " -f1
  else openssl dgst -sha256 -r | cut -d" " -f1; fi
}

# Permission bits of a file in octal; nothing when it is absent.
# GNU stat first: to GNU stat, BSD's -f means "file system".
axe_mode() {
  stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1" 2>/dev/null
}

# axe_file_facts DIR KNOWN FILE...: for the files present in DIR, `<mode> <stamp> DIR/<file>`
# lines (stamp: size-mtime-ctime-inode, times to the nanosecond; one stat for all), then `<sha256>  DIR/<file>` for
# each file whose `<file>=<stamp>` is not in KNOWN (space-separated): one hashing process,
# none when every stamp is known. A write or chmod always moves the ctime.
axe_file_facts() {
  axe_d=$1
  axe_k=" $2 "
  shift 2
  for f in "$@"; do shift; if [ -f "$axe_d/$f" ]; then set -- "$@" "$axe_d/$f"; fi; done
  [ $# -gt 0 ] || return 0
  axe_st=$(stat -c "%a %s-%.9Y-%.9Z-%i %n" "$@" 2>/dev/null || stat -f "%Lp %z-%Fm-%Fc-%i %N" "$@" 2>/dev/null)
  printf '%s\n' "$axe_st"
  set --
  while read -r _ axe_s axe_p; do
    case "$axe_k" in *" ${axe_p##*/}=$axe_s "*) ;; *) set -- "$@" "$axe_p" ;; esac
  done <<AXE_STAT
$axe_st
AXE_STAT
  [ $# -gt 0 ] || return 0
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"
  elif [ -x /usr/bin/shasum ]; then /usr/bin/shasum -a 256 "$@"
  else openssl dgst -sha256 -r "$@"; fi
}

# axe_file_b64 FILE: its mode on one line, then its content in base64 on one
# line; nothing when it is absent.
axe_file_b64() {
  [ -f "$1" ] || return 0
  axe_mode "$1"
  base64 < "$1" | tr -d '\n'
}

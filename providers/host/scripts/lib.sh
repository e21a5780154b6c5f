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

# axe_file_facts DIR FILE...: for the files present in DIR, `<sha256>  DIR/<file>`
# lines, then `<mode> DIR/<file>` lines: one hashing process and one stat for all.
axe_file_facts() {
  axe_d=$1
  shift
  for f in "$@"; do shift; if [ -f "$axe_d/$f" ]; then set -- "$@" "$axe_d/$f"; fi; done
  [ $# -gt 0 ] || return 0
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"
  elif [ -x /usr/bin/shasum ]; then /usr/bin/shasum -a 256 "$@"
  else openssl dgst -sha256 -r "$@"; fi
  stat -c "%a %n" "$@" 2>/dev/null || stat -f "%Lp %N" "$@" 2>/dev/null
}

# axe_file_b64 FILE: its mode on one line, then its content in base64 on one
# line; nothing when it is absent.
axe_file_b64() {
  [ -f "$1" ] || return 0
  axe_mode "$1"
  base64 < "$1" | tr -d '\n'
}

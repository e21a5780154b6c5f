# shellcheck shell=sh
# (Re)starts cloudflared as a container and waits for it to be ready.
#   set -- NAME NETWORK CUSTOMER WAIT_SECONDS DOCKER-RUN-ARGV...
# "$D" is the docker CLI by absolute path, found before this file runs; the
# `docker run -d` argv comes from providers/host/commands/docker.ts.
# Exit codes (providers/host/executor.ts EXIT): 11 exited, 12 not ready.
set -e
: "${D:?the docker CLI by absolute path}"
name=$1 network=$2 customer=$3 wait=$4
shift 4
"$D" network inspect "$network" >/dev/null 2>&1 || "$D" network create --label "ai.axelabs.axe.customer=$customer" "$network" >/dev/null
"$D" rm -f "$name" >/dev/null 2>&1 || true
"$@" >/dev/null
i=0
while [ "$i" -lt $((wait * 2)) ]; do
  s=$("$D" inspect --format '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$name")
  case "$s" in
    "running healthy"|"running ") exit 0 ;;
    exited*|dead*) echo "cloudflared exited: $("$D" logs --tail 3 "$name" 2>&1 | tr '\n' ' ')" >&2; exit 11 ;;
  esac
  sleep 0.5
  i=$((i + 1))
done
echo "cloudflared not ready after $wait s" >&2
exit 12

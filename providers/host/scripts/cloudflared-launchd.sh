# shellcheck shell=sh
# (Re)starts cloudflared as a LaunchDaemon in launchd's system domain (a GUI-domain
# LaunchAgent fails over SSH without a GUI login) and waits for /ready.
#   set -- LABEL PLIST_PATH PLIST_TEMPLATE SERVICE_HASH METRICS_PORT WAIT_SECONDS
# "$C" is cloudflared by absolute path, found before this file runs. The
# template names @CLOUDFLARED@, @HOME@ and @USER@, filled here with the
# host's own values; it holds no secret.
# Exit codes (providers/host/executor.ts EXIT): 12 not ready, 13 sudo asks a password.
set -e
: "${C:?cloudflared by absolute path}"
label=$1 plist_path=$2 template=$3 hash=$4 port=$5 wait=$6
d="$HOME/.axe/cloudflared"
plist=$(printf '%s' "$template" | sed -e "s#@CLOUDFLARED@#$C#" -e "s#@HOME@#$HOME#g" -e "s#@USER@#$(id -un)#")
printf '%s\n' "$plist" | /usr/bin/sudo -n /usr/bin/tee "$plist_path" >/dev/null || { echo "sudo without a password is needed for launchctl in the system domain" >&2; exit 13; }
/usr/bin/sudo -n /bin/launchctl bootout "system/$label" 2>/dev/null || true
/usr/bin/sudo -n /bin/launchctl bootstrap system "$plist_path"
printf '%s' "$hash" > "$d/.loaded"
i=0
while [ "$i" -lt $((wait * 2)) ]; do
  if /usr/bin/curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port/ready"; then exit 0; fi
  sleep 0.5
  i=$((i + 1))
done
echo "cloudflared not ready after $wait s" >&2
exit 12

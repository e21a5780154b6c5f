#!/bin/sh
# pg_isready for the postgres stand-in (postgres.mjs serve), installed as
# /usr/local/bin/pg_isready: exit 0 when the server answers on HOST:PORT, 2 when
# there is no response, as the real one. Busybox only: the compose healthcheck
# runs it every second, and a node process per probe starves a lab of many customers.
host=127.0.0.1
port=${PGPORT:-5432}
while [ $# -gt 0 ]; do
  case "$1" in
    -h) host=$2; shift ;;
    -p) port=$2; shift ;;
  esac
  shift
done
# The stand-in answers any first packet with an ErrorResponse ('E') and closes.
if printf 'x' | nc -w 2 "$host" "$port" 2>/dev/null | grep -q E; then
  echo "$host:$port - accepting connections"
  exit 0
fi
echo "$host:$port - no response"
exit 2

#!/bin/sh
# The image's health check, as the real image's /healthcheck.sh: GET <DOMAIN path>/alive
# on localhost, 200 is healthy. Busybox only (no node process per probe); no -T: this
# busybox wget crashes with it, and lab-probe (the HEALTHCHECK, ../probe.sh) cuts it off.
path=$(printf '%s' "${DOMAIN:-}" | sed -E 's#^[A-Za-z]+://[^/]*##; s#/+$##')
exec wget -q -O /dev/null "http://127.0.0.1:${ROCKET_PORT:-80}${path}/alive"

#!/bin/sh
# lab-probe CHECK...: the stand-in images' HEALTHCHECK wrapper (copied into each image as
# /usr/local/bin/lab-probe). Docker 20.10 has no --start-interval, and a probe every second
# is a `runc exec` per container per second: 20 full-stack lab customers (8 containers each)
# would starve two CPUs. So:
# - Until CHECK has passed in this run of the container (a mark named after PID 1's start
#   time: a restarted container starts over), a probe runs it once, at once: healthy within
#   one interval of the service answering, as with a plain probe.
# - Once it has passed, a probe runs it every 5 s for 30 s, the status staying healthy
#   meanwhile: one exec per container per ~30 s.
# - A failing CHECK ends the probe at once and forgets the mark, so the next probes check
#   once each, every interval. Each CHECK is cut off after $LAB_PROBE_TIMEOUT (default 2s).
#   With --interval=1s --retries=10, a service that stops answering turns unhealthy within
#   ~15 s (5 s to the next check, then 9 failing probes 1 s apart); one that hangs, within
#   ~35 s (each check cut off after 2 s). The HEALTHCHECK --timeout only backs this up: it
#   must exceed 6 x (5 s + the check timeout).
# LAB_PROBE_MARK and LAB_PROBE_EVERY (5 s) are for its tests (test/lab-probe.test.ts). The
# service stand-ins' compose files (lab/services/*/docker-compose.yml) inline these lines
# (their images are built per ref and must not depend on a newer base); the test keeps them equal.
m=${LAB_PROBE_MARK:-/tmp/.lab-healthy-$(cut -d' ' -f22 /proc/1/stat)}; n=1; if [ -e "$m" ]; then n=6; fi; i=0
while [ "$i" -lt "$n" ]; do if [ "$n" -gt 1 ]; then sleep "${LAB_PROBE_EVERY:-5}"; fi
  timeout "${LAB_PROBE_TIMEOUT:-2s}" "$@" >/dev/null 2>&1 || { rm -f "$m"; exit 1; }; i=$((i + 1)); done
touch "$m"

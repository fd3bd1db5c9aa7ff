#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks run for real (only what is missing).
set -euo pipefail
need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v prometheus-node-exporter >/dev/null || need+=(prometheus-node-exporter)
command -v prometheus-process-exporter >/dev/null || need+=(prometheus-process-exporter)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v wrk >/dev/null || need+=(wrk)
command -v docker-compose >/dev/null || need+=(docker-compose)
# Docker Engine 20.10 (dockerd and Debian's client at /usr/bin/docker, which the tests call by that path:
# another `docker` earlier on PATH does not count) and mmdebstrap (the stand-in images' Debian base).
# The tests start private daemons of their own (scripts/docker-engine.ts), never the system's.
{ [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ]; } || need+=(docker.io)
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
# Debian's Chromium: the page's and the HTML report's suites drive it with playwright-core (test/helpers/browser.ts).
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install -y ${need[*]})" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Services must not start on install (there may be no init system); tests start their own. A policy-rc.d
# the host has already stays as it is; the one written here goes once the packages are in.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

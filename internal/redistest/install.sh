#!/usr/bin/env bash
# Installs Debian's redis-server when it is missing, without starting the
# system service (the tests start their own on 127.0.0.1, on a free port).
# Run by scripts/test.sh before the tests, and by internal/redistest when a
# test finds no redis-server. Needs root or sudo, and Debian's apt.
set -euo pipefail
command -v redis-server >/dev/null && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
command -v apt-get >/dev/null || { echo "redis-server is missing and there is no apt-get to install it" >&2; exit 1; }
# policy-rc.d exit 101: Debian's way to keep a package's daemon from starting.
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && made_policy=1
fi
trap '[ -z "$made_policy" ] || $sudo rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q --no-install-recommends redis-server >/dev/null 2>&1 ||
  { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q --no-install-recommends redis-server >/dev/null; }
command -v redis-server >/dev/null
echo "installed $(redis-server --version | cut -d' ' -f1-3)"

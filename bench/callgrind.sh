#!/usr/bin/env bash
# callgrind.sh counts the instructions a server process executes per request
# (valgrind's callgrind, which counts instructions rather than time, so the
# figure does not move with the machine's load): each example binary in dev
# mode beside its no-auth floor (loadgen -serve-floor), GET /api/v1/me with
# the dev-mode sample token repeated over one keep-alive connection (curl);
# the floor gets the same request bytes (the nethttp example's token).
#
#   bench/callgrind.sh LOADGEN NETHTTP_BIN GIN_BIN [REQUESTS]
#
# LOADGEN is a built bench/cmd/loadgen; the example binaries are built from
# example/nethttp and example/gin. Prints one line per server: instructions
# per request (Ir), measured over REQUESTS (default 2000) after 300 unmeasured
# (the counters zeroed in between), GC and every thread included. With
# CALLGRIND_KEEP=DIR the profiles are kept there (NAME.out, for
# callgrind_annotate). The servers inherit the environment: GOGC=off
# counts the request path alone, without the collector (whose idle-time
# workers run far longer under valgrind's slowdown than natively).
set -euo pipefail
loadgen=$1 nethttp=$2 gin=$3 n=${4:-2000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# measure NAME CMD...: runs CMD under callgrind, instrumentation off until
# the warm-up is done, and prints Ir per request.
measure() {
  local name=$1; shift
  local log=$work/$name.log
  # Counting starts at once (switching it on mid-run crashes valgrind with
  # Go); the counters are zeroed after the warm-up instead. Asynchronous
  # preemption (signals) is off under valgrind and GOMAXPROCS is 1 (no idle
  # threads spinning for work), for both servers alike.
  GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$work/$name.out" "$@" >"$log" 2>&1 &
  local pid=$!
  local url=""
  for _ in $(seq 600); do
    url=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$log" | head -1 | sed 's/listening on //') || true
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "$name: no ready line" >&2; cat "$log" >&2; exit 1; }
  local token
  token=$(grep -o "Bearer [A-Za-z0-9._-]*" "$log" | head -1 || true)
  [ -n "$token" ] || token=$(cat "$work/token")            # the floor: the same bytes, unread
  echo "$token" >"$work/token.$name"
  urls() { for _ in $(seq "$1"); do echo "url = \"$url/api/v1/me\""; echo 'output = "/dev/null"'; done; }
  urls 300 >"$work/warm.cfg"
  urls "$n" >"$work/run.cfg"
  curl -sf -H "Authorization: $token" -K "$work/warm.cfg"
  callgrind_control -z "$pid" >/dev/null
  curl -sf -H "Authorization: $token" -K "$work/run.cfg" -w '%{http_code}\n' | sort | uniq -c | sed "s/^/  $name statuses: /" >&2
  callgrind_control -d "$pid" >/dev/null
  for _ in $(seq 100); do [ -s "$work/$name.out.1" ] && grep -q '^totals:' "$work/$name.out.1" && break; sleep 0.1; done
  local ir
  ir=$(awk '/^summary:/ {print $2}' "$work/$name.out.1")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  if [ -n "${CALLGRIND_KEEP:-}" ]; then mkdir -p "$CALLGRIND_KEEP"; cp "$work/$name.out.1" "$CALLGRIND_KEEP/$name.out"; fi
  printf '%-16s %12.0f Ir/request  (%d requests)\n' "$name" "$(echo "$ir / $n" | bc -l)" "$n"
}

# The first server's sample token is what the floors are sent too (dev-mode
# tokens of one program have the same length from run to run).
measure nethttp "$nethttp" -addr 127.0.0.1:0
cp "$work/token.nethttp" "$work/token"
measure nethttp-floor "$loadgen" -serve-floor nethttp
measure gin "$gin" -addr 127.0.0.1:0
measure gin-floor "$loadgen" -serve-floor gin

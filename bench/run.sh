#!/usr/bin/env bash
# Runs the bench module's comparison end to end (several minutes; not part of
# scripts/test.sh):
#
#   bench/run.sh [--count N] [--benchtime D] [--bench REGEXP] [--out DIR]
#                [--no-profile] [--no-loadgen] [--wait-quiet SECONDS]
#                [-- LOADGEN FLAGS...]
#
#   1. the benchmarks N times (default 6; equivalent to go test -count N, but
#      interleaved: see below), raw output to DIR/bench.txt
#   2. benchstat (pinned, installed into bench/.bin) over it, implementations
#      side by side: DIR/benchstat.txt
#   3. cmd/benchtables: medians, overhead above the floor, ratios and the
#      targets, as Markdown: DIR/tables.md
#   4. CPU profiles (go test -cpuprofile, pprof -top) of ours without cache
#      (RS256 Validate) and of a cache-hit request: DIR/profile_*.txt
#   5. cmd/loadgen (loopback only, bounded): DIR/loadgen.txt
#
# DIR defaults to bench/results/latest. Everything printed is also saved.
# The machine may be shared: the load average is recorded before every pass,
# and --wait-quiet waits (at most SECONDS) for the 1-minute load average to
# fall below 1 before starting.
set -euo pipefail
cd "$(dirname "$0")"

BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da # golang.org/x/perf
count=6
benchtime=1s
bench=.
out=results/latest
profile=1
loadgen=1
wait_quiet=0
while [ $# -gt 0 ]; do
	case "$1" in
	--count) count=$2; shift 2 ;;
	--benchtime) benchtime=$2; shift 2 ;;
	--bench) bench=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--no-profile) profile=0; shift ;;
	--no-loadgen) loadgen=0; shift ;;
	--wait-quiet) wait_quiet=$2; shift 2 ;;
	--) shift; break ;;
	-h|--help) sed -n '2,26p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
mkdir -p "$out" .bin

machine() {
	echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(go version) nproc=$(nproc) cpu=\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\" loadavg=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
}
# The library is measured as it is in the working tree (replace => ../) when
# the binaries are built; library() reports that state, recorded then.
library_state=""
library() { echo "$library_state"; }

load1() { cut -d' ' -f1 /proc/loadavg; }
if [ "$wait_quiet" -gt 0 ]; then
	end=$((SECONDS + wait_quiet))
	while awk "BEGIN{exit !($(load1) >= 1)}" && [ $SECONDS -lt $end ]; do
		echo "   waiting for a quiet machine: loadavg $(load1)"
		sleep 10
	done
fi
if awk "BEGIN{exit !($(load1) > $(nproc) / 2)}"; then
	echo "run.sh: WARNING: load average $(load1) on $(nproc) CPUs: the machine is busy and the figures will be noisy" >&2
fi

echo "== benchstat $BENCHSTAT_VERSION -> bench/.bin"
GOBIN="$PWD/.bin" go install "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION"

# go test -count N repeats each sub-benchmark N times in a row, so a burst of
# load from elsewhere lands on one implementation. Instead the test binary is
# run N times over all benchmarks: each implementation gets one sample per
# pass, and a burst spreads over all of them.
echo "== $count passes of go test -bench '$bench' -benchtime $benchtime (raw: $out/bench.txt)"
# Both binaries are built now, so every step measures the same library code
# even if the working tree changes during the run.
library_state="# library: oauthguard $(git -C .. rev-parse --short HEAD 2>/dev/null || echo unknown), $(git -C .. status --porcelain -- go.mod go.sum middleware jwks adapters scopes authtest 2>/dev/null | wc -l) uncommitted library files"
go test -c -o .bin/bench.test .
go build -o .bin/loadgen ./cmd/loadgen
{
	library
	for i in $(seq "$count"); do
		machine
		.bin/bench.test -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime" -test.benchmem
	done
	machine
} | tee "$out/bench.txt"

echo "== benchstat -col /impl -row /alg, one table set per benchmark ($out/benchstat.txt)"
for family in Validate ValidateParallel Request; do
	echo "### Benchmark$family"
	.bin/benchstat -filter ".name:$family" -col /impl -row /alg "$out/bench.txt"
	echo
done | tee "$out/benchstat.txt"

echo "== tables ($out/tables.md)"
go run ./cmd/benchtables "$out/bench.txt" | tee "$out/tables.md"

if [ "$profile" = 1 ]; then
	echo "== CPU profiles"
	prof() { # name benchmark
		.bin/bench.test -test.run '^$' -test.bench "$2" -test.benchtime 3s -test.benchmem \
			-test.cpuprofile ".bin/$1.prof" >/dev/null
		{
			echo "# go test -bench '$2' -benchtime 3s -cpuprofile; go tool pprof -top"
			go tool pprof -top -nodecount 30 .bin/bench.test ".bin/$1.prof" 2>/dev/null | sed -n '4,40p'
			echo
			echo "# cumulative"
			go tool pprof -top -cum -nodecount 30 .bin/bench.test ".bin/$1.prof" 2>/dev/null | sed -n '6,40p'
		} >"$out/profile_$1.txt"
		echo "   $out/profile_$1.txt"
	}
	# Each /-separated part of -bench is matched on its own: anchor them all.
	prof validate_RS256_ours '^BenchmarkValidate$/^alg=RS256$/^impl=ours$'
	prof request_RS256_ours_cache_hit '^BenchmarkRequest$/^alg=RS256$/^impl=ours_cache_hit$'
fi

if [ "$loadgen" = 1 ]; then
	echo "== loadgen $* ($out/loadgen.txt)"
	{
		library
		machine
		.bin/loadgen "$@"
		machine
	} | tee "$out/loadgen.txt"
fi

#!/usr/bin/env bash
# The project's one test command (README "Run the tests"; .ci/run runs exactly this).
# It installs what it needs itself, so it works on a fresh machine with Go 1.26.
set -euo pipefail
cd "$(dirname "$0")/.."

# staticcheck 2026.2.2, a release built for Go 1.26 (module honnef.co/go/tools v0.8.2).
STATICCHECK_VERSION=v0.8.2

echo "== gofmt"
unformatted=$(find . \( -name node_modules -o -name .git \) -prune -o -name '*.go' -print0 | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

# The end-to-end tests start real authorization servers (oidc-provider, Better Auth) from
# internal/authservers, which runs `npm ci` on its pinned package-lock.json itself, once, under a
# file lock, before the first server starts. Node.js and npm must be on PATH.
command -v node >/dev/null && command -v npm >/dev/null || { echo "node and npm are required"; exit 1; }

# The Redis tests (redisstore, the examples' replicas) start their own redis-server on 127.0.0.1
# (free port, no persistence) through internal/redistest; Debian's package is installed if missing.
echo "== redis-server"
bash internal/redistest/install.sh
redis-server --version | cut -d' ' -f1-3

echo "== go vet"
go vet ./...

echo "== staticcheck $STATICCHECK_VERSION"
go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
gobin=$(go env GOBIN)
"${gobin:-$(go env GOPATH)/bin}/staticcheck" ./...

echo "== go build ./example/..."
go build ./example/...

echo "== go test -race"
go test -race -count=1 ./...

# bench/ is its own module (the peers never enter the library's go.mod); its quick
# checks, such as every implementation agreeing on the same verdicts, run here.
echo "== bench module: go vet, quick tests (benchmarks: bench/run.sh)"
(cd bench && go vet ./... && go test -count=1 ./...)

# Each fuzz target also runs briefly beyond its seed corpus: a fixed number of
# executions (a few seconds each here), not a duration, because Go 1.26's fuzz
# coordinator can report a spurious "context deadline exceeded" when a -fuzztime
# duration expires mid-execution (go.dev/issue/75804, fixed in Go 1.27).
# FUZZTIME=<duration or Nx> overrides every budget; see README "Security".
echo "== fuzz"
for target in middleware:FuzzValidate:20000x middleware:FuzzBearerToken:50000x middleware:FuzzCredentialsFastPath:50000x middleware:FuzzClaimsJSON:20000x \
  middleware:FuzzIntrospection:20000x middleware:FuzzTokenSources:20000x middleware:FuzzRejectionLog:20000x dpop:FuzzVerify:20000x revocation:FuzzRevocationJSON:50000x jwks:FuzzJWKS:5000x scopes:FuzzParse:300000x example/internal/demo:FuzzCreateInvoice:20000x \
  example/internal/demo:FuzzClients:100000x; do
  IFS=: read -r pkg name budget <<< "$target"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "${FUZZTIME:-$budget}" "./$pkg" > /tmp/fuzz-$$.log 2>&1 ||
    { cat /tmp/fuzz-$$.log; exit 1; }
  echo "$pkg $name: $(grep -o 'execs: [0-9]*' /tmp/fuzz-$$.log | tail -1) in $(grep -o '[0-9.]*s$' /tmp/fuzz-$$.log | tail -1)"
done
rm -f /tmp/fuzz-$$.log

# The loopback load test runs a reduced count under the race detector; here it
# runs its full 100k requests.
echo "== load tests (no race detector: 100k requests; 20k over three replicas on Redis)"
go test -count=1 -v -run 'TestLoadWithJWKSFaults|TestLoadReplicasOnRedis' ./adapters/ | grep -E '^(load( \(3 replicas on Redis\))?:|--- |ok|FAIL)'


package oauthguard_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/clientcasa/oauthguard"

// boundaries hold each heavy dependency in the packages that need it, as if
// they were module boundaries: a user of the others never compiles it.
var boundaries = []struct {
	dep     string   // a module or package path; its subpackages count too
	allowed []string // the packages of this module that may depend on it
}{
	{"github.com/gin-gonic/gin", []string{"adapters/ginauth", "example/gin"}},
	{"google.golang.org/grpc", []string{"adapters/grpcauth", "example/grpc", "example/grpc/..."}},
	// go-redis only where replicas share state: redisstore, and the examples (-redis).
	{"github.com/redis/go-redis/v9", []string{"redisstore", "example/..."}},
	// OpenTelemetry only in otelguard, and the Prometheus exporter only in
	// the examples (-metrics-addr) and otelguard's tests.
	{"go.opentelemetry.io/otel", []string{"otelguard", "example/..."}},
	{"github.com/prometheus/client_golang", []string{"example/..."}},
	// The key contract and the validator compile no JWKS machinery: a
	// validator over your own key set needs none of it.
	// (The adapters' shared test fixture uses a jwks.Source for its 503 cases.)
	// internal/authservers makes DPoP proofs with authtest. otelguard reads
	// jwks.Health.
	{"github.com/MicahParks/jwkset", []string{"jwks", "otelguard", "authtest", "example/...", "adapters/internal/adaptertest", "internal/authservers"}},
	{"github.com/MicahParks/keyfunc/v3", []string{"jwks", "otelguard", "example/...", "adapters/internal/adaptertest"}},
	// Only keyset's tests use it, to check the small-order blocklist.
	{"filippo.io/edwards25519", nil},
	{"golang.org/x/time/rate", []string{"jwks", "otelguard", "authtest", "example/...", "adapters/internal/adaptertest", "internal/authservers"}},
}

// TestDependencyBoundaries runs go list -deps on every package of the module
// and fails when one depends on a dependency outside its boundary.
func TestDependencyBoundaries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	pkgs := goList(t, module+"/...")
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %q; the check would prove nothing", pkgs)
	}
	for _, p := range pkgs {
		deps := goList(t, "-deps", p)
		for _, b := range boundaries {
			if allowed(p, b.allowed) {
				continue
			}
			for _, d := range deps {
				if d == b.dep || strings.HasPrefix(d, b.dep+"/") {
					t.Errorf("%s depends on %s (go list -deps %s)", p, d, p)
					break
				}
			}
		}
	}
	// The leaf stays a leaf: the standard library and golang-jwt only.
	for _, d := range goList(t, "-deps", module+"/keyset") {
		if strings.Contains(strings.SplitN(d, "/", 2)[0], ".") && !strings.HasPrefix(d, "github.com/golang-jwt/jwt/v5") &&
			d != module+"/keyset" {
			t.Errorf("keyset depends on %s", d)
		}
	}
}

func allowed(pkg string, patterns []string) bool {
	for _, a := range patterns {
		if pkg == module+"/"+a || (strings.HasSuffix(a, "/...") && strings.HasPrefix(pkg, module+"/"+strings.TrimSuffix(a, "..."))) {
			return true
		}
	}
	return false
}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return strings.Fields(string(out))
}

package example_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/example/grpc/demov1"
	"github.com/clientcasa/oauthguard/internal/promtext"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

var metricsLine = regexp.MustCompile(`metrics on (http://[^\s"]+/metrics)`)

// TestMetrics runs each program with -metrics-addr (nethttp) or
// METRICS_ADDR (gin), sends a known mix of requests and reads /metrics from
// its own listener: every decision counted once by outcome and reason, the
// key source's refresh and keys, the discovery and JWKS fetches. The API's
// listener does not serve /metrics, and without the setting no metrics
// listener starts.
func TestMetrics(t *testing.T) {
	as := authServer(t, authtest.Options{Audience: audience})
	read := mint(t, as.Provider, authtest.Token{Scopes: []string{"read:clients"}})
	none := mint(t, as.Provider, authtest.Token{})
	expired := mint(t, as.Provider, authtest.Token{Claims: map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}})
	mix := []struct {
		path, token string
		status      int
		n           int
	}{
		{"/api/v1/me", read, 200, 4},
		{"/api/v1/clients", read, 200, 3},
		{"/api/v1/orgs/org_acme/clients", read, 200, 2},
		{"/api/v1/orgs/org_globex/clients", read, 403, 2},
		{"/api/v1/clients", none, 403, 3},
		{"/api/v1/me", expired, 401, 2},
		{"/api/v1/me", "not-a-jwt", 401, 1},
		{"/api/v1/me", "", 401, 1},
	}
	forEachBinary(t, func(t *testing.T, bin string) {
		args := []string{"-addr", "127.0.0.1:0", "-issuer", as.Issuer(), "-audience", audience}
		var env []string
		if bin == "gin" {
			env = []string{"METRICS_ADDR=127.0.0.1:0"}
		} else {
			args = append(args, "-metrics-addr", "127.0.0.1:0")
		}
		p := start(t, bin, env, args...)
		p.waitReady(t)
		m := metricsLine.FindStringSubmatch(p.out.String())
		if m == nil {
			t.Fatalf("no metrics line:\n%s", p.out)
		}
		for _, r := range mix {
			var auth []string
			if r.token != "" {
				auth = bearer(r.token)
			}
			for range r.n {
				if got := do(t, request{path: p.URL + r.path, auth: auth}); got.status != r.status {
					t.Fatalf("%s: status %d, want %d", r.path, got.status, r.status)
				}
			}
		}
		if r := do(t, request{path: p.URL + "/metrics"}); r.status != http.StatusNotFound {
			t.Errorf("the API listener answers /metrics with %d, want 404", r.status)
		}
		resp, err := http.Get(m[1])
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/plain") {
			t.Fatalf("/metrics: %d %s", resp.StatusCode, ct)
		}
		got, err := promtext.Parse(string(body))
		if err != nil {
			t.Fatal(err)
		}
		const v = "oauthguard_validations_total"
		iss := as.Issuer()
		for _, w := range []struct {
			name   string
			labels map[string]string
			want   float64
		}{
			{v, map[string]string{"outcome": "accepted", "issuer": iss}, 9},
			{v, map[string]string{"outcome": "rejected", "reason": "forbidden", "issuer": iss}, 2},
			{v, map[string]string{"outcome": "rejected", "reason": "insufficient_scope", "issuer": iss}, 3},
			{v, map[string]string{"outcome": "rejected", "reason": "expired"}, 2},
			{v, map[string]string{"outcome": "rejected", "reason": "malformed"}, 1},
			{v, map[string]string{"outcome": "rejected", "reason": "no_credentials"}, 1},
			{v, nil, 18},
			{"oauthguard_jwks_keys", map[string]string{"source": iss}, float64(len(as.KIDs("")))},
			{"oauthguard_jwks_ready", map[string]string{"source": iss}, 1},
			{"oauthguard_fetch_duration_seconds_count", map[string]string{"operation": "discovery", "outcome": "ok"}, 1},
		} {
			if n := got.Sum(w.name, w.labels); n != w.want {
				t.Errorf("%s%v = %v, want %v", w.name, w.labels, n, w.want)
			}
		}
		if n := got.Sum("oauthguard_jwks_refreshes_total", map[string]string{"source": iss, "outcome": "success"}); n < 1 {
			t.Errorf("no successful refresh counted")
		}
		if n := got.Sum("oauthguard_cache_lookups_total", map[string]string{"cache": "token", "result": "hit"}); n < 8 {
			t.Errorf("token cache hits %v, want the repeated token's", n)
		}
		if !strings.Contains(p.out.String(), `msg="oauthguard: request rejected" reason=insufficient_scope`) ||
			strings.Contains(p.out.String(), read) {
			t.Errorf("rejection log missing, or holding a token:\n%s", p.out)
		}
	})
}

// TestMetricsOffByDefault: no setting, no metrics listener.
func TestMetricsOffByDefault(t *testing.T) {
	as := authServer(t, authtest.Options{Audience: audience})
	forEachBinary(t, func(t *testing.T, bin string) {
		p := start(t, bin, nil, "-addr", "127.0.0.1:0", "-issuer", as.Issuer(), "-audience", audience)
		p.waitReady(t)
		if metricsLine.MatchString(p.out.String()) {
			t.Errorf("a metrics listener started without -metrics-addr:\n%s", p.out)
		}
	})
}

// TestMetricsGRPC: the gRPC example serves /metrics too (-metrics-addr),
// one decision per call: two accepted, one missing its scope, one without
// a token.
func TestMetricsGRPC(t *testing.T) {
	if binDir == "" {
		t.Skip("builds and runs the example programs; skipped with -short")
	}
	as := authServer(t, authtest.Options{Audience: audience})
	p := launch(t, "grpc", nil, "-addr", "127.0.0.1:0", "-issuer", as.Issuer(), "-audience", audience,
		"-metrics-addr", "127.0.0.1:0")
	addr := grpcAddr(t, p) // the metrics listener is bound before the API's ready line
	m := metricsLine.FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("no metrics ready line:\n%s", p.out)
	}
	metricsURL := m[1]
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := demov1.NewDemoClient(conn)
	call := func(tok string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if tok != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
		}
		_, err := c.ListClients(ctx, &demov1.ListClientsRequest{})
		return err
	}
	read := mint(t, as.Provider, authtest.Token{Scopes: []string{"read:clients"}})
	// The keys are discovered in the background: wait for the first success.
	for deadline := time.Now().Add(20 * time.Second); call(read) != nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no call succeeded:\n%s", p.out)
		}
	}
	if err := call(read); err != nil {
		t.Fatal(err)
	}
	if err := call(mint(t, as.Provider, authtest.Token{})); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("no scope: %v", err)
	}
	if err := call(""); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("no token: %v", err)
	}
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got, err := promtext.Parse(string(body))
	if err != nil {
		t.Fatal(err)
	}
	const v = "oauthguard_validations_total"
	if n := got.Sum(v, map[string]string{"outcome": "accepted", "issuer": as.Issuer()}); n != 2 {
		t.Errorf("accepted %v, want 2", n)
	}
	if n := got.Sum(v, map[string]string{"outcome": "rejected", "reason": "insufficient_scope"}); n != 1 {
		t.Errorf("insufficient_scope %v, want 1", n)
	}
	if n := got.Sum(v, map[string]string{"outcome": "rejected", "reason": "no_credentials"}); n != 1 {
		t.Errorf("no_credentials %v, want 1", n)
	}
}

package adapters_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/adapters/ginauth"
	"github.com/clientcasa/oauthguard/adapters/grpcauth"
	"github.com/clientcasa/oauthguard/adapters/httpauth"
	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/internal/promtext"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/otelguard"
	"github.com/clientcasa/oauthguard/scopes"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// loadCase is one kind of token and the status it must always get on
// GET /orgs/org_acme/clients (read:clients, organization org_acme).
type loadCase struct {
	name   string
	token  func() string
	status int
	reason string // its rejection's middleware.Reason ("" when accepted)
}

// TestLoadWithJWKSFaults drives the three adapters (net/http, gin, and gRPC,
// whose statuses count as their HTTP equivalents) over real loopback listeners
// with a mix of good and bad tokens while the JWKS rotates, then fails with
// 500, hangs, serves garbage and recovers. Every answer must be the right one
// for its token, JWKS fetches must stay within the rate limit, and goroutines
// and heap must return to where they were. The three guards and the key
// source report to one otelguard.Metrics on the Prometheus exporter: what
// a scrape reads must be what the run did (every decision by outcome and
// reason, the cache, the refreshes and fetches).
func TestLoadWithJWKSFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	gin.SetMode(gin.ReleaseMode)
	as, err := authtest.Start(authtest.Options{Algs: []string{"EdDSA", "ES256"}})
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	baseGoroutines := runtime.NumGoroutine()

	const kidInterval = 2 * time.Second
	as.SetFault(authtest.Fault500) // until phase 0 below is checked
	// No background refresh or retry happens during the run (an hour
	// away): every JWKS fetch is either the controller's, counted, or one
	// triggered by an unknown kid, rate-limited. The bound on fetches then
	// follows from what the run did, however slow the machine.
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	defer mp.Shutdown(context.Background())
	metrics, err := otelguard.New(otelguard.Config{MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	src, err := jwks.New(jwks.Config{JWKSURL: as.JWKSURL(), Timeout: 500 * time.Millisecond, Observe: metrics.Observe,
		RefreshInterval: time.Hour, UnknownKIDInterval: kidInterval, UnknownKIDWait: 100 * time.Millisecond,
		RetryMin: time.Hour, RetryMax: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	v, err := middleware.New(middleware.Config{Issuers: []string{as.Issuer()}, Audiences: []string{as.Audience()}, Keys: src})
	if err != nil {
		t.Fatal(err)
	}
	if err := metrics.ObserveValidator(v); err != nil {
		t.Fatal(err)
	}
	if err := metrics.ObserveKeys(func() map[string]jwks.Health { return map[string]jwks.Health{"main": src.Health()} }); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64, DisableCompression: true}}
	targets := []target{httpTarget(httptest.NewServer(httpServer(t, v, metrics)), client),
		httpTarget(httptest.NewServer(ginServer(t, v, metrics)), client), grpcTarget(t, v, metrics)}

	mint := func(tok authtest.Token) string {
		s, err := as.Mint(tok)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	read := map[string]any{"scope": "read:clients"}
	valid := mint(authtest.Token{Alg: "EdDSA", Claims: read})
	cases := []loadCase{
		{"valid", func() string { return valid }, 200, ""},
		{"expired", constant(mint(authtest.Token{Claims: map[string]any{"scope": "read:clients", "exp": time.Now().Add(-time.Hour).Unix()}})), 401, "expired"},
		{"wrong_audience", constant(mint(authtest.Token{Claims: map[string]any{"scope": "read:clients", "aud": "https://other.example.test"}})), 401, "wrong_audience"},
		{"wrong_scope", constant(mint(authtest.Token{Claims: map[string]any{"scope": "write:invoices"}})), 403, "insufficient_scope"},
		{"other_org", constant(mint(authtest.Token{Claims: map[string]any{"scope": "read:clients", "organizationId": "org_globex"}})), 403, "forbidden"},
		{"unknown_kid", constant(mint(authtest.Token{KID: "no-such-key", Claims: read})), 401, "unknown_key"},
		{"valid_es256", constant(mint(authtest.Token{Alg: "ES256", Claims: read})), 200, ""},
	}
	// After rotation a token of the new key joins the mix, once the source
	// has picked the key up; until then the mix sends the old valid token.
	var rotated atomic.Pointer[string]
	cases = append(cases, loadCase{"valid_rotated_key", func() string {
		if p := rotated.Load(); p != nil {
			return *p
		}
		return valid
	}, 200, ""})
	answered := make([]atomic.Int64, len(cases)) // right answers, by case

	// Phase 0: the JWKS has answered 500 from the start. Nothing was ever
	// fetched, so every request is 503 with Retry-After.
	for _, tg := range targets {
		status, retry, err := tg.call(valid)
		if err != nil {
			t.Fatal(err)
		}
		if status != 503 || !retry {
			t.Fatalf("%s before any key: status %d, Retry-After %v", tg.name, status, retry)
		}
	}
	as.SetFault(authtest.FaultNone)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := src.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	fetchesAtStart := as.JWKSFetches()

	total := loadRequests
	deadline := time.Now().Add(50 * time.Second)
	var sent, wrong, fiveXX atomic.Int64
	var firstWrong atomic.Pointer[string]
	start := time.Now()

	// The controller walks the JWKS through its phases while the load runs,
	// refreshing in each phase as a background refresh would.
	var refreshes atomic.Int64
	var ctlDone atomic.Bool // the load goes on until every phase has run
	done := make(chan struct{})
	var ctl sync.WaitGroup
	ctl.Add(1)
	go func() {
		defer ctl.Done()
		defer ctlDone.Store(true)
		phase := func(f authtest.Fault) bool {
			as.SetFault(f)
			rctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = src.Refresh(rctx)
			cancel()
			refreshes.Add(1)
			select {
			case <-done:
				return false
			case <-time.After(300 * time.Millisecond):
				return true
			}
		}
		for sent.Load() < int64(total)/5 {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		kid, err := as.AddKey("EdDSA")
		if err != nil {
			t.Error(err)
			return
		}
		tok, err := as.Mint(authtest.Token{Alg: "EdDSA", Claims: read})
		if err != nil {
			t.Error(err) // not Fatal: this is not the test's goroutine
			return
		}
		if !phase(authtest.FaultNone) {
			return
		}
		// On a loaded machine that refresh may still be running; wait for it.
		rctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		q := keyset.Query{KeyID: kid, Algorithm: "EdDSA"}
		for _, err := src.Key(rctx, q); err != nil; _, err = src.Key(rctx, q) {
			if rctx.Err() != nil {
				t.Errorf("rotated key not picked up: %v", err)
				return
			}
			_ = src.Refresh(rctx)
			refreshes.Add(1)
		}
		rotated.Store(&tok)
		for _, f := range []authtest.Fault{authtest.Fault500, authtest.FaultHang, authtest.FaultGarbage, authtest.FaultNone} {
			if !phase(f) {
				return
			}
		}
	}()

	var peak atomic.Int64
	var wg sync.WaitGroup
	const conns = 64
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// At least total requests, and more until the JWKS has been
			// through every phase.
			for i := w; i < total || !ctlDone.Load(); i += conns {
				if time.Now().After(deadline) {
					return
				}
				if i%1024 == 0 {
					if g := int64(runtime.NumGoroutine()); g > peak.Load() {
						peak.Store(g)
					}
				}
				c := cases[i%len(cases)]
				tg := targets[(i/len(cases))%len(targets)]
				status, _, err := tg.call(c.token())
				sent.Add(1)
				if err != nil {
					wrong.Add(1)
					msg := tg.name + ": " + c.name + ": " + err.Error()
					firstWrong.CompareAndSwap(nil, &msg)
					continue
				}
				if status >= 500 {
					fiveXX.Add(1)
				}
				if status == c.status {
					answered[i%len(cases)].Add(1)
				} else {
					wrong.Add(1)
					msg := fmt.Sprintf("%s: %s: status %d, want %d", tg.name, c.name, status, c.status)
					firstWrong.CompareAndSwap(nil, &msg)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(done)
	ctl.Wait()
	as.SetFault(authtest.FaultNone)

	fetches := as.JWKSFetches() - fetchesAtStart
	checkLoadMetrics(t, reg, cases, answered, len(targets), refreshes.Load())
	for _, tg := range targets {
		tg.close()
	}
	client.CloseIdleConnections()
	src.Close()
	as.Close()

	// Goroutines wind down asynchronously after Close; give them a moment.
	var after runtime.MemStats
	goroutines := runtime.NumGoroutine()
	for i := 0; i < 100 && goroutines > baseGoroutines+2; i++ {
		time.Sleep(20 * time.Millisecond)
		goroutines = runtime.NumGoroutine()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)

	// Unknown-kid refreshes are bounded by the rate limit (at most one per
	// kidInterval, the first at once); each refresh of the controller adds
	// at most one (none when it joins a refresh in flight).
	maxFetches := int64(elapsed/kidInterval) + 1 + refreshes.Load()
	fmt.Printf("load: %d requests in %v (%.0f req/s) over %d connections, %d wrong answers, %d 5xx, "+
		"%d JWKS fetches (limit %d), peak goroutines %d, goroutines %d -> %d, heap %d KiB -> %d KiB\n",
		sent.Load(), elapsed.Round(time.Millisecond), float64(sent.Load())/elapsed.Seconds(), conns, wrong.Load(), fiveXX.Load(),
		fetches, maxFetches, peak.Load(), baseGoroutines, goroutines, before.HeapAlloc>>10, after.HeapAlloc>>10)

	if sent.Load() < int64(total) || !ctlDone.Load() {
		t.Errorf("sent %d of at least %d requests before the deadline, phases done: %v", sent.Load(), total, ctlDone.Load())
	}
	if wrong.Load() != 0 {
		t.Errorf("%d wrong answers; first: %s", wrong.Load(), *firstWrong.Load())
	}
	if fiveXX.Load() != 0 {
		t.Errorf("%d 5xx answers once keys were held", fiveXX.Load())
	}
	if rotated.Load() == nil {
		t.Error("the rotation phase never completed")
	}
	if fetches > maxFetches {
		t.Errorf("%d JWKS fetches, more than the rate limit allows (%d)", fetches, maxFetches)
	}
	if goroutines > baseGoroutines+2 {
		t.Errorf("goroutines: %d before, %d after", baseGoroutines, goroutines)
	}
	if after.HeapAlloc > before.HeapAlloc+16<<20 {
		t.Errorf("heap grew from %d to %d bytes", before.HeapAlloc, after.HeapAlloc)
	}
}

func constant(s string) func() string { return func() string { return s } }

// checkLoadMetrics scrapes the exporter after the load: each right answer
// is one decision of its outcome and reason, the phase-0 requests are
// keys_unavailable, and the cache, refreshes and fetches moved.
func checkLoadMetrics(t *testing.T, reg *prometheus.Registry, cases []loadCase, answered []atomic.Int64, phase0 int, refreshes int64) {
	t.Helper()
	w := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	got, err := promtext.Parse(w.Body.String())
	if err != nil {
		t.Fatal(err)
	}
	const validations = "oauthguard_validations_total"
	want := map[string]float64{"keys_unavailable": float64(phase0)}
	accepted, all := 0.0, float64(phase0)
	for i, c := range cases {
		n := float64(answered[i].Load())
		all += n
		if c.reason == "" {
			accepted += n
		} else {
			want[c.reason] += n
		}
	}
	if n := got.Sum(validations, map[string]string{"outcome": "accepted"}); n != accepted {
		t.Errorf("%s{outcome=accepted} = %v, want %v (the right 200s)", validations, n, accepted)
	}
	for reason, n := range want {
		if m := got.Sum(validations, map[string]string{"outcome": "rejected", "reason": reason}); m != n {
			t.Errorf("%s{outcome=rejected,reason=%s} = %v, want %v", validations, reason, m, n)
		}
	}
	if n := got.Sum(validations, nil); n != all {
		t.Errorf("%s = %v in all, want %v: one decision per request", validations, n, all)
	}
	hits := got.Sum("oauthguard_cache_lookups_total", map[string]string{"cache": "token", "result": "hit"})
	if hits < accepted/2 {
		t.Errorf("token cache hits %v for %v accepted requests of a few tokens", hits, accepted)
	}
	ok := got.Sum("oauthguard_jwks_refreshes_total", map[string]string{"source": "main", "outcome": "success"})
	failed := got.Sum("oauthguard_jwks_refreshes_total", map[string]string{"source": "main", "outcome": "failure"})
	if ok < 2 || failed < 3 || ok+failed < float64(refreshes) {
		t.Errorf("refreshes: %v succeeded, %v failed; the controller made %d and the phases fail three", ok, failed, refreshes)
	}
	if n := got.Sum("oauthguard_fetch_duration_seconds_count", map[string]string{"operation": "jwks", "outcome": "error"}); n < 3 {
		t.Errorf("%v failed JWKS fetches timed, want the 500, hang and garbage phases'", n)
	}
	if n := got.Sum("oauthguard_jwks_keys", map[string]string{"source": "main"}); n != 3 {
		t.Errorf("keys held %v, want 3 after the rotation", n)
	}
	fmt.Printf("load metrics: %v accepted, %v rejected, %v token cache hits, %v refreshes ok, %v failed\n",
		accepted, all-accepted, hits, ok, failed)
}

// target is one guarded server of the load test: call sends one request
// with token and returns its status (a gRPC code as its HTTP equivalent)
// and whether it said to retry later (Retry-After; gRPC's Unavailable).
type target struct {
	name  string
	call  func(token string) (status int, retry bool, err error)
	close func()
}

func httpTarget(srv *httptest.Server, client *http.Client) target {
	return target{name: "http " + srv.URL, close: srv.Close, call: func(token string) (int, bool, error) {
		resp, err := client.Do(request(srv.URL, token))
		if err != nil {
			return 0, false, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After") != "", nil
	}}
}

// grpcTarget guards the gRPC health service's Check with read:clients and
// the organization its request names (org_acme, as the HTTP route's path).
func grpcTarget(t *testing.T, v *middleware.Validator, obs middleware.Observer) target {
	g, err := grpcauth.New(grpcauth.Options{Validator: v, Observer: obs, Methods: map[string]grpcauth.Method{
		healthpb.Health_Check_FullMethodName: {Scopes: scopes.All("read:clients"),
			Organization: func(req any) string { return req.(*healthpb.HealthCheckRequest).GetService() }},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(g.UnaryServerInterceptor()))
	hs := health.NewServer()
	hs.SetServingStatus("org_acme", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	hc := healthpb.NewHealthClient(conn)
	httpStatus := map[codes.Code]int{codes.OK: 200, codes.Unauthenticated: 401, codes.PermissionDenied: 403, codes.Unavailable: 503}
	return target{name: "grpc " + ln.Addr().String(), close: func() { conn.Close(); srv.Stop() }, call: func(token string) (int, bool, error) {
		ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token), 30*time.Second)
		defer cancel()
		_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "org_acme"})
		code := status.Code(err)
		st, ok := httpStatus[code]
		if !ok {
			return 0, false, fmt.Errorf("gRPC status %v", err)
		}
		// Unavailable is gRPC's "retry later" (clients' retry policies act on it).
		return st, code == codes.Unavailable, nil
	}}
}

func request(base, token string) *http.Request {
	r, _ := http.NewRequest("GET", base+"/orgs/org_acme/clients", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

func ok(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"data":[]}`)
}

func httpServer(t *testing.T, v *middleware.Validator, obs middleware.Observer) http.Handler {
	g, err := httpauth.New(httpauth.Options{Validator: v, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	read, err := g.RequireAll("read:clients")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{org}/clients", g.Authenticate(read(g.RequireOrganization(httpauth.PathValue("org"))(http.HandlerFunc(ok)))))
	return mux
}

func ginServer(t *testing.T, v *middleware.Validator, obs middleware.Observer) http.Handler {
	g, err := ginauth.New(ginauth.Options{Validator: v, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	read, err := g.RequireAll("read:clients")
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	r.GET("/orgs/:org/clients", g.Authenticate, read, g.RequireOrganization(ginauth.Param("org")), func(c *gin.Context) { ok(c.Writer, c.Request) })
	return r
}

package otelguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/adapters/httpauth"
	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/internal/promtext"
	"github.com/clientcasa/oauthguard/introspect"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/otelguard"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// fixture is a Metrics on a Prometheus exporter, scraped as text.
type fixture struct {
	m     *otelguard.Metrics
	reg   *prometheus.Registry
	spans *tracetest.SpanRecorder
}

func newFixture(t testing.TB, maxIssuers int) *fixture {
	t.Helper()
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	m, err := otelguard.New(otelguard.Config{MeterProvider: mp, TracerProvider: tp, MaxIssuers: maxIssuers})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{m: m, reg: reg, spans: rec}
}

// scrape returns what a Prometheus server would read.
func (f *fixture) scrape(t testing.TB) promtext.Samples {
	t.Helper()
	w := httptest.NewRecorder()
	promhttp.HandlerFor(f.reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	s, err := promtext.Parse(w.Body.String())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const validations = "oauthguard_validations_total"

// server is an httpauth-guarded mux over a fake authorization server.
type server struct {
	p   *authtest.Provider
	v   *middleware.Validator
	h   http.Handler
	log *strings.Builder
}

func newServer(t testing.TB, f *fixture) *server {
	t.Helper()
	p, err := authtest.NewProvider(authtest.Options{Issuer: "https://issuer.test", Algs: []string{"EdDSA"}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := middleware.New(middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()}, Keys: p.KeySet()})
	if err != nil {
		t.Fatal(err)
	}
	log := &strings.Builder{}
	g, err := httpauth.New(httpauth.Options{Validator: v, Observer: f.m,
		RejectionLog: slog.New(slog.NewJSONHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	read, err := g.RequireAll("read:clients")
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux := http.NewServeMux()
	mux.Handle("GET /me", g.Authenticate(ok))
	mux.Handle("GET /orgs/{org}/clients", g.Authenticate(read(g.RequireOrganization(httpauth.PathValue("org"))(ok))))
	if err := f.m.ObserveValidator(v); err != nil {
		t.Fatal(err)
	}
	return &server{p: p, v: v, h: mux, log: log}
}

func (s *server) mint(t testing.TB, tok authtest.Token) string {
	t.Helper()
	raw, err := s.p.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (s *server) do(t testing.TB, path, auth string) int {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return w.Code
}

// TestValidationsCountEachRequestOnce sends a mix of requests through a
// guard with two rules and reads the counters from the exporter: each
// request is one decision, a rule's refusal is a rejection and not also an
// acceptance, and each reason is its sentinel's short name.
func TestValidationsCountEachRequestOnce(t *testing.T) {
	f := newFixture(t, 0)
	s := newServer(t, f)
	good := s.mint(t, authtest.Token{Scopes: []string{"read:clients"}})
	noScope := s.mint(t, authtest.Token{Claims: map[string]any{"client_id": "app-1"}})
	expired := s.mint(t, authtest.Token{Claims: map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}})
	org := authtest.DefaultOrganization
	cases := []struct {
		path, auth string
		want       int
		n          int
	}{
		{"/me", "Bearer " + good, 200, 5},
		{"/orgs/" + org + "/clients", "Bearer " + good, 200, 3},
		{"/orgs/" + org + "/clients", "Bearer " + noScope, 403, 2},
		{"/orgs/other/clients", "Bearer " + good, 403, 1},
		{"/me", "Bearer " + expired, 401, 2},
		{"/me", "Bearer " + good[:len(good)-4] + "AAAA", 401, 1},
		{"/me", "Bearer abc", 401, 1},
		{"/me", "", 401, 1},
	}
	for _, c := range cases {
		for range c.n {
			if got := s.do(t, c.path, c.auth); got != c.want {
				t.Fatalf("%s with %.20q: status %d, want %d", c.path, c.auth, got, c.want)
			}
		}
	}
	got := f.scrape(t)
	iss := s.p.Issuer()
	for _, w := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"outcome": "accepted", "issuer": iss}, 8},
		{map[string]string{"outcome": "accepted"}, 8},
		{map[string]string{"outcome": "rejected", "reason": "insufficient_scope", "issuer": iss}, 2},
		{map[string]string{"outcome": "rejected", "reason": "forbidden", "issuer": iss}, 1},
		{map[string]string{"outcome": "rejected", "reason": "expired", "issuer": ""}, 2},
		{map[string]string{"outcome": "rejected", "reason": "bad_signature"}, 1},
		{map[string]string{"outcome": "rejected", "reason": "malformed"}, 1},
		{map[string]string{"outcome": "rejected", "reason": "no_credentials"}, 1},
		{map[string]string{"outcome": "rejected"}, 8},
		{nil, 16},
	} {
		if n := got.Sum(validations, w.labels); n != w.want {
			t.Errorf("%s%v = %v, want %v", validations, w.labels, n, w.want)
		}
	}
	// The token cache: the good token was verified once, then hit.
	hits := got.Sum("oauthguard_cache_lookups_total", map[string]string{"cache": "token", "result": "hit"})
	misses := got.Sum("oauthguard_cache_lookups_total", map[string]string{"cache": "token", "result": "miss"})
	if hits < 7 || misses < 1 {
		t.Errorf("token cache: %v hits, %v misses; want the repeated good token to hit", hits, misses)
	}
	if n := got.Sum("oauthguard_cache_entries", map[string]string{"cache": "token"}); n < 2 {
		t.Errorf("token cache entries %v, want the two valid tokens", n)
	}
	// The rejection log: one record per rejection, with the reason and
	// never the token.
	lines := strings.Split(strings.TrimSpace(s.log.String()), "\n")
	if len(lines) != 8 {
		t.Fatalf("%d rejection records, want 8:\n%s", len(lines), s.log)
	}
	for _, tok := range []string{good, noScope, expired} {
		if strings.Contains(s.log.String(), tok[strings.LastIndexByte(tok, '.')+1:]) || strings.Contains(s.log.String(), tok) {
			t.Fatal("the rejection log holds a token or its signature")
		}
	}
	for _, want := range []string{`"reason":"insufficient_scope"`, `"route":"GET /orgs/{org}/clients"`,
		`"reason":"expired"`, `"verified":false`, `"issuer":"` + iss + `"`, `"client_id":"app-1"`, `"kid":"`} {
		if !strings.Contains(s.log.String(), want) {
			t.Errorf("rejection log lacks %s:\n%s", want, s.log)
		}
	}
}

// TestLabelsStayBounded sends 10,000 tokens with random issuers, half of
// them with random kids too,
// and reports 10,000 random issuers directly: the label values stay within
// the fixed reasons and MaxIssuers issuers.
func TestLabelsStayBounded(t *testing.T) {
	f := newFixture(t, 5)
	s := newServer(t, f)
	for i := range 10_000 {
		tok := authtest.Token{Claims: map[string]any{"iss": fmt.Sprintf("https://%x.example", rand.Uint64())}}
		if i%2 == 0 {
			tok.KID = fmt.Sprintf("kid-%d-%x", i, rand.Uint64())
		}
		if got := s.do(t, "/me", "Bearer "+s.mint(t, tok)); got != 401 {
			t.Fatalf("random issuer: %d", got)
		}
	}
	for range 10_000 {
		f.m.Decided(context.Background(), fmt.Sprintf("https://%x.example", rand.Uint64()), nil)
	}
	got := f.scrape(t)
	for _, r := range []string{"unknown_key", "wrong_issuer"} {
		if n := got.Sum(validations, map[string]string{"outcome": "rejected", "reason": r}); n != 5_000 {
			t.Errorf("%s rejections %v, want 5000", r, n)
		}
	}
	issuers := got.Values(validations, "issuer")
	if len(issuers) > 5+2 { // five issuers, "other", and "" for unverified tokens
		t.Errorf("%d issuer label values, want at most 7", len(issuers))
	}
	if !issuers[otelguard.Other] {
		t.Error(`issuers past MaxIssuers are not labelled "other"`)
	}
	if n := got.Sum(validations, map[string]string{"outcome": "accepted"}); n != 10_000 {
		t.Errorf("accepted %v, want 10000", n)
	}
	reasons := map[string]bool{"": true}
	for _, r := range middleware.Reasons() {
		reasons[r] = true
	}
	series := 0
	for _, smp := range got {
		if smp.Name != validations {
			continue
		}
		series++
		if !reasons[smp.Labels["reason"]] {
			t.Errorf("reason %q is not one of middleware.Reasons", smp.Labels["reason"])
		}
		for k, v := range smp.Labels {
			if strings.Contains(v, "kid-") {
				t.Errorf("label %s holds a kid: %q", k, v)
			}
		}
	}
	if series > 10 {
		t.Errorf("%d validation series, want a handful", series)
	}
}

// TestKeysAndSpans runs a jwks.Source with the Observe hook against a fake
// authorization server: discovery and JWKS fetch are spans, the refresh
// and the keys are read at collection, a failure counts as one.
func TestKeysAndSpans(t *testing.T) {
	f := newFixture(t, 0)
	as, err := authtest.Start(authtest.Options{Algs: []string{"ES256", "EdDSA"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(as.Close)
	src, err := jwks.New(jwks.Config{Issuer: as.Provider.Issuer(), Observe: f.m.Observe})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := src.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.m.ObserveKeys(func() map[string]jwks.Health { return map[string]jwks.Health{"main": src.Health()} }); err != nil {
		t.Fatal(err)
	}
	as.Provider.SetFault(authtest.Fault500)
	if err := src.Refresh(ctx); err == nil {
		t.Fatal("refresh against a failing server succeeded")
	}
	got := f.scrape(t)
	main := map[string]string{"source": "main"}
	for _, w := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"oauthguard_jwks_refreshes_total", map[string]string{"source": "main", "outcome": "success"}, 1},
		{"oauthguard_jwks_refreshes_total", map[string]string{"source": "main", "outcome": "failure"}, 1},
		{"oauthguard_jwks_keys", main, 2},
		{"oauthguard_jwks_ready", main, 1},
		{"oauthguard_fetch_duration_seconds_count", map[string]string{"operation": "discovery", "outcome": "ok"}, 1},
		{"oauthguard_fetch_duration_seconds_count", map[string]string{"operation": "jwks", "outcome": "ok"}, 1},
		{"oauthguard_fetch_duration_seconds_count", map[string]string{"operation": "jwks", "outcome": "error"}, 1},
	} {
		if n := got.Sum(w.name, w.labels); n != w.want {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, n, w.want)
		}
	}
	if age := got.Sum("oauthguard_jwks_age_seconds", main); age < 0 || age > 60 {
		t.Errorf("key age %v s", age)
	}
	if len(got.Match("oauthguard_jwks_next_refresh_seconds", main)) != 1 {
		t.Error("no next_refresh reading")
	}
	names := map[string]int{}
	for _, sp := range f.spans.Ended() {
		names[sp.Name()]++
		if sp.Name() == "oauthguard.jwks" && sp.Status().Code.String() == "Error" && len(sp.Events()) == 0 {
			t.Error("the failed fetch's span records no error")
		}
	}
	if names["oauthguard.discovery"] != 1 || names["oauthguard.jwks"] != 2 {
		t.Errorf("spans %v, want one discovery and two jwks fetches", names)
	}
}

// TestRedisAndReplays feeds the redisstore hooks, and replays a DPoP
// proof through a guard: one replay counted, a refusal of another kind not.
func TestRedisAndReplays(t *testing.T) {
	f := newFixture(t, 0)
	f.m.RedisRoundTrip("dpop", time.Millisecond, nil)
	f.m.RedisRoundTrip("dpop", time.Millisecond, nil)
	f.m.RedisRoundTrip("resync", 2*time.Millisecond, errors.New("down"))
	f.m.RevocationPropagated(3 * time.Millisecond)
	// A real replay: a DPoP-bound token with the same proof twice.
	s := newServer(t, f)
	key, err := authtest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	tok := s.mint(t, authtest.Token{DPoP: key})
	proof, err := key.Proof("GET", "http://example.com/me", tok)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{200, 401} {
		r := httptest.NewRequest("GET", "http://example.com/me", nil)
		r.Header.Set("Authorization", "DPoP "+tok)
		r.Header.Set("DPoP", proof)
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, r)
		if w.Code != want {
			t.Fatalf("proof use %d: status %d, want %d", i+1, w.Code, want)
		}
	}
	f.m.Decided(context.Background(), "", middleware.Forbidden("x")) // not a replay
	got := f.scrape(t)
	for _, w := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"oauthguard_redis_round_trips_total", map[string]string{"operation": "dpop", "outcome": "ok"}, 2},
		{"oauthguard_redis_round_trips_total", map[string]string{"operation": "resync", "outcome": "error"}, 1},
		{"oauthguard_redis_duration_seconds_count", nil, 3},
		{"oauthguard_revocation_propagation_seconds_count", nil, 1},
		{"oauthguard_dpop_replays_total", nil, 1},
		{validations, map[string]string{"outcome": "rejected", "reason": "invalid_dpop_proof"}, 1},
	} {
		if n := got.Sum(w.name, w.labels); n != w.want {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, n, w.want)
		}
	}
}

// TestDashboardQueriesExist reads the Grafana dashboard shipped beside the
// package and checks that every metric its queries name is one the
// exporter serves once every instrument has been used.
func TestDashboardQueriesExist(t *testing.T) {
	f := newFixture(t, 0)
	s := newServer(t, f)
	s.do(t, "/me", "Bearer "+s.mint(t, authtest.Token{}))
	s.do(t, "/me", "")
	if err := f.m.ObserveKeys(func() map[string]jwks.Health {
		return map[string]jwks.Health{"main": {Ready: true, KeyCount: 1, LastRefresh: time.Now(), NextRefresh: time.Now().Add(time.Minute)}}
	}); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{jwks.OpDiscovery, jwks.OpJWKS, introspect.Op} {
		_, done := f.m.Observe(context.Background(), op, "https://as.example/x")
		done(nil)
	}
	f.m.RedisRoundTrip("dpop", time.Millisecond, nil)
	f.m.RevocationPropagated(time.Millisecond)
	served := map[string]bool{}
	for _, smp := range f.scrape(t) {
		served[smp.Name] = true
	}
	raw, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`oauthguard_[a-z_]+`)
	n := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, name := range names.FindAllString(tg.Expr, -1) {
				n++
				if !served[name] {
					t.Errorf("panel %q queries %s, which the exporter does not serve", p.Title, name)
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("the dashboard names only %d metrics", n)
	}
}

// TestIntrospectionCalls runs an introspect.Client with the Observe hook
// against the fake authorization server's endpoint: each call is counted
// by outcome and timed, and is a span.
func TestIntrospectionCalls(t *testing.T) {
	f := newFixture(t, 0)
	as, err := authtest.Start(authtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(as.Close)
	tok, err := as.Mint(authtest.Token{})
	if err != nil {
		t.Fatal(err)
	}
	client := func(secret string) *introspect.Client {
		c, err := introspect.New(introspect.Config{Endpoint: as.URL() + "/introspect", ClientID: authtest.DefaultClient.ID,
			ClientSecret: secret, Observe: f.m.Observe})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	good, bad := client(authtest.DefaultClient.Secret), client("wrong-secret")
	for range 2 {
		if _, err := good.Introspect(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bad.Introspect(context.Background(), tok); err == nil {
		t.Fatal("introspection with a wrong secret succeeded")
	}
	got := f.scrape(t)
	for _, w := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"oauthguard_introspection_calls_total", map[string]string{"outcome": "ok"}, 2},
		{"oauthguard_introspection_calls_total", map[string]string{"outcome": "error"}, 1},
		{"oauthguard_fetch_duration_seconds_count", map[string]string{"operation": "introspection"}, 3},
	} {
		if n := got.Sum(w.name, w.labels); n != w.want {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, n, w.want)
		}
	}
	n := 0
	for _, sp := range f.spans.Ended() {
		if sp.Name() == "oauthguard.introspection" {
			n++
			for _, a := range sp.Attributes() {
				if a.Key == "url.full" && strings.Contains(a.Value.AsString(), "secret") {
					t.Errorf("span attribute %s holds a secret", a.Value.AsString())
				}
			}
		}
	}
	if n != 3 {
		t.Errorf("%d introspection spans, want 3", n)
	}
}

// TestIssuerBoundUnderBurst: many concurrent first decisions for the same
// issuers label each once, within MaxIssuers, with nothing in "other".
func TestIssuerBoundUnderBurst(t *testing.T) {
	f := newFixture(t, 2)
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Go(func() { f.m.Decided(context.Background(), fmt.Sprintf("https://issuer-%d.test", i%2), nil) })
	}
	wg.Wait()
	got := f.scrape(t)
	if issuers := got.Values(validations, "issuer"); len(issuers) != 2 || issuers[otelguard.Other] {
		t.Errorf("issuer labels %v, want the two issuers only", issuers)
	}
	if n := got.Sum(validations, nil); n != 300 {
		t.Errorf("%v decisions, want 300", n)
	}
}

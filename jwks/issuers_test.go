package jwks_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/keyset"
)

func newIssuers(t *testing.T, cfg jwks.IssuersConfig) *jwks.Issuers {
	t.Helper()
	cfg.Source.Logger = quiet()
	m, err := jwks.NewIssuers(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func TestIssuersPatterns(t *testing.T) {
	m := newIssuers(t, jwks.IssuersConfig{
		Allowlist: []string{"https://auth.example.com"},
		Patterns:  []string{"https://*.clerk.accounts.dev", "https://kc.example.com/realms/*"},
	})
	for iss, want := range map[string]bool{
		"https://auth.example.com":              true,
		"https://auth.example.com/":             false, // exact
		"https://acme.clerk.accounts.dev":       true,
		"https://acme-1.clerk.accounts.dev":     true,
		"https://a.b.clerk.accounts.dev":        false, // one label only
		"https://.clerk.accounts.dev":           false,
		"https://clerk.accounts.dev":            false,
		"https://acme.clerk.accounts.dev.evil":  false,
		"https://evil.com/.clerk.accounts.dev":  false,
		"http://acme.clerk.accounts.dev":        false, // https only
		"https://kc.example.com/realms/tenant1": true,
		"https://kc.example.com/realms/a/b":     false,
		"https://kc.example.com/realms/":        false,
		"":                                      false,
	} {
		if got := m.Trusts(iss); got != want {
			t.Errorf("Trusts(%q) = %v, want %v", iss, got, want)
		}
	}
	for _, bad := range []jwks.IssuersConfig{
		{},
		{Patterns: []string{"http://*.example.com"}},
		{Patterns: []string{"https://a*.example.com"}},
		{Patterns: []string{"https://*.*.example.com"}},
		{Allowlist: []string{"http://auth.example.com"}},
		{Allowlist: []string{"https://a.test"}, Source: jwks.Config{JWKSURL: "https://a.test/jwks"}},
		{Allowlist: []string{"https://a.test"}, Source: jwks.Config{Timeout: -1}},
	} {
		if _, err := jwks.NewIssuers(bad); err == nil {
			t.Errorf("NewIssuers(%+v) accepted", bad)
		}
	}
}

// Tokens naming issuers that are not trusted cause no request and no
// source at all.
func TestIssuersUntrustedCostNothing(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	m := newIssuers(t, jwks.IssuersConfig{Allowlist: []string{"https://trusted.example.test"}})
	ctx := context.Background()
	for i := range 10_000 {
		iss := srv.URL + "/tenant-" + strings.Repeat("x", i%13) + string(rune('a'+i%26))
		if _, err := m.Key(ctx, keyset.Query{Issuer: iss, KeyID: "k", Algorithm: "ES256"}); !errors.Is(err, jwks.ErrIssuerNotTrusted) {
			t.Fatalf("untrusted issuer: %v", err)
		}
	}
	if hits.Load() != 0 || len(m.Issuers()) != 0 {
		t.Fatalf("%d requests and %d sources for untrusted issuers", hits.Load(), len(m.Issuers()))
	}
}

// Beyond Max the least recently used source is dropped; each issuer's keys
// are its own.
func TestIssuersLRUAndBinding(t *testing.T) {
	var ases []*authtest.Server
	for range 3 {
		ases = append(ases, startAS(t, authtest.Options{Algs: []string{"EdDSA"}}))
	}
	allowed := map[string]bool{}
	for _, as := range ases {
		allowed[as.Issuer()] = true
	}
	m := newIssuers(t, jwks.IssuersConfig{Allow: func(iss string) bool { return allowed[iss] }, Max: 2,
		Source: jwks.Config{UnknownKIDWait: 5 * time.Second}})
	ctx := context.Background()
	lookup := func(as *authtest.Server, iss string) error {
		_, err := m.Key(ctx, keyset.Query{Issuer: iss, KeyID: as.KIDs("EdDSA")[0], Algorithm: "EdDSA"})
		return err
	}
	for _, as := range ases[:2] {
		if err := lookup(as, as.Issuer()); err != nil {
			t.Fatalf("%s: %v", as.Issuer(), err)
		}
	}
	// A's kid under B's issuer: B's source does not hold it.
	if err := lookup(ases[0], ases[1].Issuer()); !errors.Is(err, keyset.ErrKeyNotFound) {
		t.Fatalf("another issuer's kid: %v", err)
	}
	if err := lookup(ases[0], ases[0].Issuer()); err != nil { // A is now the most recent
		t.Fatal(err)
	}
	if err := lookup(ases[2], ases[2].Issuer()); err != nil {
		t.Fatal(err)
	}
	if got, want := m.Issuers(), []string{ases[2].Issuer(), ases[0].Issuer()}; !slices.Equal(got, want) {
		t.Fatalf("held %v, want %v (B, the least recently used, evicted)", got, want)
	}
	if h := m.Health(); len(h) != 2 || !h[ases[0].Issuer()].Ready {
		t.Fatalf("health %+v", h)
	}
}

// A flood of tokens naming a trusted issuer that is down makes one
// discovery, not one per token; new issuers are rate-limited.
func TestIssuersDeadIssuerAndRateLimit(t *testing.T) {
	var hits atomic.Int64
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer dead.Close()
	m := newIssuers(t, jwks.IssuersConfig{Allow: func(string) bool { return true }, NewPerSecond: 1,
		Source: jwks.Config{RetryMin: time.Hour, RetryMax: time.Hour, UnknownKIDWait: 2 * time.Second}})
	ctx := context.Background()
	for range 1000 {
		if _, err := m.Key(ctx, keyset.Query{Issuer: dead.URL, KeyID: "k", Algorithm: "ES256"}); !errors.Is(err, keyset.ErrUnavailable) {
			t.Fatalf("dead issuer: %v", err)
		}
	}
	if n := hits.Load(); n > 3 {
		t.Fatalf("%d requests to a dead issuer for 1000 tokens, want one discovery (at most 3 metadata URLs)", n)
	}
	// The rate limit allows one new source a second: the next is refused.
	_, err := m.Key(ctx, keyset.Query{Issuer: dead.URL + "/other", KeyID: "k", Algorithm: "ES256"})
	if !errors.Is(err, keyset.ErrUnavailable) || !strings.Contains(err.Error(), "too many new issuers") {
		t.Fatalf("second new issuer within a second: %v", err)
	}
}

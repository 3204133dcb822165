package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
)

func TestGuardCore(t *testing.T) {
	if g, err := middleware.NewGuard(middleware.Options{}); err == nil || g != nil {
		t.Fatalf("NewGuard without Validator = %v, %v", g, err)
	}
	p, err := authtest.NewProvider(authtest.Options{Issuer: "https://as.test", Algs: []string{"EdDSA"}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := middleware.New(middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()}, Keys: p.KeySet()})
	if err != nil {
		t.Fatal(err)
	}
	var rejected []error
	g, err := middleware.NewGuard(middleware.Options{Validator: v, OnError: func(_ *http.Request, err error) { rejected = append(rejected, err) }})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.Mint(authtest.Token{Scopes: []string{"read:clients"}})
	if err != nil {
		t.Fatal(err)
	}
	read, err := middleware.Scopes(scopes.All("read:clients"))
	if err != nil {
		t.Fatal(err)
	}
	write, err := middleware.Scopes(scopes.Any("write:invoices", "admin"))
	if err != nil {
		t.Fatal(err)
	}
	req := func(auth string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		return r
	}
	t.Run("authenticate_puts_claims_in_context", func(t *testing.T) {
		r, ok := g.Authenticate(httptest.NewRecorder(), req("Bearer "+tok))
		c, found := middleware.FromContext(r.Context())
		if !ok || !found || c.OrganizationID != "org_acme" {
			t.Fatalf("ok %v, claims %v", ok, c)
		}
		w := httptest.NewRecorder()
		if !g.Require(w, r, read) || !g.RequireOrganization(w, r, "org_acme") || w.Body.Len() != 0 {
			t.Fatalf("rules refused a good request: %s", w.Body)
		}
		if g.Require(w, r, write) || w.Code != 403 || !strings.Contains(w.Header().Get("WWW-Authenticate"), `scope="write:invoices admin"`) {
			t.Fatalf("missing scope: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
		}
	})
	t.Run("rejection_written_and_reported", func(t *testing.T) {
		rejected = nil
		w := httptest.NewRecorder()
		if r, ok := g.Authenticate(w, req("Bearer x.y.z")); ok || r != nil || w.Code != 401 || len(rejected) != 1 {
			t.Fatalf("bad token: ok %v, status %d, %d reports", ok, w.Code, len(rejected))
		}
	})
	t.Run("optional_without_header_anonymous", func(t *testing.T) {
		in := req("")
		r, ok := g.Optional(httptest.NewRecorder(), in)
		if _, found := middleware.FromContext(r.Context()); !ok || r != in || found {
			t.Fatal("anonymous request changed or refused")
		}
	})
	// The no-claims rule lives here once, for every adapter and rule.
	t.Run("rules_without_claims_unauthorized", func(t *testing.T) {
		for name, check := range map[string]func(w http.ResponseWriter, r *http.Request) bool{
			"scope":        func(w http.ResponseWriter, r *http.Request) bool { return g.Require(w, r, read) },
			"organization": func(w http.ResponseWriter, r *http.Request) bool { return g.RequireOrganization(w, r, "org_acme") },
		} {
			w := httptest.NewRecorder()
			if check(w, req("Bearer "+tok)) || w.Code != 401 || w.Header().Get("WWW-Authenticate") != `Bearer realm="api"` {
				t.Errorf("%s without claims: %d %q", name, w.Code, w.Header().Get("WWW-Authenticate"))
			}
		}
		for name, err := range map[string]error{
			"RequireScopes":       middleware.RequireScopes(nil, scopes.All("read:clients")),
			"RequireOrganization": middleware.RequireOrganization(nil, "org_acme"),
		} {
			if !errors.Is(err, middleware.ErrNoCredentials) {
				t.Errorf("%s(nil) = %v, want ErrNoCredentials", name, err)
			}
		}
	})
	t.Run("scopes_rule_needs_a_scope", func(t *testing.T) {
		for name, req := range map[string]scopes.Requirement{"all_none": scopes.All(), "any_none": scopes.Any(), "zero": {}} {
			if rule, err := middleware.Scopes(req); err == nil || rule != nil {
				t.Errorf("%s: Scopes = %v; want an error", name, err)
			}
		}
		if _, err := middleware.Scopes(scopes.All("a b")); !errors.Is(err, scopes.ErrInvalidScope) {
			t.Errorf("invalid scope: %v", err)
		}
	})
}

// TestGuardCacheHitAllocations: a cached token costs two allocations on
// the request path, the request copy (WithContext) and the claims copy
// with the context that carries it; the claims are the request's own.
func TestGuardCacheHitAllocations(t *testing.T) {
	f := newFixture(t, []string{"EdDSA"}, nil)
	g, err := middleware.NewGuard(middleware.Options{Validator: f.v})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+f.mint(t, authtest.Token{Claims: map[string]any{"scope": "read:clients"}}))
	w := httptest.NewRecorder()
	first, ok := g.Authenticate(w, r)
	if !ok {
		t.Fatal(w.Code, w.Body)
	}
	c1, _ := middleware.FromContext(first.Context())
	c1.Scopes[0] = "changed"
	if allocs := testing.AllocsPerRun(100, func() {
		if _, ok := g.Authenticate(w, r); !ok {
			t.Fatal("refused")
		}
	}); allocs > 2 {
		t.Errorf("a cache hit allocates %v times, want 2", allocs)
	}
	second, _ := g.Authenticate(w, r)
	c2, ok := middleware.FromContext(second.Context())
	if !ok || c2 == c1 || c2.Scopes[0] != "read:clients" {
		t.Errorf("second request's claims %+v: shared with the first's", c2)
	}
	if c3, _ := middleware.FromContext(middleware.NewContext(context.Background(), c2)); c3 != c2 {
		t.Error("NewContext of a hit's claims carries other claims")
	}
}

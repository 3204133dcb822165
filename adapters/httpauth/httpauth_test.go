package httpauth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/clientcasa/oauthguard/adapters/httpauth"
	"github.com/clientcasa/oauthguard/adapters/internal/adaptertest"
	"github.com/clientcasa/oauthguard/scopes"
)

func TestGuard(t *testing.T) {
	f := adaptertest.New(t)
	routers := f.Routers(t, adaptertest.HTTPRouter)
	for _, c := range f.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			routers[c.On].ServeHTTP(rec, c.Request())
			adaptertest.Check(t, c, rec)
		})
	}
}

func TestOnErrorSeesEveryRejection(t *testing.T) {
	adaptertest.CheckOnError(t, adaptertest.HTTPRouter)
}

func TestNewRequiresValidator(t *testing.T) {
	if g, err := httpauth.New(httpauth.Options{}); err == nil || g != nil {
		t.Fatalf("New without Validator = %v, %v; want an error", g, err)
	}
}

func TestRequireScopesRejectsInvalidScopeAtSetUp(t *testing.T) {
	f := adaptertest.New(t)
	g, err := httpauth.New(httpauth.Options{Validator: f.Validator})
	if err != nil {
		t.Fatal(err)
	}
	for name, req := range adaptertest.InvalidRequirements() {
		if mw, err := g.RequireScopes(req); !errors.Is(err, scopes.ErrInvalidScope) || mw != nil {
			t.Errorf("%s: RequireScopes = %v; want an error wrapping scopes.ErrInvalidScope", name, err)
		}
	}
	// A requirement of no scope at all would let every token through.
	if mw, err := g.RequireAll(); err == nil || mw != nil {
		t.Errorf("RequireAll() = %v; want an error", err)
	}
	if mw, err := g.RequireAny(); err == nil || mw != nil {
		t.Errorf("RequireAny() = %v; want an error", err)
	}
}

func TestHeaderOrganization(t *testing.T) {
	f := adaptertest.New(t)
	g, err := httpauth.New(httpauth.Options{Validator: f.Validator, Renderer: adaptertest.Renderer})
	if err != nil {
		t.Fatal(err)
	}
	h := g.Authenticate(g.RequireOrganization(httpauth.Header("X-Organization-Id"))(http.HandlerFunc(adaptertest.Hello)))
	tok := f.Mint(t, "EdDSA", nil, nil)
	for _, c := range []struct {
		name   string
		orgs   []string
		status int
	}{
		{"same_org_accepted", []string{"org_acme"}, 200},
		{"other_org_forbidden", []string{"org_globex"}, 403},
		{"missing_header_forbidden", nil, 403},
		{"empty_header_forbidden", []string{""}, 403},
		// Two values could be read differently by a proxy and the app.
		{"repeated_header_forbidden", []string{"org_acme", "org_acme"}, 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			for _, o := range c.orgs {
				r.Header.Add("X-Organization-Id", o)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d", rec.Code, c.status)
			}
		})
	}
}

func TestNilOrganizationSourceFailsClosed(t *testing.T) {
	f := adaptertest.New(t)
	g, err := httpauth.New(httpauth.Options{Validator: f.Validator})
	if err != nil {
		t.Fatal(err)
	}
	h := g.Authenticate(g.RequireOrganization(nil)(http.HandlerFunc(adaptertest.Hello)))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+f.Mint(t, "EdDSA", nil, nil))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("status %d, want 403", rec.Code)
	}
}

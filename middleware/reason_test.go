package middleware_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
)

// TestReason checks the short names of real rejections, and that every
// name is one of Reasons.
func TestReason(t *testing.T) {
	p, err := authtest.NewProvider(authtest.Options{Issuer: "https://as.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	v, err := middleware.New(middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()}, Keys: p.KeySet()})
	if err != nil {
		t.Fatal(err)
	}
	mint := func(tok authtest.Token) string {
		s, err := p.Mint(tok)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	validate := func(tok string) error { _, err := v.Validate(context.Background(), tok); return err }
	c, err := v.Validate(context.Background(), mint(authtest.Token{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("not ours"), "other"},
		{validate(mint(authtest.Token{Claims: map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}})), "expired"},
		{validate(mint(authtest.Token{Claims: map[string]any{"aud": "https://other.test"}})), "wrong_audience"},
		{validate(mint(authtest.Token{Claims: map[string]any{"iss": "https://evil.test"}})), "wrong_issuer"},
		{validate(mint(authtest.Token{KID: "no-such-kid"})), "unknown_key"},
		{validate(mint(authtest.Token{Claims: map[string]any{"organizationId": nil}})), "missing_organization"},
		{validate("a.b.c"), "malformed"},
		{validate(mint(authtest.Token{})[:40] + "x.y.z"), "malformed"},
		{middleware.RequireScopes(c, scopes.All("write:invoices")), "insufficient_scope"},
		{middleware.RequireOrganization(c, "org_other"), "forbidden"},
		{middleware.NoCredentials(), "no_credentials"},
		{middleware.Forbidden("no"), "forbidden"},
	} {
		if got := middleware.Reason(tc.err); got != tc.want {
			t.Errorf("Reason(%v) = %q, want %q", tc.err, got, tc.want)
		}
		if tc.err != nil && !slices.Contains(middleware.Reasons(), middleware.Reason(tc.err)) {
			t.Errorf("Reason(%v) = %q is not in Reasons()", tc.err, middleware.Reason(tc.err))
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer a b")
	if _, err := v.Authenticate(r); middleware.Reason(err) != "invalid_request" {
		t.Errorf("two tokens in one header: %q (%v)", middleware.Reason(err), err)
	}
	tampered := mint(authtest.Token{})
	tampered = tampered[:len(tampered)-4] + "AAAA"
	if got := middleware.Reason(validate(tampered)); got != "bad_signature" && got != "malformed" {
		t.Errorf("tampered signature: %q", got)
	}
}

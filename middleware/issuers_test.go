package middleware_test

import (
	"context"
	"crypto"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/clientcasa/oauthguard/middleware"
)

// countingKeys counts the lookups of a key source.
type countingKeys struct {
	next  keyset.Source
	calls atomic.Int64
}

func (c *countingKeys) Key(ctx context.Context, q keyset.Query) (crypto.PublicKey, error) {
	c.calls.Add(1)
	return c.next.Key(ctx, q)
}

// Two issuers whose JWKS reuse one kid for different keys: each token passes
// only with its own issuer's keys, and a token claiming one issuer signed by
// the other's key is refused.
func TestTrustedIssuersBindKeys(t *testing.T) {
	const kid = "shared-kid"
	mk := func(iss string) *authtest.Provider {
		p, err := authtest.NewProvider(authtest.Options{Issuer: iss, Algs: []string{"ES256"}, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := mk("https://a.example.test"), mk("https://b.example.test")
	// Both publish their key under the same kid.
	rekid := func(p *authtest.Provider) *keyset.Set {
		k := p.KeySet().Keys()[0]
		k.ID = kid
		s, err := keyset.NewSet(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	keysA, keysB := &countingKeys{next: rekid(a)}, &countingKeys{next: rekid(b)}
	v, err := middleware.New(middleware.Config{
		Trusted: []middleware.Issuer{
			{Issuer: a.Issuer(), Keys: keysA},
			{Issuer: b.Issuer(), Keys: keysB, Audiences: []string{"https://b-api.example.test"}, OrganizationClaim: "org_id"},
		},
		Audiences: []string{authtest.DefaultAudience}, Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	mint := func(p *authtest.Provider, claims map[string]any) string {
		s, err := p.Mint(authtest.Token{KID: kid, Claims: claims})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ctx := context.Background()
	tokA := mint(a, nil)
	tokB := mint(b, map[string]any{"aud": "https://b-api.example.test", "org_id": "org_b", "organizationId": nil})
	for _, tc := range []struct {
		name string
		tok  string
		want error
		org  string
	}{
		{"issuer_a_token_accepted", tokA, nil, "org_acme"},
		{"issuer_b_token_with_its_own_rules_accepted", tokB, nil, "org_b"},
		// A's key signs, the token claims B: B's key (same kid) must refuse it.
		{"token_claiming_b_signed_by_a_refused", mint(a, map[string]any{"iss": b.Issuer(), "aud": "https://b-api.example.test", "org_id": "org_b"}), middleware.ErrBadSignature, ""},
		{"token_claiming_a_signed_by_b_refused", mint(b, map[string]any{"iss": a.Issuer()}), middleware.ErrBadSignature, ""},
		// Each issuer's audience and organization claim are its own.
		{"issuer_b_token_for_a_audience_refused", mint(b, map[string]any{"org_id": "org_b"}), middleware.ErrWrongAudience, ""},
		{"issuer_b_token_with_a_org_claim_refused", mint(b, map[string]any{"aud": "https://b-api.example.test"}), middleware.ErrMissingOrganization, ""},
		{"unknown_issuer_refused", mint(a, map[string]any{"iss": "https://evil.example.test"}), middleware.ErrWrongIssuer, ""},
		{"no_issuer_refused", mint(a, map[string]any{"iss": nil}), middleware.ErrWrongIssuer, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Validate(ctx, tc.tok)
			if tc.want == nil {
				if err != nil || c.OrganizationID != tc.org {
					t.Fatalf("refused: %v (%+v)", err, c)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// Unknown issuers never reach a key source.
	before := keysA.calls.Load() + keysB.calls.Load()
	for i := range 10_000 {
		tok := mint(a, map[string]any{"iss": "https://tenant-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + ".example.test"})
		if _, err := v.Validate(ctx, tok); !errors.Is(err, middleware.ErrWrongIssuer) {
			t.Fatalf("unknown issuer: %v", err)
		}
	}
	if got := keysA.calls.Load() + keysB.calls.Load() - before; got != 0 {
		t.Fatalf("%d key lookups for unknown issuers, want 0", got)
	}
	// Cache hits go to the token's own issuer's keys.
	for range 2 {
		if _, err := v.Validate(ctx, tokB); err != nil {
			t.Fatal(err)
		}
	}
	if st := v.Stats(); st.CacheEntries < 2 {
		t.Fatalf("stats %+v", st)
	}
}

// A jwks.Source with an issuer answers for that issuer only.
func TestJWKSSourceBoundToIssuer(t *testing.T) {
	as, err := authtest.Start(authtest.Options{Algs: []string{"EdDSA"}})
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	src, err := jwks.New(jwks.Config{Issuer: as.Issuer(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := src.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	kid := as.KIDs("EdDSA")[0]
	if _, err := src.Key(ctx, keyset.Query{Issuer: as.Issuer(), KeyID: kid, Algorithm: "EdDSA"}); err != nil {
		t.Fatalf("own issuer: %v", err)
	}
	if _, err := src.Key(ctx, keyset.Query{Issuer: "https://other.example.test", KeyID: kid, Algorithm: "EdDSA"}); !errors.Is(err, keyset.ErrKeyNotFound) {
		t.Fatalf("another issuer: %v", err)
	}
}

// jwks.Issuers as Config.Keys with Config.Issuers empty: the validator
// accepts exactly the issuers it trusts, each verified with its own keys,
// and refuses the others before any key lookup.
func TestDynamicIssuersFromIssuerSet(t *testing.T) {
	start := func() *authtest.Server {
		as, err := authtest.Start(authtest.Options{Algs: []string{"EdDSA"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(as.Close)
		return as
	}
	a, b, untrusted := start(), start(), start()
	set, err := jwks.NewIssuers(jwks.IssuersConfig{Allowlist: []string{a.Issuer(), b.Issuer()}, Source: jwks.Config{Logger: quiet()}})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	v, err := middleware.New(middleware.Config{Keys: set, Audiences: []string{authtest.DefaultAudience}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mint := func(as *authtest.Server, claims map[string]any) string {
		s, err := as.Mint(authtest.Token{Claims: claims})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, as := range []*authtest.Server{a, b} {
		// The issuer's source is created by this first token; under load
		// its first fetch may not be done yet (503 once, then it is).
		tok := mint(as, nil)
		c, err := v.Validate(ctx, tok)
		for i := 0; errors.Is(err, middleware.ErrKeysUnavailable) && i < 50; i++ {
			time.Sleep(20 * time.Millisecond)
			c, err = v.Validate(ctx, tok)
		}
		if err != nil || c.Issuer != as.Issuer() {
			t.Fatalf("trusted issuer %s: %v", as.Issuer(), err)
		}
	}
	// B's key signing a token that claims A: A's keys refuse it.
	if _, err := v.Validate(ctx, mint(b, map[string]any{"iss": a.Issuer()})); !errors.Is(err, middleware.ErrBadSignature) && !errors.Is(err, middleware.ErrUnknownKey) {
		t.Fatalf("token claiming A signed by B: %v", err)
	}
	if _, err := v.Validate(ctx, mint(untrusted, nil)); !errors.Is(err, middleware.ErrWrongIssuer) {
		t.Fatalf("untrusted issuer: %v", err)
	}
	if got := set.Issuers(); len(got) != 2 {
		t.Fatalf("sources held %v, want A and B only", got)
	}
	if untrusted.JWKSFetches() != 0 {
		t.Fatalf("the untrusted issuer's JWKS was fetched %d times", untrusted.JWKSFetches())
	}
}

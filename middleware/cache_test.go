package middleware_test

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/clientcasa/oauthguard/middleware"
)

func TestCacheKeepsEveryPerRequestCheck(t *testing.T) {
	clk := authtest.NewClock(now)
	var checks atomic.Int64
	f := newFixture(t, []string{"ES256"}, func(c *middleware.Config) {
		c.Now = clk.Now
		c.Check = func(context.Context, *middleware.Claims) error {
			if checks.Add(1) > 2 {
				return errors.New("third call refused")
			}
			return nil
		}
	})
	tok := f.mint(t, authtest.Token{})
	ctx := context.Background()
	for i := range 2 {
		if _, err := f.v.Validate(ctx, tok); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := f.v.Stats().CacheEntries; n != 1 {
		t.Fatalf("cache entries = %d, want 1", n)
	}
	t.Run("custom_check_runs_on_hits", func(t *testing.T) {
		if _, err := f.v.Validate(ctx, tok); !errors.Is(err, middleware.ErrRejected) || checks.Load() != 3 {
			t.Fatalf("err = %v after %d checks", err, checks.Load())
		}
	})
	t.Run("expiry_checked_on_hits", func(t *testing.T) {
		clk.Set(now.Add(2 * time.Hour))
		if _, err := f.v.Validate(ctx, tok); !errors.Is(err, middleware.ErrExpired) {
			t.Fatalf("cached token after exp: %v", err)
		}
		if n := f.v.Stats().CacheEntries; n != 0 {
			t.Fatalf("entries after exp = %d, want 0", n)
		}
	})
}

func TestCacheDropsTokensOfRemovedKeys(t *testing.T) {
	f := newFixture(t, []string{"EdDSA", "EdDSA"}, nil)
	kids := f.as.KIDs("EdDSA")
	// Tokens are signed by the newest key; mint, cache, then remove that key.
	tok := f.mint(t, authtest.Token{Alg: "EdDSA"})
	ctx := context.Background()
	if _, err := f.v.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	f.as.RemoveKey(kids[1])
	if err := f.keys.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Validate(ctx, tok); !errors.Is(err, middleware.ErrUnknownKey) {
		t.Fatalf("cached token of a removed key: %v", err)
	}
}

func TestCacheDropsTokensWhenKidIsReusedForAnotherKey(t *testing.T) {
	// An authorization server that reuses a kid for a new key: cached tokens
	// signed by the old key must not survive.
	a, _ := authtest.NewProvider(authtest.Options{Issuer: "https://as.test", Algs: []string{"ES256"}})
	b, _ := authtest.NewProvider(authtest.Options{Issuer: "https://as.test", Algs: []string{"ES256"}})
	kid := a.KIDs("ES256")[0]
	tok, _ := a.Mint(authtest.Token{})
	docA, _ := a.JWKS()
	// b's key published under a's kid.
	bTok, _ := b.Mint(authtest.Token{KID: kid})
	docB, _ := b.JWKS()
	docB = []byte(strings.ReplaceAll(string(docB), b.KIDs("ES256")[0], kid))

	var cur atomic.Value
	cur.Store(docA)
	ks := keySetFunc(func(ctx context.Context, k, alg string) (crypto.PublicKey, error) {
		set, _, err := jwks.Parse(cur.Load().([]byte))
		if err != nil {
			return nil, err
		}
		return set.Key(ctx, keyset.Query{KeyID: k, Algorithm: alg})
	})
	v, err := middleware.New(middleware.Config{Issuers: []string{"https://as.test"}, Audiences: []string{authtest.DefaultAudience}, Keys: ks})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	cur.Store(docB)
	if _, err := v.Validate(context.Background(), tok); !errors.Is(err, middleware.ErrBadSignature) {
		t.Fatalf("cached token after its kid moved to another key: %v", err)
	}
	if _, err := v.Validate(context.Background(), bTok); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
}

func TestCacheBoundedInBytes(t *testing.T) {
	f := newFixture(t, []string{"EdDSA"}, func(c *middleware.Config) { c.CacheBytes = 64 << 10 })
	ctx := context.Background()
	for i := range 500 {
		tok := f.mint(t, authtest.Token{Claims: map[string]any{"sub": fmt.Sprintf("user-%d", i)}})
		if _, err := f.v.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	st := f.v.Stats()
	n, size := st.CacheEntries, st.CacheBytes
	if size > 64<<10 || n == 0 || n >= 500 {
		t.Fatalf("cache holds %d entries, %d bytes; want fewer than 500 within 64 KiB", n, size)
	}
}

func TestCacheOff(t *testing.T) {
	f := newFixture(t, []string{"EdDSA"}, func(c *middleware.Config) { c.CacheBytes = -1 })
	if _, err := f.v.Validate(context.Background(), f.mint(t, authtest.Token{})); err != nil {
		t.Fatal(err)
	}
	if st := f.v.Stats(); st.CacheEntries != 0 || st.CacheBytes != 0 {
		t.Fatalf("disabled cache holds %d entries", st.CacheEntries)
	}
}

// A handler may change the Claims it was given, slices included, without
// changing what the cache serves to the next request with the same token.
func TestCacheHitClaimsAreCopies(t *testing.T) {
	f := newFixture(t, []string{"EdDSA"}, nil)
	for _, tc := range []struct {
		name   string
		scopes string
		aud    []string
	}{
		{"few_scopes_one_allocation", "read:clients write:invoices", []string{authtest.DefaultAudience}},
		{"many_scopes_and_audiences", "a b c d e f g h i j", []string{authtest.DefaultAudience, "x", "y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := f.mint(t, authtest.Token{Claims: map[string]any{"scope": tc.scopes, "aud": tc.aud}})
			ctx := context.Background()
			first, err := f.v.Validate(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ { // a miss, then hits
				c, err := f.v.Validate(ctx, tok)
				if err != nil {
					t.Fatal(err)
				}
				if c == first || !slices.Equal(c.Scopes, first.Scopes) || !slices.Equal(c.Audience, tc.aud) {
					t.Fatalf("hit %d: %+v", i, c)
				}
				// What a careless handler might do.
				c.Scopes[0] = "admin"
				c.Audience[0] = "https://evil.example.test"
				c.Scopes = append(c.Scopes, "delete:everything")
				c.OrganizationID = "org_globex"
			}
			c, err := f.v.Validate(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			if c.Scopes.String() != tc.scopes || c.Audience[0] != authtest.DefaultAudience || c.OrganizationID != "org_acme" ||
				c.Scopes.Has("admin") {
				t.Fatalf("a handler's changes reached the cache: %+v", c)
			}
		})
	}
}

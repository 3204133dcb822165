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

// A token in use survives a stream of tokens seen once (CLOCK: a hit since
// the hand last passed is a second chance), and every eviction is counted.
func TestCacheKeepsTokensInUse(t *testing.T) {
	f := newFixture(t, []string{"EdDSA"}, func(c *middleware.Config) { c.CacheBytes = 64 << 10 })
	ctx := context.Background()
	hot := f.mint(t, authtest.Token{Claims: map[string]any{"sub": "hot"}})
	if _, err := f.v.Validate(ctx, hot); err != nil {
		t.Fatal(err)
	}
	before := f.v.Stats().Token
	const n = 400
	for i := range n {
		if _, err := f.v.Validate(ctx, f.mint(t, authtest.Token{Claims: map[string]any{"sub": fmt.Sprintf("once-%d", i)}})); err != nil {
			t.Fatal(err)
		}
		if _, err := f.v.Validate(ctx, hot); err != nil {
			t.Fatal(err)
		}
	}
	st := f.v.Stats()
	if hits := st.Token.Hits - before.Hits; hits != n {
		t.Errorf("the token in use hit %d times in %d, want every time", hits, n)
	}
	if st.CacheBytes > 64<<10 || st.Token.Evictions == 0 || st.Token.Evictions+uint64(st.CacheEntries) != n+1 {
		t.Errorf("%d entries (%d bytes) and %d evictions after %d tokens", st.CacheEntries, st.CacheBytes, st.Token.Evictions, n+1)
	}
}

// Room is made from expired entries first: they are not evictions.
func TestCacheDropsExpiredEntriesFirst(t *testing.T) {
	clk := authtest.NewClock(now)
	f := newFixture(t, []string{"EdDSA"}, func(c *middleware.Config) { c.CacheBytes = 64 << 10; c.Now = clk.Now })
	ctx := context.Background()
	mint := func(i int, exp time.Time) string {
		return f.mint(t, authtest.Token{Claims: map[string]any{"sub": fmt.Sprintf("u-%d", i), "exp": exp.Unix()}})
	}
	for i := range 100 { // fills the cache
		if _, err := f.v.Validate(ctx, mint(i, now.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	full := f.v.Stats()
	if full.Token.Evictions == 0 {
		t.Fatalf("100 tokens did not fill 64 KiB (%d entries, %d bytes): make them more", full.CacheEntries, full.CacheBytes)
	}
	clk.Set(now.Add(time.Hour))
	for i := range full.CacheEntries - 2 { // new entries weigh a little more
		if _, err := f.v.Validate(ctx, mint(100+i, now.Add(2*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if st := f.v.Stats(); st.Token.Evictions != full.Token.Evictions {
		t.Errorf("%d evictions making room among expired entries, want none", st.Token.Evictions-full.Token.Evictions)
	}
}

// Concurrent hits, misses, insertions, evictions and invalidations (tokens
// expiring while in use) on a small cache: run under -race; every answer is
// the token's own.
func TestCacheConcurrentUse(t *testing.T) {
	clk := authtest.NewClock(now)
	f := newFixture(t, []string{"EdDSA", "ES256"}, func(c *middleware.Config) { c.CacheBytes = 64 << 10; c.Now = clk.Now })
	ctx := context.Background()
	toks := make([]string, 150)
	for i := range toks {
		exp := now.Add(time.Hour)
		if i%3 == 0 {
			exp = now.Add(time.Minute) // expires during the run
		}
		toks[i] = f.mint(t, authtest.Token{Alg: []string{"EdDSA", "ES256"}[i%2],
			Claims: map[string]any{"sub": fmt.Sprintf("u-%d", i), "exp": exp.Unix()}})
	}
	var expired atomic.Bool
	done := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := range 600 {
				if g == 0 && i == 300 {
					clk.Set(now.Add(2 * time.Minute))
					expired.Store(true)
				}
				j := (i*7 + g*13) % len(toks)
				late := expired.Load()
				c, err := f.v.Validate(ctx, toks[j])
				switch {
				case j%3 == 0 && late && !errors.Is(err, middleware.ErrExpired):
					done <- fmt.Errorf("token %d after its exp: %v", j, err)
					return
				case j%3 == 0 && errors.Is(err, middleware.ErrExpired):
				case err != nil:
					done <- fmt.Errorf("token %d: %v", j, err)
					return
				case c.Subject != fmt.Sprintf("u-%d", j):
					done <- fmt.Errorf("token %d answered with the claims of %q", j, c.Subject)
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if st := f.v.Stats(); st.CacheBytes > 64<<10 || st.Token.Hits == 0 || st.Token.Evictions == 0 {
		t.Errorf("after concurrent use: %+v", st)
	}
}

package middleware

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
)

// DefaultCacheBytes bounds the verified-token cache when Config.CacheBytes is zero.
const DefaultCacheBytes = 16 << 20

// The verified-token cache remembers tokens whose signature and static claims
// (iss, aud, organization, typ, alg, shape) were verified, keyed by the exact
// token string. A hit skips decoding and signature verification only: the
// clock checks (exp, nbf, iat) and Config.Check still run on every request,
// and the adapters' scope and organization guards are untouched. A hit is
// honoured only while the key set still returns an equal key for the token's
// kid and alg, so a key that left the JWKS stops validating its cached tokens.
// Entries expire at exp plus leeway; the cache is bounded in bytes (its
// weight counts the token, the claims document and fixed overhead), and
// rejected tokens are never cached, so junk cannot evict good entries
// faster than good entries arrive. Built on github.com/maypok86/otter/v2,
// chosen because it bounds by weight with per-entry expiry.
type tokenCache = otter.Cache[string, *cached]

type cached struct {
	claims Claims
	key    crypto.PublicKey
	policy *issuerPolicy // whose keys verified it
	query  string        // the issuer of the key query ("" with one issuer)
	weight uint32
}

// entryOverhead approximates the bytes of a cache node, an entry and a Claims.
const entryOverhead = 384

// noTicks is the cache clock: the validator's clock, without the background
// clean-up goroutine (expired entries are dropped on access and eviction).
type noTicks struct{ now func() time.Time }

func (c noTicks) NowNano() int64                      { return c.now().UnixNano() }
func (c noTicks) Tick(time.Duration) <-chan time.Time { return nil }

func newTokenCache(maxBytes int64, now func() time.Time, leeway time.Duration, evictions *atomic.Uint64) (*tokenCache, error) {
	return otter.New(&otter.Options[string, *cached]{
		// Hits and misses are counted by verify (two atomic adds: otter's
		// recorder costs more on every hit); evictions here.
		OnDeletion: func(e otter.DeletionEvent[string, *cached]) {
			if e.Cause == otter.CauseOverflow {
				evictions.Add(1)
			}
		},
		MaximumWeight: uint64(maxBytes),
		Weigher:       func(_ string, e *cached) uint32 { return e.weight },
		ExpiryCalculator: otter.ExpiryCreatingFunc(func(e otter.Entry[string, *cached]) time.Duration {
			return e.Value.claims.Expiry.Add(leeway).Sub(now())
		}),
		Clock: noTicks{now: now},
		// Maintenance runs on the calling goroutine, amortized, instead of
		// in a new goroutine now and then: cheaper at high request rates,
		// and nothing here blocks (the deletion handler is one atomic add).
		Executor: func(fn func()) { fn() },
	})
}

// sameKey reports whether the key set still returns the key a cached token
// was verified with: the same pointer or backing array (the common case,
// free), else an equal
// key (standard library public keys all have Equal).
func sameKey(cur, was crypto.PublicKey) bool {
	switch w := was.(type) {
	case *rsa.PublicKey:
		if c, ok := cur.(*rsa.PublicKey); ok && c == w {
			return true
		}
	case *ecdsa.PublicKey:
		if c, ok := cur.(*ecdsa.PublicKey); ok && c == w {
			return true
		}
	case ed25519.PublicKey:
		// The same backing array is the same key (a key set's keys are
		// never modified), without comparing 32 bytes.
		if c, ok := cur.(ed25519.PublicKey); ok && len(c) == len(w) && len(c) > 0 && &c[0] == &w[0] {
			return true
		}
	}
	eq, ok := was.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(cur)
}

// clone returns a copy of c that shares nothing mutable with it, in one
// allocation of the smallest size that holds its scopes and audiences: a
// handler may then change its Claims (filter Scopes in place, say) without
// touching the cached entry or another request's Claims. The allocation has
// room for the request context that will carry the copy (withClaims), so
// that a cache hit costs one allocation for both.
func (c *Claims) clone() *Claims {
	switch n := len(c.Scopes) + len(c.Audience); {
	case n <= 4:
		b := new(struct {
			Claims
			home claimsContext
			buf  [4]string
		})
		return fill(&b.Claims, &b.home, b.buf[:], c)
	case n <= 8:
		b := new(struct {
			Claims
			home claimsContext
			buf  [8]string
		})
		return fill(&b.Claims, &b.home, b.buf[:], c)
	case n <= 16:
		b := new(struct {
			Claims
			home claimsContext
			buf  [16]string
		})
		return fill(&b.Claims, &b.home, b.buf[:], c)
	}
	return fill(new(Claims), nil, make([]string, len(c.Scopes)+len(c.Audience)), c)
}

// fill makes d a copy of c whose slices are copied into buf, with home the
// room for its context (nil: none).
func fill(d *Claims, home *claimsContext, buf []string, c *Claims) *Claims {
	*d = *c
	d.home = home
	n, m := copy(buf, c.Scopes), len(c.Audience)
	copy(buf[n:], c.Audience)
	if c.Scopes != nil {
		d.Scopes = buf[:n:n]
	}
	if c.Audience != nil {
		d.Audience = buf[n : n+m : n+m]
	}
	return d
}

func weigh(raw string, c *Claims) uint32 {
	n := len(raw) + len(c.payload) + entryOverhead + 16*(len(c.Scopes)+len(c.Audience))
	return uint32(min(n, 1<<31))
}

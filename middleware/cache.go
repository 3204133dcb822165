package middleware

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"sync"
	"sync/atomic"
	"time"
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
// The cache is bounded in bytes (an entry weighs the token, the claims
// document and fixed overhead); rejected tokens are never cached, so junk
// cannot evict good entries faster than good entries arrive. An expired
// token's entry answers no hit that the clock check would not refuse, and
// is the first to go when room is needed.
//
// It is a map per shard under a read-write lock, with CLOCK (second chance)
// eviction: a hit is a read lock and one atomic flag, so the request path
// costs a map lookup, where the general-purpose cache it replaced (otter,
// still used for introspection answers) spent about four times as much on
// hashing and its admission policy's bookkeeping. Tokens are spread over the
// shards by their last bytes (a JWT's signature); only verified tokens are
// inserted, so no client chooses what fills a shard.
type tokenCache struct {
	shards    []cacheShard
	mask      int
	shardMax  int64 // bytes per shard
	now       func() time.Time
	leeway    time.Duration
	evictions *atomic.Uint64
}

type cacheShard struct {
	mu    sync.RWMutex
	m     map[string]*cached
	ring  []*cached // the CLOCK: every entry once, in no particular order
	hand  int
	bytes int64
	_     [64]byte // each shard's lock on its own cache line
}

type cached struct {
	claims Claims
	key    crypto.PublicKey
	policy *issuerPolicy // whose keys verified it
	query  string        // the issuer of the key query ("" with one issuer)
	raw    string
	weight uint32
	slot   int         // index in the shard's ring, under the shard's lock
	used   atomic.Bool // CLOCK's reference bit: hit since the hand last passed
}

// entryOverhead approximates the bytes of an entry, its map slot and a Claims.
const entryOverhead = 384

// shardBytes is the least a shard holds: small caches have fewer shards.
const shardBytes = 64 << 10

func newTokenCache(maxBytes int64, now func() time.Time, leeway time.Duration, evictions *atomic.Uint64) *tokenCache {
	n := 1
	for n < 64 && int64(n)*2*shardBytes <= maxBytes {
		n *= 2
	}
	c := &tokenCache{shards: make([]cacheShard, n), mask: n - 1, shardMax: maxBytes / int64(n),
		now: now, leeway: leeway, evictions: evictions}
	for i := range c.shards {
		c.shards[i].m = map[string]*cached{}
	}
	return c
}

func (c *tokenCache) shard(raw string) *cacheShard {
	h := uint64(len(raw))
	for i := max(0, len(raw)-8); i < len(raw); i++ {
		h = (h ^ uint64(raw[i])) * 0x100000001b3
	}
	return &c.shards[int(h^h>>32)&c.mask]
}

// get returns raw's entry, nil when there is none.
func (c *tokenCache) get(raw string) *cached {
	s := c.shard(raw)
	s.mu.RLock()
	e := s.m[raw]
	s.mu.RUnlock()
	if e != nil && !e.used.Load() {
		e.used.Store(true)
	}
	return e
}

// set makes e raw's entry, evicting others until it fits; an entry larger
// than a shard is not kept.
func (c *tokenCache) set(raw string, e *cached) {
	if int64(e.weight) > c.shardMax {
		return
	}
	e.raw = raw
	s := c.shard(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.m[raw]; old != nil {
		s.remove(old)
	}
	var now time.Time
	for s.bytes+int64(e.weight) > c.shardMax {
		if now.IsZero() {
			now = c.now()
		}
		s.evict(now.Add(-c.leeway), c.evictions)
	}
	// A new entry goes just behind the hand, the last it reaches (the
	// entry there moves to the end): unflagged, it lasts a whole turn.
	e.slot = len(s.ring)
	s.ring = append(s.ring, e)
	if s.hand < e.slot {
		h := s.ring[s.hand]
		s.ring[s.hand], s.ring[e.slot] = e, h
		e.slot, h.slot = s.hand, e.slot
	}
	s.hand = e.slot + 1
	s.m[raw] = e
	s.bytes += int64(e.weight)
}

// invalidate drops raw's entry.
func (c *tokenCache) invalidate(raw string) {
	s := c.shard(raw)
	s.mu.Lock()
	if e := s.m[raw]; e != nil {
		s.remove(e)
	}
	s.mu.Unlock()
}

// size returns the entries and their bytes.
func (c *tokenCache) size() (entries int, bytes uint64) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		entries, bytes = entries+len(s.m), bytes+uint64(s.bytes)
		s.mu.RUnlock()
	}
	return entries, bytes
}

// evict drops one entry (the shard is not empty and locked): the first the
// hand meets that expired (at late, the clock less the leeway) or was not
// hit since the hand last passed it, clearing the flags it passes; only a
// live entry counts as an eviction.
func (s *cacheShard) evict(late time.Time, evictions *atomic.Uint64) {
	for {
		if s.hand >= len(s.ring) {
			s.hand = 0
		}
		e := s.ring[s.hand]
		switch {
		case !late.Before(e.claims.Expiry):
		case e.used.Load():
			e.used.Store(false)
			s.hand++
			continue
		default:
			evictions.Add(1)
		}
		s.remove(e)
		return
	}
}

// remove takes e out of the shard (locked).
func (s *cacheShard) remove(e *cached) {
	last := len(s.ring) - 1
	s.ring[e.slot] = s.ring[last]
	s.ring[e.slot].slot = e.slot
	s.ring[last] = nil
	s.ring = s.ring[:last]
	delete(s.m, e.raw)
	s.bytes -= int64(e.weight)
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

package redisstore

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/clientcasa/oauthguard/middleware"
	"github.com/redis/go-redis/v9"
)

// Defaults of IntrospectionOptions.
const (
	DefaultMaxValueBytes = 16 << 10
	DefaultWait          = 3 * time.Second
	DefaultRetryRedis    = time.Second
	// MinHashKeyBytes is the shortest accepted IntrospectionOptions.HashKey.
	MinHashKeyBytes = 32
	// failureTTL is how long a failed introspection is shared, so that
	// the replicas waiting for it answer 503 at once instead of each asking
	// again, one after the other.
	failureTTL = time.Second
)

// IntrospectionOptions configure an Introspector.
type IntrospectionOptions struct {
	Options
	// HashKey keys the HMAC-SHA256 that names a token in Redis: keys are
	// that hash, never the token, so reading Redis reveals no token and
	// cannot test a guess without the key. At least MinHashKeyBytes (32)
	// random bytes, the same on every replica, kept like a secret. Required.
	HashKey []byte
	// TTL is how long an answer is shared: use the Validator's
	// IntrospectionTTL. Each replica then keeps it in memory for up to TTL
	// more, so an answer is at most 2×TTL old. Zero:
	// middleware.DefaultIntrospectionTTL (5 s). Negative: nothing is shared
	// and every call goes to the authorization server (for a Validator
	// that asks on every request).
	TTL time.Duration
	// MaxValueBytes bounds an answer stored in Redis; a longer one is
	// returned but not shared. Zero: DefaultMaxValueBytes (16 KiB).
	MaxValueBytes int
	// Wait bounds how long a replica waits for another replica's
	// introspection of the same token before asking itself: more than the
	// introspection client's timeout. Zero: DefaultWait (3 s).
	Wait time.Duration
	// RetryRedis is how long Redis is left alone after it failed: calls go
	// straight to the authorization server meanwhile. Zero:
	// DefaultRetryRedis (1 s).
	RetryRedis time.Duration
}

// Introspector is a middleware.Introspector that shares the answers of
// another (the HTTP introspection client) between every replica: a token
// is introspected once per TTL across the fleet. Concurrent first uses of
// a token on several replicas make one call: the first takes a lock in
// Redis (in the same round trip as its cache lookup), the others wait for
// its answer. When Redis fails, calls go straight to the authorization
// server: a shared cache that is down costs load, never a wrong answer.
type Introspector struct {
	next    middleware.Introspector
	c       redis.UniversalClient
	o       IntrospectionOptions
	prefix  string
	timeout time.Duration
	downTil atomic.Int64 // unix nanos until which Redis is skipped

	hits, calls, waits, direct, redisErrors atomic.Int64
}

var _ middleware.Introspector = (*Introspector)(nil)

// IntrospectionStats counts what an Introspector did.
type IntrospectionStats struct {
	// Hits are answers found in Redis; Calls, introspections this replica
	// made and shared; Waits, lookups that waited for another replica's
	// call; Direct, calls made without Redis (down, or an answer too long
	// to share); RedisErrors, round trips that failed.
	Hits, Calls, Waits, Direct, RedisErrors int64
}

// NewIntrospector returns an Introspector over c (built and closed by the
// caller) in front of next.
func NewIntrospector(c redis.UniversalClient, next middleware.Introspector, o IntrospectionOptions) (*Introspector, error) {
	switch {
	case c == nil || next == nil:
		return nil, errors.New("redisstore: NewIntrospector needs a client and an Introspector")
	case len(o.HashKey) < MinHashKeyBytes:
		return nil, fmt.Errorf("redisstore: IntrospectionOptions.HashKey must hold at least %d bytes", MinHashKeyBytes)
	}
	o.HashKey = append([]byte(nil), o.HashKey...)
	if o.TTL == 0 {
		o.TTL = middleware.DefaultIntrospectionTTL
	}
	if o.MaxValueBytes <= 0 {
		o.MaxValueBytes = DefaultMaxValueBytes
	}
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	if o.RetryRedis <= 0 {
		o.RetryRedis = DefaultRetryRedis
	}
	return &Introspector{next: next, c: c, o: o, prefix: o.prefix() + "introspection:", timeout: o.timeout()}, nil
}

// lookup returns the shared answer, or takes the lock (1), or reports that
// another replica holds it (0), in one round trip.
var lookup = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`)

// store shares an answer (unless empty) and releases the lock if still ours.
var store = redis.NewScript(`
if ARGV[1] ~= '' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1`)

// Answers are JSON objects; a shared failure is this marker instead.
const failed = "!failed"

// errShared is returned to replicas that waited for a failed introspection.
var errShared = errors.New("redisstore: the introspection another replica made for this token failed")

// Introspect implements middleware.Introspector.
func (i *Introspector) Introspect(ctx context.Context, token string) ([]byte, error) {
	if i.o.TTL < 0 || time.Now().UnixNano() < i.downTil.Load() {
		i.direct.Add(1)
		return i.next.Introspect(ctx, token)
	}
	mac := hmac.New(sha256.New, i.o.HashKey)
	mac.Write([]byte(token))
	// The braces make both keys one Redis Cluster hash slot.
	key := i.prefix + "{" + hex.EncodeToString(mac.Sum(nil)) + "}"
	keys := []string{key, key + ":lock"}
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	owner := hex.EncodeToString(nonce[:])
	lockMS := strconv.FormatInt(i.o.Wait.Milliseconds(), 10)

	deadline := time.Now().Add(i.o.Wait)
	pause := 2 * time.Millisecond
	for waited := false; ; waited = true {
		res, err := i.run(ctx, lookup, keys, owner, lockMS)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			return i.fallback(ctx, token)
		}
		switch v := res.(type) {
		case string:
			i.hits.Add(1)
			if waited {
				i.waits.Add(1)
			}
			if v == failed {
				return nil, errShared
			}
			return []byte(v), nil
		case int64:
			if v == 1 {
				return i.call(ctx, token, keys, owner)
			}
		}
		if time.Now().After(deadline) {
			// The holder is slow or gone, and its lock about to lapse.
			i.direct.Add(1)
			return i.next.Introspect(ctx, token)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// call introspects as the lock holder and shares the answer, or the
// failure for failureTTL.
func (i *Introspector) call(ctx context.Context, token string, keys []string, owner string) ([]byte, error) {
	i.calls.Add(1)
	body, err := i.next.Introspect(ctx, token)
	value, ttl := string(body), i.o.TTL
	switch {
	case err != nil:
		value, ttl = failed, failureTTL
	case len(body) > i.o.MaxValueBytes || len(body) == 0 || body[0] != '{':
		value = "" // not shared: the others ask themselves
	}
	if _, serr := i.run(context.WithoutCancel(ctx), store, keys, value, strconv.FormatInt(ttl.Milliseconds(), 10), owner); serr != nil {
		i.markDown()
	}
	return body, err
}

func (i *Introspector) fallback(ctx context.Context, token string) ([]byte, error) {
	i.markDown()
	i.direct.Add(1)
	return i.next.Introspect(ctx, token)
}

func (i *Introspector) markDown() {
	i.redisErrors.Add(1)
	i.downTil.Store(time.Now().Add(i.o.RetryRedis).UnixNano())
}

func (i *Introspector) run(ctx context.Context, s *redis.Script, keys []string, args ...any) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, i.timeout)
	defer cancel()
	start := time.Now()
	res, err := s.Run(ctx, i.c, keys, args...).Result()
	if errors.Is(err, redis.Nil) {
		res, err = nil, nil
	}
	i.o.observe(OpIntrospection, start, err)
	return res, err
}

// Stats reports what the Introspector did.
func (i *Introspector) Stats() IntrospectionStats {
	return IntrospectionStats{Hits: i.hits.Load(), Calls: i.calls.Load(), Waits: i.waits.Load(),
		Direct: i.direct.Load(), RedisErrors: i.redisErrors.Load()}
}

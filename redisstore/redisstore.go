package redisstore

import (
	"cmp"
	"context"
	"encoding/base64"
	"time"

	"github.com/clientcasa/oauthguard/dpop"
	"github.com/redis/go-redis/v9"
)

// Defaults of Options.
const (
	DefaultPrefix  = "oauthguard:"
	DefaultTimeout = 500 * time.Millisecond
)

// Options are what every store of this package shares. Every field's zero
// value is a documented default.
type Options struct {
	// Prefix starts every key and channel name, so that several APIs can
	// share one Redis. Zero: DefaultPrefix ("oauthguard:"). Every replica
	// of one API must use the same.
	Prefix string
	// Timeout bounds each round trip to Redis, as a context deadline: build
	// the client with ContextTimeoutEnabled (go-redis otherwise applies its
	// own ReadTimeout and WriteTimeout, 3 s by default, instead). Zero:
	// DefaultTimeout (500 ms).
	Timeout time.Duration
}

func (o Options) prefix() string { return cmp.Or(o.Prefix, DefaultPrefix) }

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

// ReplayStore is a dpop.ReplayStore shared by every replica: each proof is
// recorded with one SET NX PX round trip, so that of any number of
// identical proofs sent at once to any replicas exactly one is accepted.
// When Redis cannot answer, CheckAndSet returns the error and the proof is
// refused (503): a replay store that cannot say "new" never says it.
type ReplayStore struct {
	c       redis.UniversalClient
	prefix  string
	timeout time.Duration
}

var _ dpop.ReplayStore = (*ReplayStore)(nil)

// NewReplayStore returns a ReplayStore over c, which the caller builds
// (address, TLS, auth, Sentinel or Cluster) and closes.
func NewReplayStore(c redis.UniversalClient, o Options) *ReplayStore {
	return &ReplayStore{c: c, prefix: o.prefix() + "dpop:", timeout: o.timeout()}
}

// CheckAndSet implements dpop.ReplayStore. The key expires at expires, on
// Redis's clock as a duration from now (PX), so clock skew between replicas
// and Redis does not matter.
func (s *ReplayStore) CheckAndSet(ctx context.Context, key string, expires time.Time) (bool, error) {
	ttl := max(time.Until(expires), time.Millisecond)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.c.SetNX(ctx, s.prefix+base64.RawURLEncoding.EncodeToString([]byte(key)), "", ttl).Result()
}

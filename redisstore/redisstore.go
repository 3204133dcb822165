package redisstore

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"strconv"
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
	// Observer is told of every round trip to Redis and of each revocation
	// that arrives from another replica, for metrics (otelguard.Metrics is
	// one). Zero: none.
	Observer Observer
}

// Observer receives what a store does with Redis. Its methods must be fast
// and safe for concurrent use.
type Observer interface {
	// RedisRoundTrip is called after each round trip (a command, script or
	// pipeline) with its operation: OpDPoP, OpEpoch, OpIntrospection,
	// OpRevoke, OpResync or OpPing.
	RedisRoundTrip(op string, d time.Duration, err error)
	// RevocationPropagated is called when a revocation this replica did not
	// hold arrives on the channel, with the time since it was made: since
	// its at, on the revoking replica's clock, which travels in whole
	// seconds rounded up, so the figure is short by up to a second (never
	// below zero). It tells propagation of seconds or more (a replica cut
	// off from the channel), not milliseconds.
	RevocationPropagated(delay time.Duration)
}

// The operations of Observer.RedisRoundTrip.
const (
	OpDPoP          = "dpop"          // a DPoP proof recorded (ReplayStore)
	OpEpoch         = "epoch"         // CreateEpoch
	OpIntrospection = "introspection" // a lookup, lock or store (Introspector)
	OpRevoke        = "revoke"        // a revocation written and published
	OpResync        = "resync"        // the list read, or written back
	OpPing          = "ping"          // the subscription's connection checked
)

// observe reports a round trip begun at start.
func (o Options) observe(op string, start time.Time, err error) {
	if o.Observer != nil {
		o.Observer.RedisRoundTrip(op, time.Since(start), err)
	}
}

func (o Options) prefix() string { return cmp.Or(o.Prefix, DefaultPrefix) }

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

// ReplayStore is a dpop.ReplayStore shared by every replica: each proof is
// recorded with one round trip (a script around SET NX PX), so that of any
// number of identical proofs sent at once to any replicas exactly one is
// accepted. When Redis cannot answer, CheckAndSet returns the error and the
// proof is refused (503): a replay store that cannot say "new" never says
// it.
//
// A Redis that restarts without its data forgets the proofs it held, which
// could then be replayed until their window ends. The store keeps an epoch
// key beside them; when it is missing (an empty Redis) it is written, and
// every proof is refused (503) for one window (Window) from then on: the
// proofs Redis forgot have all expired when DPoP works again. At the first
// deployment that is a window of 503s for DPoP too, unless the epoch key is
// created beforehand (CreateEpoch).
type ReplayStore struct {
	c       redis.UniversalClient
	keys    string // prefix of the proof keys; the braces put them and the epoch in one Cluster slot
	epoch   string
	window  string // ms
	timeout time.Duration
	o       Options
}

var _ dpop.ReplayStore = (*ReplayStore)(nil)

// ReplayOptions configure a ReplayStore.
type ReplayOptions struct {
	Options
	// Window is the longest a proof is checked for (dpop.Config's MaxAge
	// plus Leeway): how long proofs are refused after Redis lost its data.
	// Zero: dpop.DefaultMaxAge + dpop.DefaultLeeway (65 s).
	Window time.Duration
}

// NewReplayStore returns a ReplayStore over c, which the caller builds
// (address, TLS, auth, Sentinel or Cluster) and closes.
func NewReplayStore(c redis.UniversalClient, o ReplayOptions) *ReplayStore {
	if o.Window <= 0 {
		o.Window = dpop.DefaultMaxAge + dpop.DefaultLeeway
	}
	p := o.prefix() + "dpop:{r}:"
	return &ReplayStore{c: c, keys: p, epoch: p + "epoch", window: strconv.FormatInt(o.Window.Milliseconds(), 10), timeout: o.timeout(), o: o.Options}
}

// checkAndSet records a proof unless the epoch is younger than the window
// (-1), on Redis's clock.
var checkAndSet = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local e = redis.call('GET', KEYS[2])
if not e then
  redis.call('SET', KEYS[2], now)
  e = now
end
if now - tonumber(e) < tonumber(ARGV[2]) then return -1 end
if redis.call('SET', KEYS[1], '', 'NX', 'PX', ARGV[1]) then return 1 end
return 0`)

// ErrReplayWindow is CheckAndSet's error within the window after Redis was
// found empty (restarted without its data, or never used).
var ErrReplayWindow = errors.New("redisstore: Redis lost the proofs it held (or is new); DPoP proofs are refused until their window has passed")

// CheckAndSet implements dpop.ReplayStore. The key expires at expires, on
// Redis's clock as a duration from now (PX), so clock skew between replicas
// and Redis does not matter.
func (s *ReplayStore) CheckAndSet(ctx context.Context, key string, expires time.Time) (bool, error) {
	ttl := max(time.Until(expires), time.Millisecond)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	start := time.Now()
	res, err := checkAndSet.Run(ctx, s.c, []string{s.keys + base64.RawURLEncoding.EncodeToString([]byte(key)), s.epoch},
		strconv.FormatInt(ttl.Milliseconds(), 10), s.window).Int64()
	s.o.observe(OpDPoP, start, err)
	switch {
	case err != nil:
		return false, err
	case res < 0:
		return false, ErrReplayWindow
	}
	return res == 1, nil
}

// CreateEpoch writes the epoch key of an empty Redis as if it had been
// there for ever, so that DPoP works at once: for a first deployment only,
// when no proof can have been forgotten. It is a no-op when the key exists.
func (s *ReplayStore) CreateEpoch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	start := time.Now()
	err := s.c.SetNX(ctx, s.epoch, 0, 0).Err()
	s.o.observe(OpEpoch, start, err)
	return err
}

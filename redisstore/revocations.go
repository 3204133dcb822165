package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/revocation"
	"github.com/go-json-experiment/json"
	"github.com/redis/go-redis/v9"
)

// Defaults of RevocationOptions.
const (
	DefaultStaleAfter     = 10 * time.Second
	DefaultResyncInterval = 30 * time.Second
)

// RevocationOptions configure Revocations.
type RevocationOptions struct {
	Options
	// MaxEntries bounds the revocations Revoke accepts on this replica
	// (revocation.Set). Zero: revocation.DefaultMaxEntries.
	MaxEntries int
	// StaleAfter is how long the list may go without being synchronised
	// with Redis (unreachable at start, or since the connection was lost)
	// before Health reports it not ready. Zero: DefaultStaleAfter (10 s).
	StaleAfter time.Duration
	// FailClosed makes Revoked return an error once the list is stale, so
	// that every token gets 503 rather than risk missing a revocation.
	// Zero: the last known list keeps being used (and Health says not
	// ready).
	FailClosed bool
	// ResyncInterval is how often the whole list is read again while
	// connected, besides after every (re)connection. Zero:
	// DefaultResyncInterval (30 s).
	ResyncInterval time.Duration
	// Logger receives sync losses and recoveries. Zero: slog.Default().
	Logger *slog.Logger
}

// ErrStale is the cause of Revoked's error when FailClosed is set and the
// list has not been synchronised for longer than StaleAfter.
var ErrStale = errors.New("redisstore: the revocation list has not been synchronised with Redis for too long")

// Revocations is a revocation list shared by every replica through Redis:
// a middleware.Revocations (set it as Config.Revocations). Each replica
// keeps the whole list in memory (a revocation.Set), so a check costs no
// round trip. Revoke adds an entry here, to a sorted set in Redis (scored
// by its end) and publishes it on a channel every replica subscribes to;
// after every (re)connection, and every ResyncInterval, each replica reads
// the whole sorted set again and writes back (and publishes) what it holds
// that Redis lost (a restart without persistence), so a missed message is
// never a missed revocation.
//
// Anything with a Redis client can publish a revocation (an authorization
// server's hook on logout or consent withdrawal): ZADD <prefix>revocations
// <until in Unix ms> <json> then PUBLISH <prefix>revocations <json>, where
// <json> is a revocation.Revocation as JSON with at and until (Unix
// seconds) both present.
type Revocations struct {
	set     *revocation.Set
	c       redis.UniversalClient
	o       RevocationOptions
	key     string
	timeout time.Duration
	log     *slog.Logger
	cancel  context.CancelFunc
	done    chan struct{}
	// mine holds the messages this replica published and has not yet
	// received back (with when), so that its own are not reported
	// propagated; entries older than a minute (a message the channel
	// dropped) are pruned at each Revoke.
	mineMu sync.Mutex
	mine   map[string]time.Time

	mu      sync.Mutex
	synced  bool
	since   time.Time // when synced last changed (or the start)
	last    time.Time // last full sync
	lastErr string
	syncs   int64
	// staleAt is when the list stops being ready (Unix ns): never while
	// synced, StaleAfter after losing sync (or after the start).
	staleAt atomic.Int64
}

// ready: synced, or not for less than StaleAfter. One atomic load, for
// Revoked's hot path with FailClosed.
func (r *Revocations) ready() bool { return time.Now().UnixNano() < r.staleAt.Load() }

var _ middleware.Revocations = (*Revocations)(nil)

// NewRevocations returns a Revocations over c (built and closed by the
// caller) and starts synchronising it in the background; it does not wait
// for Redis. Close stops it.
func NewRevocations(c redis.UniversalClient, o RevocationOptions) *Revocations {
	if o.StaleAfter <= 0 {
		o.StaleAfter = DefaultStaleAfter
	}
	if o.ResyncInterval <= 0 {
		o.ResyncInterval = DefaultResyncInterval
	}
	r := &Revocations{set: revocation.NewSet(o.MaxEntries, nil), c: c, o: o, key: o.prefix() + "revocations",
		timeout: o.timeout(), log: o.Logger, done: make(chan struct{}), since: time.Now()}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.staleAt.Store(r.since.Add(o.StaleAfter).UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.run(ctx)
	return r
}

// Revoke adds rev on this replica at once and publishes it to the others.
// It returns the revocation as added (see revocation.Revocation.Normalize).
// An error from Redis means the others may not have it: it is still in
// force here, and the next resync of this replica writes it to Redis.
func (r *Revocations) Revoke(ctx context.Context, rev revocation.Revocation) (revocation.Revocation, error) {
	rev, err := r.set.Revoke(rev)
	if err != nil {
		return rev, err
	}
	doc, err := json.Marshal(rev)
	if err != nil {
		return rev, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	start := time.Now()
	if r.o.Observer != nil {
		r.remember(string(doc))
	}
	_, err = r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, r.key, redis.Z{Score: float64(rev.Until.UnixMilli()), Member: string(doc)})
		p.ZRemRangeByScore(ctx, r.key, "-inf", strconv.FormatInt(time.Now().UnixMilli(), 10))
		p.Publish(ctx, r.key, string(doc))
		return nil
	})
	r.o.observe(OpRevoke, start, err)
	if err != nil {
		r.forget(string(doc))
		return rev, fmt.Errorf("redisstore: revocation in force here, not published: %w", err)
	}
	return rev, nil
}

// Revoked implements middleware.Revocations from the local copy.
func (r *Revocations) Revoked(c *middleware.Claims) (bool, error) {
	if r.o.FailClosed && !r.ready() {
		return false, ErrStale
	}
	return r.set.Revoked(c)
}

// RevocationHealth is a point-in-time report of a Revocations.
type RevocationHealth struct {
	// Synced: subscribed, and the whole list read since.
	Synced bool
	// Ready: synced, or not for less than StaleAfter.
	Ready bool
	// Since is when Synced last changed (or the start); LastSync, the last
	// full read of the list (zero: never).
	Since, LastSync time.Time
	// Entries is the revocations held; Syncs, the full reads so far.
	Entries int
	Syncs   int64
	// LastError is the last failure, for operators ("" when none).
	LastError string
}

// Health reports the sync state, for health and readiness endpoints.
func (r *Revocations) Health() RevocationHealth {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RevocationHealth{Synced: r.synced, Ready: r.ready(),
		Since: r.since, LastSync: r.last, Entries: r.set.Len(), Syncs: r.syncs, LastError: r.lastErr}
}

// Close stops synchronising; the local list stays as it is.
func (r *Revocations) Close() {
	r.cancel()
	<-r.done
}

func (r *Revocations) setSynced(ok bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.lastErr = err.Error()
	}
	if ok {
		r.last = time.Now()
		r.syncs++
	}
	if ok != r.synced {
		r.synced, r.since = ok, time.Now()
		if ok {
			r.staleAt.Store(math.MaxInt64)
		} else {
			r.staleAt.Store(r.since.Add(r.o.StaleAfter).UnixNano())
		}
		if ok {
			r.log.Info("redisstore: revocation list synchronised", "entries", r.set.Len())
		} else {
			r.log.Warn("redisstore: revocation list lost its connection to Redis; keeping the last known list", "error", r.lastErr)
		}
	}
}

// remember records a message this replica publishes, pruning old ones.
func (r *Revocations) remember(doc string) {
	r.mineMu.Lock()
	defer r.mineMu.Unlock()
	now := time.Now()
	if r.mine == nil {
		r.mine = map[string]time.Time{}
	}
	for d, at := range r.mine {
		if now.Sub(at) > time.Minute {
			delete(r.mine, d)
		}
	}
	r.mine[doc] = now
}

// forget removes doc and reports whether this replica had published it.
func (r *Revocations) forget(doc string) bool {
	r.mineMu.Lock()
	defer r.mineMu.Unlock()
	_, ok := r.mine[doc]
	delete(r.mine, doc)
	return ok
}

// run subscribes, resynchronises after every subscription confirmation
// (the first, and each after go-redis reconnects) and applies messages,
// until ctx ends.
func (r *Revocations) run(ctx context.Context) {
	defer close(r.done)
	ps := r.c.Subscribe(ctx, r.key)
	defer ps.Close()
	pause := 50 * time.Millisecond
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, time.Second)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				// Quiet channel, connection up: resync if the last one
				// failed or is due, else check the connection.
				if h := r.Health(); !h.Synced || time.Since(h.LastSync) >= r.o.ResyncInterval {
					r.resync(ctx)
				} else {
					start := time.Now()
					perr := ps.Ping(ctx)
					r.o.observe(OpPing, start, perr)
					if perr != nil {
						r.setSynced(false, perr)
					}
				}
				continue
			}
			r.setSynced(false, err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(2*pause, 2*time.Second)
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				pause = 50 * time.Millisecond
				r.resync(ctx)
			}
		case *redis.Message:
			var rev revocation.Revocation
			if err := json.Unmarshal([]byte(m.Payload), &rev); err != nil || rev.At.IsZero() || rev.Until.IsZero() {
				r.log.Warn("redisstore: ignored a message on the revocation channel that is not a revocation with at and until", "bytes", len(m.Payload))
				continue
			}
			own := r.o.Observer != nil && r.forget(m.Payload)
			if r.set.Merge(rev) > 0 && r.o.Observer != nil && !own {
				r.o.Observer.RevocationPropagated(max(time.Since(rev.At), 0))
			}
		}
	}
}

// resync reads every live revocation from Redis into the local list, and
// writes back to Redis the local ones it lacks.
func (r *Revocations) resync(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 4*r.timeout)
	defer cancel()
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	start := time.Now()
	members, err := r.c.ZRangeByScore(ctx, r.key, &redis.ZRangeBy{Min: "(" + now, Max: "+inf"}).Result()
	r.o.observe(OpResync, start, err)
	if err != nil {
		r.setSynced(false, err)
		return
	}
	have := make(map[string]bool, len(members))
	for _, m := range members {
		have[m] = true
		var rev revocation.Revocation
		if json.Unmarshal([]byte(m), &rev) == nil {
			r.set.Merge(rev)
		}
	}
	r.set.Sweep()
	var missing []redis.Z
	for _, rev := range r.set.All() {
		doc, err := json.Marshal(rev)
		if err == nil && !have[string(doc)] {
			missing = append(missing, redis.Z{Score: float64(rev.Until.UnixMilli()), Member: string(doc)})
		}
	}
	start = time.Now()
	_, err = r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, r.key, "-inf", now)
		if len(missing) > 0 {
			// Published too: replicas that resynced before this one
			// learn them now.
			p.ZAdd(ctx, r.key, missing...)
			for _, z := range missing {
				p.Publish(ctx, r.key, z.Member)
			}
		}
		return nil
	})
	r.o.observe(OpResync, start, err)
	if err != nil {
		r.setSynced(false, err)
		return
	}
	if len(missing) > 0 {
		r.log.Info("redisstore: wrote back revocations Redis had lost", "entries", len(missing))
	}
	r.setSynced(true, nil)
}

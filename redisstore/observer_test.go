package redisstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/redisstore"
	"github.com/clientcasa/oauthguard/revocation"
)

// recorder is a redisstore.Observer that keeps what it is told.
type recorder struct {
	mu         sync.Mutex
	trips      map[string]int
	failed     map[string]int
	propagated []time.Duration
}

func (r *recorder) RedisRoundTrip(op string, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.trips == nil {
		r.trips, r.failed = map[string]int{}, map[string]int{}
	}
	r.trips[op]++
	if err != nil {
		r.failed[op]++
	}
}

func (r *recorder) RevocationPropagated(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.propagated = append(r.propagated, d)
}

func (r *recorder) count(op string) (int, int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.trips[op], r.failed[op], len(r.propagated)
}

// TestObserver: each store reports its round trips by operation, and a
// revocation made at one replica is reported propagated at another, not at
// the one that made it; a round trip to a Redis that is gone is a failure.
func TestObserver(t *testing.T) {
	var a, b recorder
	rs := redisstore.NewReplayStore(client(t, srv), redisstore.ReplayOptions{Options: redisstore.Options{Prefix: "t-obs:", Observer: &a}})
	if err := rs.CreateEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := rs.CheckAndSet(context.Background(), "proof-"+string(rune('a'+i)), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if n, failed, _ := a.count(redisstore.OpDPoP); n != 3 || failed != 0 {
		t.Errorf("dpop round trips %d (%d failed), want 3", n, failed)
	}
	if n, _, _ := a.count(redisstore.OpEpoch); n != 1 {
		t.Errorf("epoch round trips %d, want 1", n)
	}

	o := func(r *recorder) redisstore.RevocationOptions {
		return redisstore.RevocationOptions{Options: redisstore.Options{Prefix: "t-obs:", Observer: r}}
	}
	ra := redisstore.NewRevocations(client(t, srv), o(&a))
	t.Cleanup(ra.Close)
	rb := redisstore.NewRevocations(client(t, srv), o(&b))
	t.Cleanup(rb.Close)
	for _, r := range []*redisstore.Revocations{ra, rb} {
		waitFor(t, "first sync", func() bool { return r.Health().Synced })
	}
	c := &middleware.Claims{Subject: "user-observed", IssuedAt: time.Now().Add(-time.Minute)}
	if _, err := ra.Revoke(context.Background(), revocation.Revocation{Kind: revocation.Subject, Value: c.Subject}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "propagation", func() bool { _, _, p := b.count(""); return p == 1 })
	if n, _, p := a.count(redisstore.OpRevoke); n != 1 || p != 0 {
		t.Errorf("replica A: %d revoke round trips, %d propagations; want 1 and 0 (its own)", n, p)
	}
	if n, _, _ := b.count(redisstore.OpResync); n < 2 {
		t.Errorf("replica B: %d resync round trips, want its first sync's read and write", n)
	}
	b.mu.Lock()
	d := b.propagated[0]
	b.mu.Unlock()
	if d < 0 || d > 2*time.Second { // at is in whole seconds, rounded up
		t.Errorf("propagation %s", d)
	}

	s := ownServer(t)
	var dead recorder
	gone := redisstore.NewReplayStore(client(t, s), redisstore.ReplayOptions{Options: redisstore.Options{Observer: &dead, Timeout: 200 * time.Millisecond}})
	s.Kill()
	if _, err := gone.CheckAndSet(context.Background(), "p", time.Now().Add(time.Minute)); err == nil {
		t.Fatal("a proof was recorded in a Redis that is gone")
	}
	if n, failed, _ := dead.count(redisstore.OpDPoP); n != 1 || failed != 1 {
		t.Errorf("dead Redis: %d round trips, %d failed; want 1 and 1", n, failed)
	}
}

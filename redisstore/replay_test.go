package redisstore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/redisstore"
	"github.com/redis/go-redis/v9"
)

// TestReplayExactlyOne sends one proof key 40 times at once to each of three
// replicas' stores: exactly one call says new.
func TestReplayExactlyOne(t *testing.T) {
	var stores []*redisstore.ReplayStore
	for range 3 {
		stores = append(stores, epochNow(t, redisstore.NewReplayStore(client(t, srv), redisstore.ReplayOptions{Options: redisstore.Options{Prefix: "t-replay:"}})))
	}
	for round := range 5 {
		key := string([]byte{0, 1, 2, byte(round), 0xff}) // binary, as dpop's hash is
		var wins, errs atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, s := range stores {
			for range 40 {
				wg.Go(func() {
					<-start
					ok, err := s.CheckAndSet(context.Background(), key, time.Now().Add(time.Minute))
					if err != nil {
						errs.Add(1)
					}
					if ok {
						wins.Add(1)
					}
				})
			}
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || errs.Load() != 0 {
			t.Fatalf("round %d: %d winners, %d errors; want exactly 1 and none", round, wins.Load(), errs.Load())
		}
	}
}

func TestReplayExpires(t *testing.T) {
	c := client(t, srv)
	s := epochNow(t, redisstore.NewReplayStore(c, redisstore.ReplayOptions{Options: redisstore.Options{Prefix: "t-expire:"}}))
	ctx := context.Background()
	if ok, err := s.CheckAndSet(ctx, "k", time.Now().Add(100*time.Millisecond)); !ok || err != nil {
		t.Fatalf("first: %v %v", ok, err)
	}
	if ok, _ := s.CheckAndSet(ctx, "k", time.Now().Add(100*time.Millisecond)); ok {
		t.Fatal("replay accepted")
	}
	ttl, err := c.PTTL(ctx, "t-expire:dpop:{r}:aw").Result()
	if err != nil || ttl <= 0 || ttl > 100*time.Millisecond {
		t.Fatalf("the key's TTL is %v (%v); want at most 100ms", ttl, err)
	}
	time.Sleep(150 * time.Millisecond)
	if ok, err := s.CheckAndSet(ctx, "k", time.Now().Add(time.Second)); !ok || err != nil {
		t.Fatalf("after expiry: %v %v", ok, err)
	}
}

// TestReplayDown: an unreachable Redis is an error within the timeout,
// never a "new".
func TestReplayDown(t *testing.T) {
	s := ownServer(t)
	c := client(t, s)
	store := redisstore.NewReplayStore(c, redisstore.ReplayOptions{Options: redisstore.Options{Timeout: 200 * time.Millisecond}})
	s.Kill()
	start := time.Now()
	ok, err := store.CheckAndSet(context.Background(), "k", time.Now().Add(time.Minute))
	if ok || err == nil || time.Since(start) > time.Second {
		t.Fatalf("Redis down: %v, %v after %s", ok, err, time.Since(start))
	}
	// A server that accepts but never answers: the timeout bounds it.
	hang := redis.NewClient(&redis.Options{Addr: blackhole(t), MaxRetries: -1, ContextTimeoutEnabled: true})
	defer hang.Close()
	start = time.Now()
	ok, err = redisstore.NewReplayStore(hang, redisstore.ReplayOptions{Options: redisstore.Options{Timeout: 200 * time.Millisecond}}).
		CheckAndSet(context.Background(), "k", time.Now().Add(time.Minute))
	if ok || err == nil || time.Since(start) > time.Second {
		t.Fatalf("Redis hanging: %v, %v after %s", ok, err, time.Since(start))
	}
}

// epochNow creates s's epoch (a first deployment), so that it works at once.
func epochNow(t testing.TB, s *redisstore.ReplayStore) *redisstore.ReplayStore {
	t.Helper()
	if err := s.CreateEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReplayAfterDataLoss: a Redis found empty (new, or restarted without
// its data) refuses every proof for one window, so that none it forgot can
// be replayed; CreateEpoch skips that for a first deployment.
func TestReplayAfterDataLoss(t *testing.T) {
	s := ownServer(t)
	c := client(t, s)
	store := redisstore.NewReplayStore(c, redisstore.ReplayOptions{Window: 300 * time.Millisecond})
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)
	if ok, err := store.CheckAndSet(ctx, "p1", exp); ok || !errors.Is(err, redisstore.ErrReplayWindow) {
		t.Fatalf("empty Redis: %v %v; want refused within the window", ok, err)
	}
	time.Sleep(350 * time.Millisecond)
	if ok, err := store.CheckAndSet(ctx, "p1", exp); !ok || err != nil {
		t.Fatalf("after the window: %v %v", ok, err)
	}
	if ok, _ := store.CheckAndSet(ctx, "p1", exp); ok {
		t.Fatal("replay accepted")
	}
	if err := s.Restart(); err != nil { // empty again: p1 is forgotten
		t.Fatal(err)
	}
	var err error
	for range 20 { // the client reconnects
		if _, err = store.CheckAndSet(ctx, "p1", exp); errors.Is(err, redisstore.ErrReplayWindow) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !errors.Is(err, redisstore.ErrReplayWindow) {
		t.Fatalf("the forgotten proof after a restart: %v; want refused within the window", err)
	}
	fresh := redisstore.NewReplayStore(client(t, s), redisstore.ReplayOptions{Options: redisstore.Options{Prefix: "fresh:"}})
	if err := fresh.CreateEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := fresh.CheckAndSet(ctx, "p2", exp); !ok || err != nil {
		t.Fatalf("after CreateEpoch: %v %v", ok, err)
	}
}

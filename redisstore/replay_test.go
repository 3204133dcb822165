package redisstore_test

import (
	"context"
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
		stores = append(stores, redisstore.NewReplayStore(client(t, srv), redisstore.Options{Prefix: "t-replay:"}))
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
	s := redisstore.NewReplayStore(c, redisstore.Options{Prefix: "t-expire:"})
	ctx := context.Background()
	if ok, err := s.CheckAndSet(ctx, "k", time.Now().Add(100*time.Millisecond)); !ok || err != nil {
		t.Fatalf("first: %v %v", ok, err)
	}
	if ok, _ := s.CheckAndSet(ctx, "k", time.Now().Add(100*time.Millisecond)); ok {
		t.Fatal("replay accepted")
	}
	ttl, err := c.PTTL(ctx, "t-expire:dpop:aw").Result()
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
	store := redisstore.NewReplayStore(c, redisstore.Options{Timeout: 200 * time.Millisecond})
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
	ok, err = redisstore.NewReplayStore(hang, redisstore.Options{Timeout: 200 * time.Millisecond}).
		CheckAndSet(context.Background(), "k", time.Now().Add(time.Minute))
	if ok || err == nil || time.Since(start) > time.Second {
		t.Fatalf("Redis hanging: %v, %v after %s", ok, err, time.Since(start))
	}
}

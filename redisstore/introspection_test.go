package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/redisstore"
)

// counting is an authorization server's introspection endpoint, slow enough
// for concurrent first uses to overlap.
type counting struct {
	calls atomic.Int64
	body  string
	err   error
	delay time.Duration
}

func (c *counting) Introspect(ctx context.Context, token string) ([]byte, error) {
	c.calls.Add(1)
	time.Sleep(c.delay)
	if c.err != nil {
		return nil, c.err
	}
	return []byte(strings.ReplaceAll(c.body, "TOKEN", token[:4])), nil
}

var hashKey = []byte("0123456789abcdef0123456789abcdef")

func replicas(t *testing.T, next *counting, o redisstore.IntrospectionOptions) []*redisstore.Introspector {
	t.Helper()
	o.HashKey = hashKey
	var out []*redisstore.Introspector
	for range 3 {
		i, err := redisstore.NewIntrospector(client(t, srv), next, o)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, i)
	}
	return out
}

// TestIntrospectedOnceAcrossReplicas: 3 replicas × 50 concurrent first uses
// of one token make one call; the answer is shared, keyed by a hash.
func TestIntrospectedOnceAcrossReplicas(t *testing.T) {
	next := &counting{body: `{"active":true,"sub":"TOKEN"}`, delay: 50 * time.Millisecond}
	rs := replicas(t, next, redisstore.IntrospectionOptions{Options: redisstore.Options{Prefix: "t-once:"}})
	const token = "opaque-token-secret-value"
	var wg sync.WaitGroup
	var bad atomic.Int32
	for _, r := range rs {
		for range 50 {
			wg.Go(func() {
				b, err := r.Introspect(context.Background(), token)
				if err != nil || string(b) != `{"active":true,"sub":"opaq"}` {
					bad.Add(1)
				}
			})
		}
	}
	wg.Wait()
	if n := next.calls.Load(); n != 1 || bad.Load() != 0 {
		t.Fatalf("%d calls to the authorization server, %d wrong answers; want 1 and 0", n, bad.Load())
	}
	keys, err := client(t, srv).Keys(context.Background(), "t-once:*").Result()
	if err != nil || len(keys) != 1 || strings.Contains(keys[0], "opaque") || !strings.HasPrefix(keys[0], "t-once:introspection:{") {
		t.Fatalf("keys %q (%v): want one, a hash of the token", keys, err)
	}
	var hits int64
	for _, r := range rs {
		hits += r.Stats().Hits
	}
	if hits != 149 {
		t.Fatalf("%d shared hits, want 149", hits)
	}
}

func TestIntrospectionTTLAndBounds(t *testing.T) {
	next := &counting{body: `{"active":true}`}
	rs := replicas(t, next, redisstore.IntrospectionOptions{Options: redisstore.Options{Prefix: "t-ttl:"}, TTL: 100 * time.Millisecond, MaxValueBytes: 20})
	ctx := context.Background()
	for _, r := range rs {
		if _, err := r.Introspect(ctx, "token-1"); err != nil {
			t.Fatal(err)
		}
	}
	if next.calls.Load() != 1 {
		t.Fatalf("%d calls within the TTL", next.calls.Load())
	}
	time.Sleep(150 * time.Millisecond)
	if _, err := rs[1].Introspect(ctx, "token-1"); err != nil || next.calls.Load() != 2 {
		t.Fatalf("after the TTL: %v, %d calls; want a second call", err, next.calls.Load())
	}
	// Too long to share: returned, not stored.
	next.body = `{"active":true,"sub":"` + strings.Repeat("x", 40) + `"}`
	for _, r := range rs {
		if b, err := r.Introspect(ctx, "token-2"); err != nil || len(b) < 40 {
			t.Fatal(err)
		}
	}
	if next.calls.Load() != 5 {
		t.Fatalf("%d calls; an answer over MaxValueBytes must not be shared", next.calls.Load())
	}
	// Negative TTL: every call is the authorization server's.
	direct := replicas(t, next, redisstore.IntrospectionOptions{TTL: -1})
	for range 2 {
		_, _ = direct[0].Introspect(ctx, "token-3")
	}
	if next.calls.Load() != 7 {
		t.Fatalf("%d calls; TTL -1 asks every time", next.calls.Load())
	}
	if _, err := redisstore.NewIntrospector(client(t, srv), next, redisstore.IntrospectionOptions{HashKey: []byte("short")}); err == nil {
		t.Fatal("a short hash key was accepted")
	}
}

// TestIntrospectionFailureShared: the waiters of a failed call fail too,
// without each asking again.
func TestIntrospectionFailureShared(t *testing.T) {
	next := &counting{err: errors.New("endpoint down"), delay: 50 * time.Millisecond}
	rs := replicas(t, next, redisstore.IntrospectionOptions{Options: redisstore.Options{Prefix: "t-fail:"}})
	var wg sync.WaitGroup
	var errs atomic.Int32
	for _, r := range rs {
		wg.Go(func() {
			if _, err := r.Introspect(context.Background(), "token-x"); err != nil {
				errs.Add(1)
			}
		})
	}
	wg.Wait()
	if errs.Load() != 3 || next.calls.Load() != 1 {
		t.Fatalf("%d errors, %d calls; want 3 and 1", errs.Load(), next.calls.Load())
	}
}

// TestIntrospectionRedisDown: calls go to the authorization server, quickly.
func TestIntrospectionRedisDown(t *testing.T) {
	s := ownServer(t)
	next := &counting{body: `{"active":true}`}
	i, err := redisstore.NewIntrospector(client(t, s), next, redisstore.IntrospectionOptions{HashKey: hashKey})
	if err != nil {
		t.Fatal(err)
	}
	s.Kill()
	for range 3 {
		start := time.Now()
		if b, err := i.Introspect(context.Background(), "token-y"); err != nil || string(b) != `{"active":true}` || time.Since(start) > time.Second {
			t.Fatalf("Redis down: %q, %v after %s", b, err, time.Since(start))
		}
	}
	if st := i.Stats(); next.calls.Load() != 3 || st.Direct != 3 || st.RedisErrors != 1 {
		t.Fatalf("calls %d, stats %+v; want 3 direct calls and Redis tried once", next.calls.Load(), st)
	}
}

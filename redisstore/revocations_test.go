package redisstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/internal/redistest"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/redisstore"
	"github.com/clientcasa/oauthguard/revocation"
	"github.com/go-json-experiment/json"
)

func fleet(t *testing.T, s *redistest.Server, o redisstore.RevocationOptions) []*redisstore.Revocations {
	t.Helper()
	var out []*redisstore.Revocations
	for range 3 {
		r := redisstore.NewRevocations(client(t, s), o)
		t.Cleanup(r.Close)
		out = append(out, r)
	}
	for _, r := range out {
		waitFor(t, "first sync", func() bool { return r.Health().Synced })
	}
	return out
}

func waitFor(t *testing.T, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

func revoked(r *redisstore.Revocations, c *middleware.Claims) bool {
	ok, err := r.Revoked(c)
	return ok && err == nil
}

// TestRevocationPropagation revokes 100 subjects at replica A and measures
// how long each takes to be refused at B and C: every one under 100 ms.
func TestRevocationPropagation(t *testing.T) {
	rs := fleet(t, srv, redisstore.RevocationOptions{Options: redisstore.Options{Prefix: "t-prop:"}})
	var worst, total time.Duration
	const n = 100
	for i := range n {
		c := &middleware.Claims{Subject: "user-" + string(rune('a'+i%26)) + time.Now().Format("150405.000000"), IssuedAt: time.Now().Add(-time.Minute)}
		start := time.Now()
		if _, err := rs[0].Revoke(context.Background(), revocation.Revocation{Kind: revocation.Subject, Value: c.Subject}); err != nil {
			t.Fatal(err)
		}
		if !revoked(rs[0], c) {
			t.Fatal("not revoked at once where it was made")
		}
		for _, r := range rs[1:] {
			waitFor(t, "propagation", func() bool { return revoked(r, c) })
		}
		d := time.Since(start)
		worst, total = max(worst, d), total+d
	}
	t.Logf("revocation propagation to 2 replicas over loopback: mean %s, worst %s (%d revocations)", total/n, worst, n)
	if worst > 100*time.Millisecond {
		t.Fatalf("worst propagation %s, over 100 ms", worst)
	}
}

// TestRevocationExternalPublisher: a revocation written by another program
// (an authorization server's hook) with ZADD and PUBLISH reaches the
// replicas; garbage on the channel is ignored.
func TestRevocationExternalPublisher(t *testing.T) {
	rs := fleet(t, srv, redisstore.RevocationOptions{Options: redisstore.Options{Prefix: "t-ext:"}})
	c := client(t, srv)
	ctx := context.Background()
	now := time.Now()
	doc, _ := json.Marshal(revocation.Revocation{Kind: revocation.Session, Value: "sess-1", At: now, Until: now.Add(time.Hour)})
	c.Publish(ctx, "t-ext:revocations", "not json")
	c.Publish(ctx, "t-ext:revocations", `{"kind":"sid","value":"no-times"}`)
	if err := c.ZAdd(ctx, "t-ext:revocations", redisZ(now.Add(time.Hour), doc)).Err(); err != nil {
		t.Fatal(err)
	}
	c.Publish(ctx, "t-ext:revocations", string(doc))
	claims := &middleware.Claims{SessionID: "sess-1", IssuedAt: now.Add(-time.Minute)}
	for _, r := range rs {
		waitFor(t, "external revocation", func() bool { return revoked(r, claims) })
	}
	if revoked(rs[0], &middleware.Claims{SessionID: "no-times"}) {
		t.Fatal("a revocation without at and until was applied")
	}
}

// TestRevocationRedisRestart kills Redis, which restarts empty: the
// replicas keep their lists, report not ready after StaleAfter (and fail
// closed when asked to), resync on reconnection, write back what Redis lost,
// and a revocation made after the restart reaches every replica.
func TestRevocationRedisRestart(t *testing.T) {
	s := ownServer(t)
	o := redisstore.RevocationOptions{StaleAfter: 300 * time.Millisecond, ResyncInterval: time.Hour}
	rs := fleet(t, s, o)
	closed := redisstore.NewRevocations(client(t, s), redisstore.RevocationOptions{StaleAfter: 300 * time.Millisecond, FailClosed: true})
	t.Cleanup(closed.Close)
	waitFor(t, "sync", func() bool { return closed.Health().Synced })
	ctx := context.Background()
	before := &middleware.Claims{ID: "jti-before"}
	if _, err := rs[0].Revoke(ctx, revocation.Revocation{Kind: revocation.TokenID, Value: "jti-before"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range append(slices.Clone(rs), closed) {
		waitFor(t, "before the restart", func() bool { return revoked(r, before) })
	}

	s.Kill()
	for _, r := range rs {
		waitFor(t, "not synced", func() bool { return !r.Health().Synced })
	}
	if !revoked(rs[1], before) {
		t.Fatal("the last known list was dropped")
	}
	if _, err := rs[0].Revoke(ctx, revocation.Revocation{Kind: revocation.TokenID, Value: "jti-during"}); err == nil {
		t.Fatal("Revoke while Redis is down reported success")
	}
	waitFor(t, "not ready", func() bool { return !rs[1].Health().Ready })
	if _, err := closed.Revoked(&middleware.Claims{ID: "other"}); !errors.Is(err, redisstore.ErrStale) {
		t.Fatalf("FailClosed while stale: %v", err)
	}

	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	for _, r := range append(slices.Clone(rs), closed) {
		waitFor(t, "resync after restart", func() bool { h := r.Health(); return h.Synced && h.Ready })
	}
	if _, err := closed.Revoked(&middleware.Claims{ID: "other"}); err != nil {
		t.Fatalf("FailClosed after resync: %v", err)
	}
	// What Redis lost was written back by the replicas' copies...
	n, err := client(t, s).ZCard(ctx, "oauthguard:revocations").Result()
	if err != nil || n < 2 {
		t.Fatalf("after the restart Redis holds %d revocations (%v); want jti-before and jti-during written back", n, err)
	}
	// ...so a replica started now learns them, and one made during the
	// outage at A reaches the others.
	late := redisstore.NewRevocations(client(t, s), redisstore.RevocationOptions{})
	t.Cleanup(late.Close)
	during := &middleware.Claims{ID: "jti-during"}
	for _, r := range []*redisstore.Revocations{late, rs[1], rs[2]} {
		waitFor(t, "written back", func() bool { return revoked(r, before) && revoked(r, during) })
	}
	after := &middleware.Claims{ID: "jti-after"}
	if _, err := rs[2].Revoke(ctx, revocation.Revocation{Kind: revocation.TokenID, Value: "jti-after"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range append(slices.Clone(rs), late) {
		waitFor(t, "after the restart", func() bool { return revoked(r, after) })
	}
}

// TestRevocationsUnreachableAtStart: not ready once StaleAfter has passed,
// and no hang.
func TestRevocationsUnreachableAtStart(t *testing.T) {
	s := ownServer(t)
	c := client(t, s)
	s.Kill()
	r := redisstore.NewRevocations(c, redisstore.RevocationOptions{StaleAfter: 200 * time.Millisecond})
	defer r.Close()
	if h := r.Health(); !h.Ready || h.Synced {
		t.Fatalf("at start: %+v; want ready within StaleAfter, not synced", h)
	}
	waitFor(t, "not ready", func() bool { return !r.Health().Ready })
	if ok, err := r.Revoked(&middleware.Claims{ID: "x"}); ok || err != nil {
		t.Fatalf("fail-open list while unreachable: %v %v", ok, err)
	}
	if h := r.Health(); h.LastError == "" {
		t.Fatalf("no error reported: %+v", h)
	}
}

package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/redisstore"
	"github.com/clientcasa/oauthguard/revocation"
)

// BenchmarkValidateRevocations is a verified-token cache hit with no
// revocation list, the in-memory one and the Redis-shared one, each holding
// 1,000 revocations that do not match: the shared list answers from its
// local copy, so it costs what the in-memory one does.
func BenchmarkValidateRevocations(b *testing.B) {
	p, err := authtest.NewProvider(authtest.Options{Issuer: "https://as.test"})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	tok, err := p.Mint(authtest.Token{})
	if err != nil {
		b.Fatal(err)
	}
	local := revocation.NewSet(0, nil)
	shared := redisstore.NewRevocations(client(b, srv), redisstore.RevocationOptions{Options: redisstore.Options{Prefix: "b-rev:"}})
	defer shared.Close()
	for i := range 1000 {
		r := revocation.Revocation{Kind: revocation.Subject, Value: "other-" + strconv.Itoa(i)}
		if _, err := local.Revoke(r); err != nil {
			b.Fatal(err)
		}
		if _, err := shared.Revoke(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		list middleware.Revocations
	}{{"none", nil}, {"memory", local}, {"redis", shared}} {
		b.Run(bc.name, func(b *testing.B) {
			v, err := middleware.New(middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()},
				Keys: p.KeySet(), Revocations: bc.list})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if _, err := v.Validate(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Validate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReplayCheck is the one round trip on the hot path: a DPoP
// proof's SET NX PX, against the in-memory store, over loopback.
func BenchmarkReplayCheck(b *testing.B) {
	for _, bc := range []struct {
		name  string
		store interface {
			CheckAndSet(context.Context, string, time.Time) (bool, error)
		}
	}{{"memory", nil}, {"redis", epochNow(b, redisstore.NewReplayStore(client(b, srv), redisstore.ReplayOptions{Options: redisstore.Options{Prefix: "b-replay:"}}))}} {
		b.Run(bc.name, func(b *testing.B) {
			store := bc.store
			if store == nil {
				store = newMemory()
			}
			ctx := context.Background()
			exp := time.Now().Add(time.Minute)
			run := strconv.FormatInt(time.Now().UnixNano(), 36) + "-" // keys new on every run
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				if ok, err := store.CheckAndSet(ctx, run+strconv.Itoa(i), exp); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// BenchmarkIntrospectionHit is an answer found in Redis (what a replica
// pays once per token per TTL, before its own cache holds it).
func BenchmarkIntrospectionHit(b *testing.B) {
	next := &counting{body: `{"active":true,"sub":"TOKEN","exp":9999999999}`}
	i, err := redisstore.NewIntrospector(client(b, srv), next, redisstore.IntrospectionOptions{HashKey: hashKey,
		Options: redisstore.Options{Prefix: "b-intro:"}, TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := i.Introspect(ctx, "opaque-token-for-the-benchmark"); err != nil {
			b.Fatal(err)
		}
	}
	if next.calls.Load() > 1 { // 0: an earlier run shared it
		b.Fatalf("%d calls", next.calls.Load())
	}
}

package adapters_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/dpop"
	"github.com/clientcasa/oauthguard/internal/redistest"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/redisstore"
	"github.com/clientcasa/oauthguard/revocation"
	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
)

// commands counts the commands a go-redis client sends (a pipeline's
// commands count one by one; each call is one round trip).
type commands struct{ n, trips atomic.Int64 }

func (c *commands) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commands) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		c.trips.Add(1)
		return next(ctx, cmd)
	}
}
func (c *commands) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		c.trips.Add(1)
		return next(ctx, cmds)
	}
}

// TestLoadReplicasOnRedis is the load test's mode over three replicas (two
// net/http, one gin) sharing one real redis-server: a mix of good and bad
// JWTs, opaque tokens each new to the fleet (introspected once across the
// three), a revoked token, DPoP requests with fresh proofs and a replayed
// proof. Every answer must be the right one; it reports requests, wrong
// answers, Redis round trips per request and the p99 latency.
func TestLoadReplicasOnRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("load test; starts redis-server")
	}
	gin.SetMode(gin.ReleaseMode)
	rs, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	as, err := authtest.NewProvider(authtest.Options{Issuer: "https://as.example.test", Algs: []string{"EdDSA", "ES256"}})
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	const external = "https://api.example.test"
	key := []byte("0123456789abcdef0123456789abcdef")

	var counted []*commands
	var lists []*redisstore.Revocations
	var servers []*httptest.Server
	for i := range 3 {
		c := redis.NewClient(&redis.Options{Addr: rs.Addr, ContextTimeoutEnabled: true})
		defer c.Close()
		cnt := &commands{}
		c.AddHook(cnt)
		counted = append(counted, cnt)
		list := redisstore.NewRevocations(c, redisstore.RevocationOptions{})
		defer list.Close()
		lists = append(lists, list)
		replay := redisstore.NewReplayStore(c, redisstore.ReplayOptions{})
		if err := replay.CreateEpoch(context.Background()); err != nil { // a first deployment
			t.Fatal(err)
		}
		intro, err := redisstore.NewIntrospector(c, as, redisstore.IntrospectionOptions{HashKey: key})
		if err != nil {
			t.Fatal(err)
		}
		v, err := middleware.New(middleware.Config{Issuers: []string{as.Issuer()}, Audiences: []string{as.Audience()},
			Keys: as.KeySet(), Introspector: intro, Revocations: list,
			DPoP: middleware.DPoP{ExternalURL: external, Proofs: dpop.Config{Replay: replay}}})
		if err != nil {
			t.Fatal(err)
		}
		h := httpServer(t, v, nil)
		if i == 2 {
			h = ginServer(t, v, nil)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		servers = append(servers, srv)
	}
	for _, l := range lists {
		for deadline := time.Now().Add(10 * time.Second); !l.Health().Synced; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("revocation list never synchronised")
			}
		}
	}

	mint := func(tok authtest.Token) string {
		s, err := as.Mint(tok)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	read := []string{"read:clients"}
	revoked := mint(authtest.Token{Subject: "user_revoked", Scopes: read})
	if _, err := lists[0].Revoke(context.Background(), revocation.Revocation{Kind: revocation.Subject, Value: "user_revoked"}); err != nil {
		t.Fatal(err)
	}
	dkey, err := authtest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	bound := mint(authtest.Token{DPoP: dkey, Scopes: read})
	proof := func() string {
		p, err := dkey.Proof("GET", external+"/orgs/org_acme/clients", bound)
		if err != nil {
			t.Error(err)
		}
		return p
	}
	replayed := proof()
	var opaques atomic.Int64
	type kind struct {
		name          string
		auth          func() (authorization, dpopProof string)
		status        int
		opaque, proof bool
	}
	plain := func(tok string) func() (string, string) {
		return func() (string, string) { return "Bearer " + tok, "" }
	}
	valid := mint(authtest.Token{Scopes: read})
	kinds := []kind{
		{"valid", plain(valid), 200, false, false},
		{"valid_es256", plain(mint(authtest.Token{Alg: "ES256", Scopes: read})), 200, false, false},
		{"expired", plain(mint(authtest.Token{Scopes: read, Claims: map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}})), 401, false, false},
		{"wrong_scope", plain(mint(authtest.Token{Scopes: []string{"write:invoices"}})), 403, false, false},
		{"other_org", plain(mint(authtest.Token{Scopes: read, Organization: "org_globex"})), 403, false, false},
		{"revoked", plain(revoked), 401, false, false},
		{"opaque_new", func() (string, string) {
			opaques.Add(1)
			tok, err := as.MintOpaque(authtest.Token{Scopes: read})
			if err != nil {
				t.Error(err)
			}
			return "Bearer " + tok, ""
		}, 200, true, false},
		{"dpop_fresh_proof", func() (string, string) { return "DPoP " + bound, proof() }, 200, false, true},
		{"dpop_replayed_proof", func() (string, string) { return "DPoP " + bound, replayed }, 401, false, true},
	}
	total := loadRequests / 5
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32, MaxConnsPerHost: 32}}
	defer client.CloseIdleConnections()
	// The replayed proof is used once first, so that every later use is a
	// replay.
	first, _ := http.NewRequest("GET", servers[0].URL+"/orgs/org_acme/clients", nil)
	first.Header.Set("Authorization", "DPoP "+bound)
	first.Header.Set("DPoP", replayed)
	if resp, err := client.Do(first); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first use of the proof: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	introBefore := as.IntrospectionCalls()
	tripsBefore := int64(0)
	for _, c := range counted {
		tripsBefore += c.trips.Load()
	}

	var wrong atomic.Int64
	var firstWrong atomic.Pointer[string]
	latencies := make([]time.Duration, total)
	deadline := time.Now().Add(40 * time.Second)
	start := time.Now()
	var wg sync.WaitGroup
	const conns = 32
	var sent atomic.Int64
	for w := range conns {
		wg.Go(func() {
			for i := w; i < total && time.Now().Before(deadline); i += conns {
				k := kinds[i%len(kinds)]
				authz, pr := k.auth()
				req, _ := http.NewRequest("GET", servers[(i/len(kinds))%3].URL+"/orgs/org_acme/clients", nil)
				req.Header.Set("Authorization", authz)
				if pr != "" {
					req.Header.Set("DPoP", pr)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				latencies[i] = time.Since(t0)
				sent.Add(1)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != k.status {
					wrong.Add(1)
					msg := k.name + ": " + fmt.Sprint(err)
					if err == nil {
						msg = fmt.Sprintf("%s: status %d, want %d", k.name, resp.StatusCode, k.status)
					}
					firstWrong.CompareAndSwap(nil, &msg)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var trips int64
	for _, c := range counted {
		trips += c.trips.Load()
	}
	trips -= tripsBefore
	done := latencies[:0]
	for _, l := range latencies {
		if l > 0 {
			done = append(done, l)
		}
	}
	slices.Sort(done)
	p99 := time.Duration(0)
	if len(done) > 0 {
		p99 = done[len(done)*99/100]
	}
	intro := as.IntrospectionCalls() - introBefore
	fmt.Printf("load (3 replicas on Redis): %d requests in %v (%.0f req/s), %d wrong answers, %.2f Redis round trips per request, "+
		"p99 %v, %d new opaque tokens -> %d introspection calls\n",
		sent.Load(), elapsed.Round(time.Millisecond), float64(sent.Load())/elapsed.Seconds(), wrong.Load(),
		float64(trips)/float64(max(sent.Load(), 1)), p99.Round(10*time.Microsecond), opaques.Load(), intro)
	if sent.Load() < int64(total) {
		t.Errorf("sent %d of %d requests before the deadline", sent.Load(), total)
	}
	if wrong.Load() != 0 {
		t.Errorf("%d wrong answers; first: %s", wrong.Load(), *firstWrong.Load())
	}
	if intro != opaques.Load() {
		t.Errorf("%d introspection calls for %d new opaque tokens; want one each across the fleet", intro, opaques.Load())
	}
	// Round trips: one per DPoP proof, up to two per new opaque token (the
	// lookup that takes the lock, the store) and none for anything else
	// but the lists' own sync.
	per := float64(trips) / float64(sent.Load())
	if limit := 2.0*2/float64(len(kinds)) + 2.0/float64(len(kinds)) + 0.05; per > limit {
		t.Errorf("%.2f Redis round trips per request, over %.2f", per, limit)
	}
}

package example_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/internal/redistest"
	"github.com/clientcasa/oauthguard/redisstore"
	"github.com/redis/go-redis/v9"
)

// TestReplicasShareRedis runs three replicas of each program on one real
// redis-server (-redis): a DPoP proof used at A is a replay at B and C; 300
// requests with one new opaque token over the three make one introspection
// call; a revocation published at A gets 401 at B and C, cached tokens
// included, within a measured bound. Then Redis is killed (DPoP 503,
// Bearer and introspection unaffected) and restarted empty: a revocation
// made after the restart reaches every replica, and those made before
// still hold.
func TestReplicasShareRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server; skipped with -short")
	}
	const secret = "replica-introspection-secret"
	const external = "https://api.example.com"
	forEachBinary(t, func(t *testing.T, bin string) {
		rs, err := redistest.Start()
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		// A first deployment: no proof can have been forgotten, so the
		// replay store's epoch is created beforehand (else DPoP is 503 for
		// one proof window, as after a Redis restart without its data).
		rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
		defer rdb.Close()
		if err := redisstore.NewReplayStore(rdb, redisstore.ReplayOptions{}).CreateEpoch(t.Context()); err != nil {
			t.Fatal(err)
		}
		as := authServer(t, authtest.Options{Audience: audience,
			Client: authtest.Client{ID: "api-server", Secret: secret, Method: "client_secret_basic"}})
		var replicas []*proc
		for range 3 {
			replicas = append(replicas, start(t, bin, []string{"INTROSPECTION_CLIENT_SECRET=" + secret, "REDIS_URL=" + rs.URL()},
				"-addr", "127.0.0.1:0", "-issuer", as.Issuer(), "-audience", audience, "-introspection-client-id", "api-server",
				"-external-url", external))
		}
		for _, p := range replicas {
			p.waitReady(t)
		}
		me := func(p *proc, tok string) response {
			return do(t, request{path: p.URL + "/api/v1/me", auth: bearer(tok)})
		}
		admin := mint(t, as.Provider, authtest.Token{Scopes: []string{"admin:revocations"}})
		revoke := func(p *proc, body string) response {
			return do(t, request{path: p.URL + "/api/v1/revocations", auth: bearer(admin), body: body})
		}

		key, err := authtest.NewDPoPKey("ES256")
		if err != nil {
			t.Fatal(err)
		}
		bound := mint(t, as.Provider, authtest.Token{DPoP: key})
		dpopMe := func(p *proc, proof string) response {
			return doDPoP(t, p.URL+"/api/v1/me", "DPoP "+bound, []string{proof})
		}
		t.Run("dpop_replay_across_replicas", func(t *testing.T) {
			proof, err := key.Proof("GET", external+"/api/v1/me", bound)
			if err != nil {
				t.Fatal(err)
			}
			if r := dpopMe(replicas[0], proof); r.status != 200 {
				t.Fatalf("proof at A: %d %s", r.status, r.body)
			}
			for _, p := range replicas[1:] {
				if r := dpopMe(p, proof); r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_dpop_proof") {
					t.Fatalf("the same proof at another replica: %d %q", r.status, r.header.Get("WWW-Authenticate"))
				}
			}
		})
		t.Run("one_introspection_for_300_requests", func(t *testing.T) {
			tok, err := as.MintOpaque(authtest.Token{})
			if err != nil {
				t.Fatal(err)
			}
			before := as.IntrospectionCalls()
			statuses := burst(replicas, tok, 300)
			if statuses[200] != 300 || as.IntrospectionCalls()-before != 1 {
				t.Fatalf("statuses %v after %d introspection calls; want 300 × 200 after exactly 1", statuses, as.IntrospectionCalls()-before)
			}
		})
		t.Run("revocation_at_A_refused_at_B_and_C", func(t *testing.T) {
			jwt := mint(t, as.Provider, authtest.Token{Subject: "user_jwt"})
			opaque, err := as.MintOpaque(authtest.Token{Subject: "user_opaque"})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range replicas { // now in every replica's caches
				for _, tok := range []string{jwt, opaque} {
					if r := me(p, tok); r.status != 200 {
						t.Fatalf("before: %d %s", r.status, r.body)
					}
				}
			}
			var claims struct{ JTI string }
			if err := decodeSegment(strings.Split(jwt, ".")[1], &claims); err != nil {
				t.Fatal(err)
			}
			for _, rv := range []struct{ body, tok string }{
				{`{"kind":"jti","value":"` + claims.JTI + `"}`, jwt},
				{`{"kind":"sub","value":"user_opaque"}`, opaque},
			} {
				start := time.Now()
				if r := revoke(replicas[0], rv.body); r.status != 201 {
					t.Fatalf("POST /api/v1/revocations %s: %d %s", rv.body, r.status, r.body)
				}
				for _, p := range replicas {
					for me(p, rv.tok).status != 401 {
						if time.Since(start) > 2*time.Second {
							t.Fatalf("%s still accepted at %s 2 s after the revocation at A", rv.body, p.URL)
						}
						time.Sleep(time.Millisecond)
					}
				}
				d := time.Since(start)
				t.Logf("%s: refused by all three replicas %s after POST at A (HTTP round trips included)", rv.body, d)
				if d > 250*time.Millisecond {
					t.Errorf("propagation took %s, over 250 ms", d)
				}
			}
			r := me(replicas[2], jwt)
			if !strings.Contains(r.header.Get("WWW-Authenticate"), "has been revoked") {
				t.Fatalf("challenge %q", r.header.Get("WWW-Authenticate"))
			}
			for _, bad := range []string{`{"kind":"email","value":"x"}`, `{"kind":"sub"}`, `not json`} {
				if r := revoke(replicas[1], bad); r.status != 400 {
					t.Fatalf("bad revocation %s: %d", bad, r.status)
				}
			}
			if r := do(t, request{path: replicas[1].URL + "/api/v1/revocations", auth: bearer(jwt), body: `{"kind":"sub","value":"x"}`}); r.status != 401 {
				t.Fatalf("revocation with a revoked token: %d", r.status)
			}
			other := mint(t, as.Provider, authtest.Token{Scopes: []string{"read:clients"}})
			if r := do(t, request{path: replicas[1].URL + "/api/v1/revocations", auth: bearer(other), body: `{"kind":"sub","value":"x"}`}); r.status != 403 {
				t.Fatalf("revocation without admin:revocations: %d", r.status)
			}
		})
		t.Run("redis_killed_then_restarted_empty", func(t *testing.T) {
			rs.Kill()
			proof, err := key.Proof("GET", external+"/api/v1/me", bound)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if r := dpopMe(replicas[1], proof); r.status != 503 || r.header.Get("Retry-After") == "" {
				t.Fatalf("DPoP with Redis down: %d %s", r.status, r.body)
			}
			if r := me(replicas[1], mint(t, as.Provider, authtest.Token{})); r.status != 200 {
				t.Fatalf("Bearer with Redis down: %d %s", r.status, r.body)
			}
			opaque, err := as.MintOpaque(authtest.Token{})
			if err != nil {
				t.Fatal(err)
			}
			if r := me(replicas[2], opaque); r.status != 200 {
				t.Fatalf("opaque token with Redis down (direct introspection): %d %s", r.status, r.body)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("answers with Redis down took %s", d)
			}
			if r := revoke(replicas[0], `{"kind":"sub","value":"during"}`); r.status != 503 {
				t.Fatalf("revocation with Redis down: %d %s", r.status, r.body)
			}
			if err := rs.Restart(); err != nil {
				t.Fatal(err)
			}
			for _, p := range replicas {
				deadline := time.Now().Add(15 * time.Second)
				for !synced(t, p) {
					if time.Now().After(deadline) {
						t.Fatalf("%s did not resync within 15 s", p.URL)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			// Redis came back empty: the proofs it held are forgotten, so
			// DPoP is refused until their window has passed.
			proof, err = key.Proof("GET", external+"/api/v1/me", bound)
			if err != nil {
				t.Fatal(err)
			}
			if r := dpopMe(replicas[0], proof); r.status != 503 {
				t.Fatalf("DPoP right after Redis restarted empty: %d %s; want 503", r.status, r.body)
			}
			late := mint(t, as.Provider, authtest.Token{Subject: "user_late"})
			for _, p := range replicas {
				if r := me(p, late); r.status != 200 {
					t.Fatalf("before the late revocation: %d", r.status)
				}
			}
			if r := revoke(replicas[1], `{"kind":"sub","value":"user_late"}`); r.status != 201 {
				t.Fatalf("revocation after the restart: %d %s", r.status, r.body)
			}
			for _, p := range replicas {
				deadline := time.Now().Add(2 * time.Second)
				for me(p, late).status != 401 {
					if time.Now().After(deadline) {
						t.Fatalf("the revocation made after the restart did not reach %s", p.URL)
					}
					time.Sleep(time.Millisecond)
				}
				// user_opaque was revoked before the restart, and Redis
				// has it again from the replicas' copies.
				if r := me(p, mint(t, as.Provider, authtest.Token{Subject: "user_opaque", Claims: map[string]any{"iat": time.Now().Add(-time.Hour).Unix()}})); r.status != 401 {
					t.Fatalf("a revocation made before the restart no longer holds at %s: %d", p.URL, r.status)
				}
			}
		})
	})
}

// synced reports whether p's /healthz says its revocation list is
// synchronised with Redis.
func synced(t *testing.T, p *proc) bool {
	var h struct {
		Revocations struct{ Synced bool }
	}
	r := do(t, request{path: p.URL + "/healthz"})
	return json.Unmarshal(r.body, &h) == nil && h.Revocations.Synced
}

// burst sends n GET /api/v1/me with tok over the replicas in turn, 30 at a
// time, and counts the statuses.
func burst(replicas []*proc, tok string, n int) map[int]int {
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	next := make(chan int)
	for range 30 {
		wg.Go(func() {
			for i := range next {
				req, _ := http.NewRequest("GET", replicas[i%len(replicas)].URL+"/api/v1/me", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				code := -1
				if res, err := client.Do(req); err == nil {
					code = res.StatusCode
					res.Body.Close()
				}
				mu.Lock()
				statuses[code]++
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return statuses
}

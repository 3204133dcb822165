package jwks_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/keyset"
)

// q is the query for a token with kid and alg.
func q(kid, alg string) keyset.Query { return keyset.Query{KeyID: kid, Algorithm: alg} }

// newClock is the tests' settable clock.
func newClock() *authtest.Clock {
	return authtest.NewClock(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC))
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startAS(t *testing.T, opts authtest.Options) *authtest.Server {
	t.Helper()
	as, err := authtest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(as.Close)
	return as
}

// newSource builds a Source with test defaults: quiet, the given clock, no
// background refresh during the test (one hour interval).
func newSource(t *testing.T, cfg jwks.Config, clk *authtest.Clock) *jwks.Source {
	t.Helper()
	cfg.Logger = quiet()
	if clk != nil {
		cfg.Now = clk.Now
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = time.Hour
	}
	s, err := jwks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func waitReady(t *testing.T, s *jwks.Source) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v (health %+v)", err, s.Health())
	}
}

func TestRotationNewKidAcceptedAfterOneRefresh(t *testing.T) {
	as := startAS(t, authtest.Options{Algs: []string{"EdDSA"}})
	clk := newClock()
	s := newSource(t, jwks.Config{JWKSURL: as.JWKSURL()}, clk)
	waitReady(t, s)
	before := as.JWKSFetches()

	newKID, err := as.Rotate("EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Key(context.Background(), q(newKID, "EdDSA")); err != nil {
		t.Fatalf("new kid after rotation: %v", err)
	}
	if got := as.JWKSFetches() - before; got != 1 {
		t.Fatalf("fetches for the new kid = %d, want 1", got)
	}
}

func TestRemovedKeyRejectedAfterRefresh(t *testing.T) {
	as := startAS(t, authtest.Options{Algs: []string{"ES256", "ES256"}})
	s := newSource(t, jwks.Config{JWKSURL: as.JWKSURL()}, newClock())
	waitReady(t, s)
	kids := as.KIDs("ES256")
	if _, err := s.Key(context.Background(), q(kids[0], "ES256")); err != nil {
		t.Fatal(err)
	}
	as.RemoveKey(kids[0])
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Key(context.Background(), q(kids[0], "ES256")); !errors.Is(err, keyset.ErrKeyNotFound) {
		t.Fatalf("removed key: err = %v, want ErrKeyNotFound", err)
	}
	if _, err := s.Key(context.Background(), q(kids[1], "ES256")); err != nil {
		t.Fatalf("remaining key: %v", err)
	}
}

func TestOutagesKeepCachedKeys(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault authtest.Fault
	}{
		{"status_500_keeps_keys", authtest.Fault500},
		{"hang_keeps_keys", authtest.FaultHang},
		{"garbage_keeps_keys", authtest.FaultGarbage},
		{"status_404_keeps_keys", authtest.FaultNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as := startAS(t, authtest.Options{Algs: []string{"RS256"}})
			clk := newClock()
			s := newSource(t, jwks.Config{JWKSURL: as.JWKSURL(), Timeout: 200 * time.Millisecond,
				UnknownKIDWait: 50 * time.Millisecond}, clk)
			waitReady(t, s)
			kid := as.KIDs("RS256")[0]
			as.SetFault(tc.fault)

			// A refresh in progress (hanging, for FaultHang) must not delay
			// lookups of cached keys.
			refreshed := make(chan error, 1)
			go func() { refreshed <- s.Refresh(context.Background()) }()
			start := time.Now()
			for range 100 {
				if _, err := s.Key(context.Background(), q(kid, "RS256")); err != nil {
					t.Fatalf("cached key during outage: %v", err)
				}
			}
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Fatalf("100 cached lookups took %v during the outage", d)
			}
			if err := <-refreshed; err == nil {
				t.Fatal("refresh during outage reported success")
			}
			h := s.Health()
			if !h.Ready || h.KeyCount != 1 || h.LastError == "" {
				t.Fatalf("health during outage = %+v", h)
			}
			// An unknown kid waits at most UnknownKIDWait for a refresh.
			clk.Advance(time.Hour)
			start = time.Now()
			if _, err := s.Key(context.Background(), q("unknown", "RS256")); !errors.Is(err, keyset.ErrKeyNotFound) {
				t.Fatalf("unknown kid: %v", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("unknown kid lookup took %v, want about UnknownKIDWait", d)
			}
		})
	}
}

func TestUnknownKIDFloodIsRateLimited(t *testing.T) {
	as := startAS(t, authtest.Options{Algs: []string{"EdDSA"}})
	clk := newClock()
	s := newSource(t, jwks.Config{JWKSURL: as.JWKSURL(), UnknownKIDInterval: 30 * time.Second}, clk)
	waitReady(t, s)
	before := as.JWKSFetches()

	var wg sync.WaitGroup
	var slow atomic.Int64
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			_, err := s.Key(context.Background(), q(fmt.Sprintf("random-%d", i), "EdDSA"))
			if !errors.Is(err, keyset.ErrKeyNotFound) {
				t.Errorf("random kid: %v", err)
			}
			if time.Since(start) > 2*time.Second {
				slow.Add(1)
			}
		}()
	}
	wg.Wait()
	if got := as.JWKSFetches() - before; got != 1 {
		t.Fatalf("fetches for 200 random kids within one interval = %d, want 1", got)
	}
	if slow.Load() > 0 {
		t.Fatalf("%d lookups waited longer than 2 s", slow.Load())
	}
	// The next interval allows exactly one more.
	clk.Advance(31 * time.Second)
	for i := range 50 {
		_, _ = s.Key(context.Background(), q(fmt.Sprintf("again-%d", i), "EdDSA"))
	}
	if got := as.JWKSFetches() - before; got != 2 {
		t.Fatalf("fetches after the interval = %d, want 2", got)
	}
}

func TestOversizeBodyRejected(t *testing.T) {
	as := startAS(t, authtest.Options{Algs: []string{"EdDSA"}})
	big := json.RawMessage(`{"kty":"oct","k":"` + strings.Repeat("A", 2<<20) + `"}`)
	as.PublishRaw(big)
	s := newSource(t, jwks.Config{JWKSURL: as.JWKSURL()}, newClock())
	err := s.Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversize JWKS: err = %v", err)
	}
	if h := s.Health(); h.Ready || h.KeyCount != 0 {
		t.Fatalf("health after oversize = %+v", h)
	}
}

func TestMaxStalenessDropsKeys(t *testing.T) {
	as := startAS(t, authtest.Options{Algs: []string{"EdDSA"}})
	clk := newClock()
	s := newSource(t, jwks.Config{JWKSURL: as.JWKSURL(), MaxStaleness: 2 * time.Hour}, clk)
	waitReady(t, s)
	kid := as.KIDs("EdDSA")[0]
	as.SetFault(authtest.Fault500)
	clk.Advance(time.Hour)
	if _, err := s.Key(context.Background(), q(kid, "EdDSA")); err != nil {
		t.Fatalf("within staleness: %v", err)
	}
	clk.Advance(90 * time.Minute)
	if _, err := s.Key(context.Background(), q(kid, "EdDSA")); !errors.Is(err, keyset.ErrUnavailable) {
		t.Fatalf("beyond staleness: %v, want ErrKeysUnavailable", err)
	}
	as.SetFault(authtest.FaultNone)
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Key(context.Background(), q(kid, "EdDSA")); err != nil {
		t.Fatalf("after a good refresh: %v", err)
	}
}

// rsaJWKExp returns a 2048-bit RSA JWK whose published exponent is e.
func rsaJWKExp(t *testing.T, e int, extra string) json.RawMessage {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	n := base64.RawURLEncoding.EncodeToString(k.N.Bytes())
	eb := base64.RawURLEncoding.EncodeToString(big.NewInt(int64(e)).Bytes())
	return json.RawMessage(fmt.Sprintf(`{"kty":"RSA","n":%q,"e":%q%s}`, n, eb, extra))
}

// rsaJWK returns a public RSA JWK of the given size.
func rsaJWK(t *testing.T, bits int, extra string) json.RawMessage {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	n := base64.RawURLEncoding.EncodeToString(k.N.Bytes())
	e := base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())
	return json.RawMessage(fmt.Sprintf(`{"kty":"RSA","n":%q,"e":%q%s}`, n, e, extra))
}

func TestUnusableKeysSkippedNeverEmptyTheSet(t *testing.T) {
	as := startAS(t, authtest.Options{Algs: []string{"EdDSA"}})
	bad := []json.RawMessage{
		json.RawMessage(`{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}`),
		json.RawMessage(`{"kty":"XYZ","kid":"unknown-kty"}`),
		json.RawMessage(`{"kty":"EC","kid":"unknown-crv","crv":"P-192","x":"AA","y":"AA"}`),
		json.RawMessage(`{"kty":"OKP","kid":"x25519","crv":"X25519","x":"` + strings.Repeat("A", 43) + `"}`),
		json.RawMessage(`{"kty":"EC","kid":"off-curve","crv":"P-256","x":"` + strings.Repeat("A", 43) + `","y":"` + strings.Repeat("A", 43) + `"}`),
		json.RawMessage(`"not an object"`),
		// Small-order Ed25519 points: the identity (order 1) and the point of
		// order 2 would let R = identity, S = 0 verify every message.
		json.RawMessage(`{"kty":"OKP","kid":"ed-identity","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`),
		json.RawMessage(`{"kty":"OKP","kid":"ed-order2","crv":"Ed25519","x":"7P_______________________________________38"}`),
		rsaJWKExp(t, 65536, `,"kid":"rsa-even-e"`),
		json.RawMessage(`{"kty":"RSA","kid":"dup","kid":"dup2"}`),
		rsaJWK(t, 1024, `,"kid":"rsa-1024"`),
		rsaJWK(t, 2048, `,"kid":"enc-use","use":"enc"`),
		rsaJWK(t, 2048, `,"kid":"hs-alg","alg":"HS256"`),
		rsaJWK(t, 2048, `,"kid":"wrong-family","alg":"ES256"`),
		rsaJWK(t, 2048, `,"kid":"no-verify","key_ops":["encrypt"]`),
	}
	as.PublishRaw(bad...)
	s := newSource(t, jwks.Config{JWKSURL: as.JWKSURL()}, newClock())
	waitReady(t, s)
	h := s.Health()
	if h.KeyCount != 1 || len(h.Skipped) != len(bad) {
		t.Fatalf("health = %+v; want 1 key and %d skipped", h, len(bad))
	}
	for _, sk := range h.Skipped {
		if sk.Reason == "" {
			t.Errorf("skipped key %+v has no reason", sk)
		}
		if strings.HasPrefix(sk.KID, "ed-") && !strings.Contains(sk.Reason, "small-order") {
			t.Errorf("small-order key %q skipped for another reason: %s", sk.KID, sk.Reason)
		}
	}
	if _, err := s.Key(context.Background(), q(as.KIDs("EdDSA")[0], "EdDSA")); err != nil {
		t.Fatalf("good key beside bad ones: %v", err)
	}
	for _, kid := range []string{"hmac", "rsa-1024", "enc-use", "hs-alg"} {
		if _, err := s.Key(context.Background(), q(kid, "RS256")); err == nil {
			t.Errorf("unusable key %q was returned", kid)
		}
	}
}

func TestDocumentWithoutUsableKeysKeepsOldSet(t *testing.T) {
	var doc atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(doc.Load().([]byte))
	}))
	t.Cleanup(srv.Close)
	as := startAS(t, authtest.Options{Algs: []string{"ES256"}})
	good, _ := as.JWKS()
	doc.Store(good)
	s := newSource(t, jwks.Config{JWKSURL: srv.URL}, newClock())
	waitReady(t, s)
	for _, next := range []string{`{"keys":[]}`, `{"keys":[{"kty":"oct","k":"AAAA"}]}`, `{}`, `[]`, `{"keys":"x"}`} {
		doc.Store([]byte(next))
		if err := s.Refresh(context.Background()); err == nil {
			t.Errorf("document %s: refresh succeeded", next)
		}
		if _, err := s.Key(context.Background(), q(as.KIDs("ES256")[0], "ES256")); err != nil {
			t.Errorf("after document %s the old key is gone: %v", next, err)
		}
	}
}

func TestKeyAlgBinding(t *testing.T) {
	pinned := startAS(t, authtest.Options{Algs: []string{"RS256", "ES256", "EdDSA"}})
	unpinned := startAS(t, authtest.Options{Algs: []string{"RS256", "ES256", "EdDSA"}, OmitJWKAlg: true})
	ps := newSource(t, jwks.Config{JWKSURL: pinned.JWKSURL()}, newClock())
	us := newSource(t, jwks.Config{JWKSURL: unpinned.JWKSURL()}, newClock())
	waitReady(t, ps)
	waitReady(t, us)
	ctx := context.Background()
	cases := []struct {
		name string
		src  *jwks.Source
		kid  string
		alg  string
		want error
	}{
		{"pinned_rs256_accepts_rs256", ps, pinned.KIDs("RS256")[0], "RS256", nil},
		{"pinned_rs256_rejects_ps256", ps, pinned.KIDs("RS256")[0], "PS256", keyset.ErrAlgMismatch},
		{"pinned_rs256_rejects_rs512", ps, pinned.KIDs("RS256")[0], "RS512", keyset.ErrAlgMismatch},
		{"pinned_eddsa_rejects_ed25519", ps, pinned.KIDs("EdDSA")[0], "Ed25519", keyset.ErrAlgMismatch},
		{"unpinned_rsa_accepts_ps256", us, unpinned.KIDs("RS256")[0], "PS256", nil},
		{"unpinned_rsa_accepts_rs512", us, unpinned.KIDs("RS256")[0], "RS512", nil},
		{"unpinned_rsa_rejects_es256", us, unpinned.KIDs("RS256")[0], "ES256", keyset.ErrAlgMismatch},
		{"unpinned_p256_rejects_es384", us, unpinned.KIDs("ES256")[0], "ES384", keyset.ErrAlgMismatch},
		{"unpinned_ed25519_accepts_eddsa", us, unpinned.KIDs("EdDSA")[0], "EdDSA", nil},
		{"unpinned_ed25519_accepts_ed25519", us, unpinned.KIDs("EdDSA")[0], "Ed25519", nil},
		{"hs256_unsupported", us, unpinned.KIDs("RS256")[0], "HS256", keyset.ErrUnsupportedAlg},
		{"none_unsupported", us, unpinned.KIDs("RS256")[0], "none", keyset.ErrUnsupportedAlg},
		// One RSA key suits RS256: a token without kid may use it.
		{"no_kid_single_suitable_key_accepted", us, "", "RS256", nil},
		{"no_kid_no_suitable_key_rejected", us, "", "ES512", keyset.ErrKeyNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.src.Key(ctx, q(tc.kid, tc.alg))
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Key(%q, %q) = %v, want %v", tc.kid, tc.alg, err, tc.want)
			}
		})
	}
	t.Run("no_kid_several_suitable_keys_rejected", func(t *testing.T) {
		two := startAS(t, authtest.Options{Algs: []string{"EdDSA", "EdDSA"}})
		s := newSource(t, jwks.Config{JWKSURL: two.JWKSURL()}, newClock())
		waitReady(t, s)
		if _, err := s.Key(ctx, q("", "EdDSA")); !errors.Is(err, keyset.ErrKeyNotFound) {
			t.Fatalf("ambiguous kid-less lookup: %v", err)
		}
	})
}

func TestDiscovery(t *testing.T) {
	for _, tc := range []struct {
		name, path string
	}{
		{"root_issuer", ""},
		{"path_issuer_better_auth_style", "/api/auth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as := startAS(t, authtest.Options{Algs: []string{"EdDSA"}, IssuerPath: tc.path})
			s := newSource(t, jwks.Config{Issuer: as.Issuer()}, newClock())
			waitReady(t, s)
			if got := s.Health().JWKSURL; got != as.JWKSURL() {
				t.Fatalf("discovered %q, want %q", got, as.JWKSURL())
			}
		})
	}
	t.Run("path_append_only_found", func(t *testing.T) {
		// Only {issuer}/.well-known/oauth-authorization-server exists, as on
		// Better Auth; the path-insert form answers 404.
		as := startAS(t, authtest.Options{Algs: []string{"EdDSA"}, IssuerPath: "/api/auth"})
		var seen []string
		var mu sync.Mutex
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, r.URL.Path)
			mu.Unlock()
			if r.URL.Path == "/.well-known/oauth-authorization-server/api/auth" {
				http.NotFound(w, r)
				return
			}
			resp, err := as.Client().Get(as.URL() + r.URL.Path)
			if err != nil {
				http.Error(w, "upstream", http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			// Rewrite the issuer to the proxy's.
			body = []byte(strings.ReplaceAll(string(body), as.URL(), "http://"+r.Host))
			w.WriteHeader(resp.StatusCode)
			_, _ = w.Write(body)
		}))
		t.Cleanup(proxy.Close)
		s := newSource(t, jwks.Config{Issuer: proxy.URL + "/api/auth"}, newClock())
		waitReady(t, s)
		mu.Lock()
		defer mu.Unlock()
		want := []string{"/.well-known/oauth-authorization-server/api/auth", "/api/auth/.well-known/oauth-authorization-server", "/api/auth/jwks"}
		if strings.Join(seen, " ") != strings.Join(want, " ") {
			t.Fatalf("requests = %v, want %v", seen, want)
		}
	})
	t.Run("issuer_mismatch_rejected", func(t *testing.T) {
		as := startAS(t, authtest.Options{Algs: []string{"EdDSA"}})
		// The configured issuer differs (trailing slash): metadata must not be used.
		s := newSource(t, jwks.Config{Issuer: as.Issuer() + "/"}, newClock())
		err := s.Refresh(context.Background())
		if !errors.Is(err, jwks.ErrIssuerMismatch) {
			t.Fatalf("err = %v, want ErrIssuerMismatch", err)
		}
		if s.Health().Ready {
			t.Fatal("ready after an issuer mismatch")
		}
	})
}

func TestMetadataURLs(t *testing.T) {
	got, err := jwks.MetadataURLs("https://auth.example.com/api/auth")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"https://auth.example.com/.well-known/oauth-authorization-server/api/auth",
		"https://auth.example.com/api/auth/.well-known/oauth-authorization-server",
		"https://auth.example.com/api/auth/.well-known/openid-configuration",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v", got)
	}
	got, _ = jwks.MetadataURLs("https://auth.example.com")
	if len(got) != 2 || got[1] != "https://auth.example.com/.well-known/openid-configuration" {
		t.Fatalf("root issuer: %v", got)
	}
}

func TestRedirectToInsecureURLRefused(t *testing.T) {
	srv := httptest.NewServer(http.RedirectHandler("http://auth.example.com/jwks", http.StatusFound))
	t.Cleanup(srv.Close)
	s := newSource(t, jwks.Config{JWKSURL: srv.URL}, newClock())
	if err := s.Refresh(context.Background()); !errors.Is(err, jwks.ErrInsecureURL) {
		t.Fatalf("redirect to plain http: %v", err)
	}
}

func TestLookupHonoursRequestContext(t *testing.T) {
	as := startAS(t, authtest.Options{Algs: []string{"EdDSA"}})
	s := newSource(t, jwks.Config{JWKSURL: as.JWKSURL(), UnknownKIDWait: time.Minute, Timeout: time.Minute}, newClock())
	waitReady(t, s)
	as.SetFault(authtest.FaultHang)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := s.Key(ctx, q("unknown", "EdDSA")); !errors.Is(err, keyset.ErrKeyNotFound) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("lookup ignored its context for %v", d)
	}
}

// TestHealthAfterWaitReadyTellsNextRefresh: once WaitReady returns, Health
// already says when the next refresh runs (a readiness endpoint or a
// metric read right after start-up sees both, never a zero time).
func TestHealthAfterWaitReadyTellsNextRefresh(t *testing.T) {
	as := startAS(t, authtest.Options{})
	for range 50 {
		s := newSource(t, jwks.Config{Issuer: as.Provider.Issuer()}, nil)
		waitReady(t, s)
		if h := s.Health(); h.NextRefresh.IsZero() || !h.Ready {
			t.Fatalf("health right after WaitReady = %+v", h)
		}
		s.Close()
	}
}

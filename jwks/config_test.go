package jwks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/golang-jwt/jwt/v5"
)

func TestConfigRules(t *testing.T) {
	const ok = "https://auth.example.test/jwks"
	for _, tc := range []struct {
		name string
		cfg  jwks.Config
		want string // substring of the error; "" when the config is good
		is   error  // error the result must match, if any
	}{
		{"http_non_loopback_rejected", jwks.Config{JWKSURL: "http://auth.example.com/jwks"}, "https", jwks.ErrInsecureURL},
		{"http_loopback_allowed", jwks.Config{JWKSURL: "http://127.0.0.1:1/jwks"}, "", nil},
		{"http_localhost_allowed", jwks.Config{JWKSURL: "http://localhost:1/jwks"}, "", nil},
		{"http_with_opt_in_allowed", jwks.Config{JWKSURL: "http://auth.internal/jwks", AllowInsecureHTTP: true}, "", nil},
		{"ftp_rejected", jwks.Config{JWKSURL: "ftp://auth.example.com/jwks"}, "https", jwks.ErrInsecureURL},
		{"userinfo_rejected", jwks.Config{JWKSURL: "https://user:pw@auth.example.com/jwks"}, "user info", nil},
		{"insecure_issuer_rejected", jwks.Config{Issuer: "http://auth.example.com"}, "Config.Issuer", jwks.ErrInsecureURL},
		{"nothing_to_fetch_rejected", jwks.Config{}, "JWKSURL or Config.Issuer is required", nil},
		// Negative durations were once silently replaced by the defaults.
		{"negative_timeout_rejected", jwks.Config{JWKSURL: ok, Timeout: -time.Second}, "Timeout must not be negative", nil},
		{"negative_refresh_rejected", jwks.Config{JWKSURL: ok, RefreshInterval: -1}, "RefreshInterval must not be negative", nil},
		{"negative_staleness_rejected", jwks.Config{JWKSURL: ok, MaxStaleness: -time.Hour}, "MaxStaleness must not be negative", nil},
		{"negative_unknown_kid_wait_rejected", jwks.Config{JWKSURL: ok, UnknownKIDWait: -1}, "UnknownKIDWait must not be negative", nil},
		{"min_refresh_above_max_rejected", jwks.Config{JWKSURL: ok, MinRefreshInterval: 2 * time.Hour, MaxRefreshInterval: time.Hour}, "MinRefreshInterval (2h0m0s) exceeds MaxRefreshInterval (1h0m0s)", nil},
		// The default Max (1 h) counts: a Min above it alone is a mistake.
		{"min_refresh_above_default_max_rejected", jwks.Config{JWKSURL: ok, MinRefreshInterval: 2 * time.Hour}, "exceeds MaxRefreshInterval", nil},
		{"retry_min_above_max_rejected", jwks.Config{JWKSURL: ok, RetryMin: time.Minute, RetryMax: time.Second}, "RetryMin (1m0s) exceeds RetryMax (1s)", nil},
		{"negative_body_cap_rejected", jwks.Config{JWKSURL: ok, MaxBodyBytes: -1}, "MaxBodyBytes", nil},
		{"huge_body_cap_rejected", jwks.Config{JWKSURL: ok, MaxBodyBytes: 1 << 30}, "MaxBodyBytes", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = quiet()
			s, err := jwks.New(tc.cfg)
			if s != nil {
				s.Close()
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("good config refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Fatalf("err = %v, want errors.Is %v", err, tc.is)
			case err != nil && s != nil:
				t.Fatal("New returned a Source with an error")
			}
		})
	}
	t.Run("every_mistake_reported", func(t *testing.T) {
		_, err := jwks.New(jwks.Config{JWKSURL: "http://auth.example.com/jwks", Timeout: -1, RetryMin: time.Hour})
		for _, want := range []string{"https", "Timeout", "RetryMin"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want it to mention %s", err, want)
			}
		}
	})
}

// redirects serves n redirects in a row, then the JWKS of as.
func redirects(t *testing.T, as *authtest.Server, n int) string {
	t.Helper()
	doc, err := as.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var hop int
		_, _ = fmt.Sscanf(r.URL.Path, "/hop/%d", &hop)
		if hop < n {
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", hop+1), http.StatusFound)
			return
		}
		_, _ = w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/hop/0"
}

// The documentation promises at most three redirects.
func TestRedirectLimit(t *testing.T) {
	as := startAS(t, authtest.Options{Algs: []string{"EdDSA"}})
	for _, tc := range []struct {
		name string
		hops int
		ok   bool
	}{
		{"no_redirect_followed", 0, true},
		{"three_redirects_followed", 3, true},
		{"four_redirects_refused", 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSource(t, jwks.Config{JWKSURL: redirects(t, as, tc.hops)}, newClock())
			err := s.Refresh(context.Background())
			if (err == nil) != tc.ok {
				t.Fatalf("refresh after %d redirects: %v", tc.hops, err)
			}
			if err != nil && !strings.Contains(err.Error(), "redirects") {
				t.Fatalf("err = %v, want it to say why", err)
			}
		})
	}
}

// The lookup error says why the keys are unavailable: never fetched (with
// the last attempt's error) or too stale, so OnError can tell them apart.
func TestUnavailableCause(t *testing.T) {
	as := startAS(t, authtest.Options{Algs: []string{"EdDSA"}})
	as.SetFault(authtest.Fault500)
	clk := newClock()
	s := newSource(t, jwks.Config{JWKSURL: as.JWKSURL(), MaxStaleness: time.Hour, RetryMin: time.Hour, RetryMax: time.Hour}, clk)
	kid := as.KIDs("EdDSA")[0]
	_ = s.Refresh(context.Background())
	_, err := s.Key(context.Background(), q(kid, "EdDSA"))
	if !errors.Is(err, jwks.ErrNotFetched) || !errors.Is(err, keyset.ErrUnavailable) || errors.Is(err, jwks.ErrStale) ||
		!strings.Contains(err.Error(), "status 500") {
		t.Fatalf("never fetched: %v, want ErrNotFetched naming the last attempt's status 500", err)
	}
	as.SetFault(authtest.FaultNone)
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	_, err = s.Key(context.Background(), q(kid, "EdDSA"))
	if !errors.Is(err, jwks.ErrStale) || !errors.Is(err, keyset.ErrUnavailable) || errors.Is(err, jwks.ErrNotFetched) {
		t.Fatalf("stale: %v, want ErrStale", err)
	}
}

// Keyfunc is the same lookup as Key: a new kid triggers the same refresh,
// the same keys and errors come out, and errors also match keyfunc's.
func TestKeyfuncUsesTheSameLookup(t *testing.T) {
	as := startAS(t, authtest.Options{Algs: []string{"ES256"}})
	s := newSource(t, jwks.Config{JWKSURL: as.JWKSURL()}, newClock())
	waitReady(t, s)
	parse := func(tok string) error {
		_, err := jwt.Parse(tok, s.Keyfunc(), jwt.WithValidMethods(keyset.Algorithms()))
		return err
	}
	tok, err := as.Mint(authtest.Token{})
	if err != nil {
		t.Fatal(err)
	}
	if err := parse(tok); err != nil {
		t.Fatalf("valid token: %v", err)
	}
	if _, err := as.Rotate("ES256"); err != nil {
		t.Fatal(err)
	}
	before := as.JWKSFetches()
	if tok, err = as.Mint(authtest.Token{}); err != nil {
		t.Fatal(err)
	}
	if err := parse(tok); err != nil || as.JWKSFetches() != before+1 {
		t.Fatalf("rotated key: %v after %d fetches, want one refresh", err, as.JWKSFetches()-before)
	}
	unknown, err := as.Mint(authtest.Token{KID: "unknown"})
	if err != nil {
		t.Fatal(err)
	}
	if err := parse(unknown); !errors.Is(err, keyset.ErrKeyNotFound) || !errors.Is(err, keyfunc.ErrKeyfunc) {
		t.Fatalf("unknown kid: %v, want keyset.ErrKeyNotFound and keyfunc.ErrKeyfunc", err)
	}
}

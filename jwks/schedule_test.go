package jwks_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
)

// The tests of the refresh schedule run in a synctest bubble: time is fake
// and advances only when every goroutine of the bubble is blocked, so the
// schedule is observed exactly, without sleeping or polling. The fake
// authorization server is served in process (no network, which a bubble
// cannot wait on).

// inProcess is an http.Client that serves each request with h.
func inProcess(h http.Handler) *http.Client {
	return &http.Client{Transport: handlerTransport{h}}
}

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// syncLog collects log lines.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newProvider(t *testing.T) *authtest.Provider {
	t.Helper()
	p, err := authtest.NewProvider(authtest.Options{Issuer: "https://as.example.test", Algs: []string{"EdDSA"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestFirstFetchFailingThenRecovering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProvider(t)
		p.SetFault(authtest.Fault500)
		logs := &syncLog{}
		s, err := jwks.New(jwks.Config{JWKSURL: p.JWKSURL(), HTTPClient: inProcess(p.Handler()),
			RetryMin: time.Second, RetryMax: 4 * time.Second, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		kid := p.KIDs("EdDSA")[0]
		synctest.Wait()
		if got := p.JWKSFetches(); got != 1 {
			t.Fatalf("fetches at start = %d, want 1", got)
		}
		if _, err := s.Key(context.Background(), q(kid, "EdDSA")); !errors.Is(err, jwks.ErrNotFetched) {
			t.Fatalf("before any fetch: %v, want ErrNotFetched", err)
		}
		// What the log says is true: no keys yet, 503, and when it retries.
		if l := logs.String(); !strings.Contains(l, "no signing keys held yet, so requests get 503") ||
			!strings.Contains(l, "next_attempt_in=") || strings.Contains(l, "keeping the last good keys") {
			t.Fatalf("log after a failed first fetch:\n%s", l)
		}
		// Backoff with jitter: the n-th retry comes within [b/2, b], b
		// doubling from RetryMin up to RetryMax.
		for i, b := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
			h := s.Health()
			if gap := h.NextRefresh.Sub(h.LastAttempt); gap < b/2 || gap > b {
				t.Fatalf("retry %d scheduled %v after the failure, want within [%v, %v]", i+1, gap, b/2, b)
			}
			time.Sleep(time.Until(h.NextRefresh) - time.Nanosecond)
			synctest.Wait()
			if got := p.JWKSFetches(); got != int64(i+1) {
				t.Fatalf("before retry %d: %d fetches, want %d", i+1, got, i+1)
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if got := p.JWKSFetches(); got != int64(i+2) {
				t.Fatalf("at retry %d: %d fetches, want %d", i+1, got, i+2)
			}
		}
		h := s.Health()
		if h.Ready || h.LastError == "" || !h.LastRefresh.IsZero() {
			t.Fatalf("health while failing = %+v", h)
		}
		p.SetFault(authtest.FaultNone)
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if err := s.WaitReady(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Key(context.Background(), q(kid, "EdDSA")); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
		if h := s.Health(); !h.Ready || h.LastError != "" || h.NextRefresh.Sub(h.LastRefresh) != jwks.DefaultRefreshInterval {
			t.Fatalf("health after recovery = %+v", h)
		}
	})
}

func TestBackgroundRefreshFollowsMaxAge(t *testing.T) {
	for _, tc := range []struct {
		name, cc string
		want     time.Duration
	}{
		{"max_age_within_bounds_used", "public, max-age=120", 2 * time.Minute},
		{"max_age_below_min_clamped", "max-age=1", time.Minute},
		{"max_age_above_max_clamped", "max-age=86400", time.Hour},
		{"no_cache_control_uses_interval", "", 15 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newProvider(t)
				p.SetCacheControl(tc.cc)
				s, err := jwks.New(jwks.Config{JWKSURL: p.JWKSURL(), HTTPClient: inProcess(p.Handler()),
					RefreshInterval: 15 * time.Minute, Logger: quiet()})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				synctest.Wait()
				if got := time.Until(s.Health().NextRefresh); got != tc.want {
					t.Fatalf("next refresh in %v, want %v", got, tc.want)
				}
				time.Sleep(tc.want - time.Nanosecond)
				synctest.Wait()
				if got := p.JWKSFetches(); got != 1 {
					t.Fatalf("%d fetches before the interval ended, want 1", got)
				}
				time.Sleep(time.Nanosecond)
				synctest.Wait()
				if got := p.JWKSFetches(); got != 2 {
					t.Fatalf("%d fetches once the interval ended, want 2", got)
				}
			})
		})
	}
}

// A refresh that fails while good keys are held keeps them, says so, and
// backs off; past MaxStaleness the log and the lookups say 503.
func TestRefreshFailureWithKeysHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProvider(t)
		logs := &syncLog{}
		s, err := jwks.New(jwks.Config{JWKSURL: p.JWKSURL(), HTTPClient: inProcess(p.Handler()),
			RefreshInterval: time.Hour, MaxStaleness: 2 * time.Hour, RetryMin: time.Minute, RetryMax: time.Hour,
			Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		synctest.Wait()
		kid := p.KIDs("EdDSA")[0]
		p.SetFault(authtest.Fault500)
		time.Sleep(time.Hour)
		synctest.Wait()
		if l := logs.String(); !strings.Contains(l, "keeping the last good keys") || !strings.Contains(l, "keys_age=1h0m0s") {
			t.Fatalf("log after a failed refresh:\n%s", l)
		}
		if _, err := s.Key(context.Background(), q(kid, "EdDSA")); err != nil {
			t.Fatalf("within MaxStaleness: %v", err)
		}
		// Past MaxStaleness (3 h after the last good fetch), and past the
		// next retry: the backoff has reached RetryMax (1 h) by then.
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		if _, err := s.Key(context.Background(), q(kid, "EdDSA")); !errors.Is(err, jwks.ErrStale) {
			t.Fatalf("past MaxStaleness: %v, want ErrStale", err)
		}
		if l := logs.String(); !strings.Contains(l, "older than MaxStaleness, so requests get 503") {
			t.Fatalf("log past MaxStaleness:\n%s", l)
		}
	})
}

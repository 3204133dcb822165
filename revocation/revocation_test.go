package revocation_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/revocation"
	"github.com/go-json-experiment/json"
)

var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func claims(iat time.Time) *middleware.Claims {
	return &middleware.Claims{Issuer: "https://as.test", ID: "jti-1", SessionID: "sid-1", Subject: "alice",
		ClientID: "app-1", IssuedAt: iat}
}

func TestKinds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		r       revocation.Revocation
		c       func(*middleware.Claims)
		revoked bool
	}{
		{"jti", revocation.Revocation{Kind: revocation.TokenID, Value: "jti-1"}, nil, true},
		{"jti_other", revocation.Revocation{Kind: revocation.TokenID, Value: "jti-2"}, nil, false},
		{"jti_issued_later_still_revoked", revocation.Revocation{Kind: revocation.TokenID, Value: "jti-1"},
			func(c *middleware.Claims) { c.IssuedAt = t0.Add(time.Minute) }, true},
		{"sid", revocation.Revocation{Kind: revocation.Session, Value: "sid-1"}, nil, true},
		{"sub", revocation.Revocation{Kind: revocation.Subject, Value: "alice"}, nil, true},
		{"sub_other", revocation.Revocation{Kind: revocation.Subject, Value: "bob"}, nil, false},
		{"sub_issued_after", revocation.Revocation{Kind: revocation.Subject, Value: "alice"},
			func(c *middleware.Claims) { c.IssuedAt = t0.Add(time.Second) }, false},
		{"sub_issued_same_instant", revocation.Revocation{Kind: revocation.Subject, Value: "alice"},
			func(c *middleware.Claims) { c.IssuedAt = t0 }, true},
		{"sub_no_iat", revocation.Revocation{Kind: revocation.Subject, Value: "alice"},
			func(c *middleware.Claims) { c.IssuedAt = time.Time{} }, true},
		{"client", revocation.Revocation{Kind: revocation.Client, Value: "app-1"}, nil, true},
		{"sub_client", revocation.Revocation{Kind: revocation.SubjectClient, Value: "alice", Client: "app-1"}, nil, true},
		{"sub_client_other_client", revocation.Revocation{Kind: revocation.SubjectClient, Value: "alice", Client: "app-2"}, nil, false},
		{"issuer_scoped", revocation.Revocation{Kind: revocation.Subject, Value: "alice", Issuer: "https://as.test"}, nil, true},
		{"other_issuer", revocation.Revocation{Kind: revocation.Subject, Value: "alice", Issuer: "https://other.test"}, nil, false},
		{"empty_sid_never_matches", revocation.Revocation{Kind: revocation.Session, Value: "sid-1"},
			func(c *middleware.Claims) { c.SessionID = "" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{now: t0}
			s := revocation.NewSet(0, clk.Now)
			if _, err := s.Revoke(tc.r); err != nil {
				t.Fatal(err)
			}
			c := claims(t0.Add(-time.Minute))
			if tc.c != nil {
				tc.c(c)
			}
			got, err := s.Revoked(c)
			if err != nil || got != tc.revoked {
				t.Fatalf("Revoked = %v, %v; want %v", got, err, tc.revoked)
			}
		})
	}
}

func TestLapseMergeAndBounds(t *testing.T) {
	clk := &clock{now: t0}
	s := revocation.NewSet(2, clk.Now)
	if got, _ := s.Revoked(claims(t0)); got {
		t.Fatal("empty set revokes")
	}
	r, err := s.Revoke(revocation.Revocation{Kind: revocation.Subject, Value: "alice", Until: t0.Add(10 * time.Minute)})
	if err != nil || !r.At.Equal(t0) {
		t.Fatalf("Revoke = %+v, %v", r, err)
	}
	// A later revocation of the same subject moves At forward.
	clk.Add(time.Minute)
	if _, err := s.Revoke(revocation.Revocation{Kind: revocation.Subject, Value: "alice"}); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Fatalf("merged Len = %d", s.Len())
	}
	if got, _ := s.Revoked(claims(t0.Add(30 * time.Second))); !got {
		t.Fatal("token issued before the second revocation passes")
	}
	if _, err := s.Revoke(revocation.Revocation{Kind: revocation.Client, Value: "app-9", Until: clk.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(revocation.Revocation{Kind: revocation.Client, Value: "app-10"}); !errors.Is(err, revocation.ErrFull) {
		t.Fatalf("third entry in a set of 2: %v", err)
	}
	// Full, a revocation of a subject already held still merges in.
	if _, err := s.Revoke(revocation.Revocation{Kind: revocation.Subject, Value: "alice"}); err != nil || s.Len() != 2 {
		t.Fatalf("merge into a full set: %v, %d entries", err, s.Len())
	}
	clk.Add(2 * time.Minute) // app-9 lapses: room again
	if _, err := s.Revoke(revocation.Revocation{Kind: revocation.Client, Value: "app-10"}); err != nil {
		t.Fatalf("after a lapse: %v", err)
	}
	clk.Add(revocation.DefaultLifetime)
	if got, _ := s.Revoked(claims(t0)); got {
		t.Fatal("lapsed revocation still revokes")
	}
	s.Sweep()
	if s.Len() != 0 || len(s.All()) != 0 {
		t.Fatalf("after sweep: %d entries", s.Len())
	}
}

func TestInvalid(t *testing.T) {
	s := revocation.NewSet(0, nil)
	for _, r := range []revocation.Revocation{
		{Kind: "email", Value: "x"},
		{Kind: revocation.Subject},
		{Kind: revocation.Subject, Value: "a", Client: "c"},
		{Kind: revocation.SubjectClient, Value: "a"},
		{Kind: revocation.Subject, Value: strings.Repeat("a", revocation.MaxValueBytes+1)},
		{Kind: revocation.Subject, Value: "a", At: t0, Until: t0},
		{Kind: revocation.Subject, Value: "a", At: t0, Until: t0.Add(revocation.MaxLifetime + time.Second)},
	} {
		if _, err := s.Revoke(r); !errors.Is(err, revocation.ErrInvalid) {
			t.Errorf("%+v: %v", r, err)
		}
	}
	if s.Len() != 0 {
		t.Fatal("an invalid revocation was kept")
	}
}

func TestJSON(t *testing.T) {
	r := revocation.Revocation{Kind: revocation.SubjectClient, Value: "alice", Client: "app", Issuer: "https://as.test",
		At: t0.Add(300 * time.Millisecond), Until: t0.Add(time.Hour)}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"sub+client_id","value":"alice","client":"app","iss":"https://as.test","at":1796212801,"until":1796216400}`
	if string(b) != want {
		t.Fatalf("JSON %s\nwant %s", b, want)
	}
	var back revocation.Revocation
	if err := json.Unmarshal(b, &back); err != nil || !back.At.Equal(t0.Add(time.Second)) || back.Client != "app" {
		t.Fatalf("back: %+v, %v", back, err)
	}
	for _, bad := range []string{`{"kind":"sub","value":"a","extra":1}`, `{"kind":"sub","value":"a","value":"b"}`,
		`{"Kind":"sub","value":"a"}`, `{"kind":"sub","value":"a","at":-1}`, `[]`, `{"kind":"sub","value":"a","at":1e300}`} {
		if err := back.UnmarshalJSON([]byte(bad)); !errors.Is(err, revocation.ErrInvalid) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestMergeKeepsEverything(t *testing.T) {
	clk := &clock{now: t0}
	s := revocation.NewSet(1, clk.Now)
	rs := []revocation.Revocation{
		{Kind: revocation.TokenID, Value: "a", At: t0, Until: t0.Add(time.Hour)},
		{Kind: revocation.TokenID, Value: "b", At: t0, Until: t0.Add(time.Hour)},
		{Kind: revocation.TokenID, Value: "lapsed", At: t0.Add(-2 * time.Hour), Until: t0.Add(-time.Hour)},
		{Kind: "bogus", Value: "c", At: t0, Until: t0.Add(time.Hour)},
	}
	if n := s.Merge(rs...); n != 2 || s.Len() != 2 {
		t.Fatalf("Merge changed %d, holds %d; want 2 and 2 (a full set still takes others' revocations)", n, s.Len())
	}
	if n := s.Merge(rs...); n != 0 {
		t.Fatalf("merging again changed %d", n)
	}
}

// TestValidator checks the Validator asks the list on every request, cache
// hits included, and maps its answers.
func TestValidator(t *testing.T) {
	p, err := authtest.NewProvider(authtest.Options{Issuer: "https://as.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	set := revocation.NewSet(0, nil)
	v, err := middleware.New(middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()},
		Keys: p.KeySet(), Revocations: set})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.Mint(authtest.Token{Claims: map[string]any{"sid": "session-7"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second is a cache hit
		c, err := v.Validate(context.Background(), tok)
		if err != nil || c.SessionID != "session-7" {
			t.Fatalf("before: %v, %+v", err, c)
		}
	}
	if _, err := set.Revoke(revocation.Revocation{Kind: revocation.Session, Value: "session-7"}); err != nil {
		t.Fatal(err)
	}
	_, err = v.Validate(context.Background(), tok)
	var e *middleware.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || !errors.Is(err, middleware.ErrRevoked) ||
		e.Description != "the access token has been revoked" {
		t.Fatalf("revoked session, cached token: %v", err)
	}
	// A new sign-in in that session, later: its token passes.
	time.Sleep(1100 * time.Millisecond) // iat is in whole seconds
	fresh, err := p.Mint(authtest.Token{Claims: map[string]any{"sid": "session-7"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(context.Background(), fresh); err != nil {
		t.Fatalf("token issued after the revocation: %v", err)
	}

	down := middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()}, Keys: p.KeySet(),
		Revocations: failing{}}
	v2, err := middleware.New(down)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v2.Validate(context.Background(), tok)
	if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || !errors.Is(err, middleware.ErrRevocationsUnavailable) ||
		strings.Contains(e.Description, "secret-cause") {
		t.Fatalf("list down: %v", err)
	}
}

type failing struct{}

func (failing) Revoked(*middleware.Claims) (bool, error) { return false, errors.New("secret-cause") }

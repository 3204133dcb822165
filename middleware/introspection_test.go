package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/middleware"
)

const introIssuer = "https://auth.example.test"

// introspectorFunc is a middleware.Introspector of a function.
type introspectorFunc func(ctx context.Context, token string) ([]byte, error)

func (f introspectorFunc) Introspect(ctx context.Context, token string) ([]byte, error) {
	return f(ctx, token)
}

// answer returns an introspection answer with the members given as JSON
// text replacing or following an active, acceptable answer's.
func answer(kv ...string) string {
	base := []string{"active", "true", "iss", `"` + introIssuer + `"`, "aud", `"` + authtest.DefaultAudience + `"`,
		"exp", fmt.Sprint(now.Add(time.Hour).Unix()), "iat", fmt.Sprint(now.Unix()), "organizationId", `"org_acme"`,
		"scope", `"read:clients write:invoices"`, "client_id", `"cli_1"`, "token_type", `"Bearer"`}
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for j := 0; j+1 < len(base); j += 2 {
			if base[j] == kv[i] {
				base[j+1], found = kv[i+1], true
			}
		}
		if !found {
			base = append(base, kv[i], kv[i+1])
		}
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(base); i += 2 {
		if base[i+1] == omit {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + base[i] + `":` + base[i+1])
	}
	return b.String() + "}"
}

func introValidator(t testing.TB, intro middleware.Introspector, mod func(*middleware.Config)) *middleware.Validator {
	t.Helper()
	p, err := authtest.NewProvider(authtest.Options{Issuer: introIssuer, Algs: []string{"EdDSA"}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return validatorFor(t, p, func(c *middleware.Config) {
		c.Introspector, c.Logger = intro, slog.New(slog.DiscardHandler)
		if mod != nil {
			mod(c)
		}
	})
}

// Every rule of an introspection answer, for an opaque token: as strict as
// for a JWT, and a broken answer is a 503 (the token could not be checked),
// never an acceptance.
func TestIntrospectionAnswerRules(t *testing.T) {
	const opaque = "opaque-token-0123456789abcdefghijklmnopqrstuvw"
	for _, tc := range []struct {
		name   string
		body   string
		mod    func(*middleware.Config)
		status int   // 0: accepted
		reason error // the error must match
	}{
		{"active_answer_accepted", answer(), nil, 0, nil},
		{"no_iss_with_one_issuer_accepted", answer("iss", omit), nil, 0, nil},
		{"inactive_rejected", `{"active":false}`, nil, 401, middleware.ErrInactive},
		{"inactive_with_claims_rejected", answer("active", "false"), nil, 401, middleware.ErrInactive},
		// RFC 7662 §2.2: active is a boolean. Anything else is not an answer.
		{"active_string_unavailable", answer("active", `"true"`), nil, 503, middleware.ErrIntrospectionUnavailable},
		{"active_number_unavailable", answer("active", "1"), nil, 503, middleware.ErrIntrospectionUnavailable},
		{"active_null_unavailable", answer("active", "null"), nil, 503, middleware.ErrIntrospectionUnavailable},
		{"active_missing_unavailable", answer("active", omit), nil, 503, middleware.ErrIntrospectionUnavailable},
		{"active_duplicated_unavailable", answer()[:len(answer())-1] + `,"active":false}`, nil, 503, middleware.ErrIntrospectionUnavailable},
		{"not_json_unavailable", `<html>`, nil, 503, middleware.ErrIntrospectionUnavailable},
		{"array_unavailable", `[{"active":true}]`, nil, 503, middleware.ErrIntrospectionUnavailable},
		{"trailing_data_unavailable", answer() + `{}`, nil, 503, middleware.ErrIntrospectionUnavailable},
		{"exp_as_string_unavailable", answer("exp", `"tomorrow"`), nil, 503, middleware.ErrIntrospectionUnavailable},
		{"other_issuer_rejected", answer("iss", `"https://evil.example.test"`), nil, 401, middleware.ErrWrongIssuer},
		{"no_iss_with_several_issuers_rejected", answer("iss", omit), func(c *middleware.Config) {
			c.Trusted = []middleware.Issuer{{Issuer: introIssuer, Keys: c.Keys}, {Issuer: "https://other.example.test", Keys: c.Keys}}
			c.Issuers, c.Keys = nil, nil
		}, 401, middleware.ErrWrongIssuer},
		{"other_trusted_issuer_with_its_audience_accepted", answer("iss", `"https://other.example.test"`, "aud", `"https://other-api.example.test"`), func(c *middleware.Config) {
			c.Trusted = []middleware.Issuer{{Issuer: introIssuer, Keys: c.Keys},
				{Issuer: "https://other.example.test", Keys: c.Keys, Audiences: []string{"https://other-api.example.test"}}}
			c.Issuers, c.Keys = nil, nil
		}, 0, nil},
		{"other_audience_rejected", answer("aud", `"https://other.example.test"`), nil, 401, middleware.ErrWrongAudience},
		{"audience_in_array_accepted", answer("aud", `["https://x.test","`+authtest.DefaultAudience+`"]`), nil, 0, nil},
		{"no_audience_rejected_by_default", answer("aud", omit), nil, 401, middleware.ErrWrongAudience},
		{"empty_audience_rejected_by_default", answer("aud", `[]`), nil, 401, middleware.ErrWrongAudience},
		{"no_audience_accepted_when_allowed", answer("aud", omit), func(c *middleware.Config) { c.IntrospectionAllowNoAudience = true }, 0, nil},
		{"other_audience_rejected_even_when_none_allowed", answer("aud", `"https://other.example.test"`), func(c *middleware.Config) {
			c.IntrospectionAllowNoAudience = true
		}, 401, middleware.ErrWrongAudience},
		{"expired_rejected", answer("exp", fmt.Sprint(now.Add(-time.Hour).Unix())), nil, 401, middleware.ErrExpired},
		{"exp_missing_rejected", answer("exp", omit), nil, 401, middleware.ErrMissingClaim},
		{"nbf_in_future_rejected", answer("nbf", fmt.Sprint(now.Add(time.Hour).Unix())), nil, 401, middleware.ErrNotYetValid},
		{"iat_in_future_rejected", answer("iat", fmt.Sprint(now.Add(time.Hour).Unix())), nil, 401, middleware.ErrNotYetValid},
		{"cnf_bound_rejected", answer("cnf", `{"jkt":"abc"}`), nil, 401, middleware.ErrBoundToken},
		{"organization_missing_rejected", answer("organizationId", omit), nil, 401, middleware.ErrMissingOrganization},
		{"organization_skipped_accepted", answer("organizationId", omit), func(c *middleware.Config) { c.SkipOrganization = true }, 0, nil},
		// A refresh token presented as an access token.
		{"refresh_token_type_rejected", answer("token_type", `"refresh_token"`), nil, 401, middleware.ErrUnsupportedType},
		{"refresh_token_use_rejected", answer("token_use", `"refresh_token"`), nil, 401, middleware.ErrUnsupportedType},
		// As oidc-provider answers for a refresh token, even with
		// token_type_hint=access_token: no aud, no token_type.
		{"no_audience_no_token_type_rejected_even_when_allowed", answer("aud", omit, "token_type", omit), func(c *middleware.Config) {
			c.IntrospectionAllowNoAudience = true
		}, 401, middleware.ErrWrongAudience},
		{"dpop_token_type_with_cnf_rejected_as_bearer", answer("token_type", `"DPoP"`, "cnf", `{"jkt":"abc"}`), nil, 401, middleware.ErrBoundToken},
		{"invalid_scope_rejected", answer("scope", `"read\u0000clients"`), nil, 401, middleware.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := introValidator(t, introspectorFunc(func(context.Context, string) ([]byte, error) { return []byte(tc.body), nil }), tc.mod)
			c, err := v.Validate(context.Background(), opaque)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !c.Introspected || (c.OrganizationID == "") != strings.Contains(tc.name, "organization_skipped") ||
					(c.Issuer != introIssuer) != strings.Contains(tc.name, "other_trusted") || string(c.Raw()) != tc.body || c.Algorithm != "" {
					t.Fatalf("claims %+v", c)
				}
				return
			}
			var e *middleware.Error
			if c != nil || !errors.As(err, &e) || e.Status != tc.status || !errors.Is(err, tc.reason) {
				t.Fatalf("got %v, %v; want status %d and %v", c, err, tc.status, tc.reason)
			}
			if strings.Contains(e.Description, opaque) || strings.Contains(err.Error(), opaque) {
				t.Fatalf("the error repeats the token: %v", err)
			}
		})
	}
	t.Run("scopes_and_fields_read", func(t *testing.T) {
		v := introValidator(t, introspectorFunc(func(context.Context, string) ([]byte, error) {
			return []byte(answer("sub", `"user_7"`, "jti", `"t-1"`)), nil
		}), nil)
		c, err := v.Validate(context.Background(), opaque)
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject != "user_7" || c.ID != "t-1" || c.ClientID != "cli_1" || !c.Scopes.HasAll("read:clients", "write:invoices") ||
			!c.Expiry.Equal(now.Add(time.Hour).Truncate(time.Second)) {
			t.Fatalf("claims %+v", c)
		}
	})
	t.Run("introspector_error_unavailable_503", func(t *testing.T) {
		v := introValidator(t, introspectorFunc(func(context.Context, string) ([]byte, error) {
			return nil, errors.New("POST https://auth.example.test/introspect: status 500, want 200")
		}), nil)
		_, err := v.Validate(context.Background(), opaque)
		w := httptest.NewRecorder()
		middleware.Renderer{}.Write(w, err)
		if !errors.Is(err, middleware.ErrIntrospectionUnavailable) || w.Code != 503 || w.Header().Get("Retry-After") != "30" ||
			!strings.Contains(err.Error(), "status 500") || strings.Contains(w.Body.String(), "500") {
			t.Fatalf("err %v, rendered %d %q", err, w.Code, w.Body)
		}
	})
	t.Run("opaque_without_introspector_malformed", func(t *testing.T) {
		v := introValidator(t, nil, nil)
		if _, err := v.Validate(context.Background(), opaque); !errors.Is(err, middleware.ErrMalformed) {
			t.Fatalf("err = %v, want ErrMalformed as before introspection existed", err)
		}
	})
}

// counting wraps an introspector and counts its calls.
type counting struct {
	next  middleware.Introspector
	calls atomic.Int64
}

func (c *counting) Introspect(ctx context.Context, token string) ([]byte, error) {
	c.calls.Add(1)
	return c.next.Introspect(ctx, token)
}

func TestIntrospectionCache(t *testing.T) {
	setup := func(t *testing.T, mod func(*middleware.Config)) (*authtest.Provider, *counting, *authtest.Clock, *middleware.Validator) {
		clk := authtest.NewClock(now)
		p, err := authtest.NewProvider(authtest.Options{Issuer: introIssuer, Algs: []string{"EdDSA"}, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		intro := &counting{next: p}
		cfg := middleware.Config{Issuers: []string{introIssuer}, Audiences: []string{authtest.DefaultAudience},
			Keys: p.KeySet(), Introspector: intro, Now: clk.Now}
		if mod != nil {
			mod(&cfg)
		}
		v, err := middleware.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p, intro, clk, v
	}
	ctx := context.Background()
	validate := func(t *testing.T, v *middleware.Validator, tok string, want error) {
		t.Helper()
		_, err := v.Validate(ctx, tok)
		if !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Fatalf("err = %v, want %v", err, want)
		}
	}
	t.Run("active_answer_reused_within_ttl", func(t *testing.T) {
		p, intro, clk, v := setup(t, func(c *middleware.Config) { c.IntrospectionTTL = 10 * time.Second })
		tok, _ := p.MintOpaque(authtest.Token{})
		for range 5 {
			validate(t, v, tok, nil)
		}
		clk.Advance(9 * time.Second)
		validate(t, v, tok, nil)
		if n := intro.calls.Load(); n != 1 {
			t.Fatalf("%d calls within the TTL, want 1", n)
		}
		clk.Advance(2 * time.Second)
		validate(t, v, tok, nil)
		if n := intro.calls.Load(); n != 2 {
			t.Fatalf("%d calls after the TTL, want 2", n)
		}
	})
	t.Run("negative_ttl_asks_every_time", func(t *testing.T) {
		p, intro, _, v := setup(t, func(c *middleware.Config) { c.IntrospectionTTL = -1 })
		tok, _ := p.MintOpaque(authtest.Token{})
		for range 3 {
			validate(t, v, tok, nil)
		}
		if n := intro.calls.Load(); n != 3 {
			t.Fatalf("%d calls, want 3", n)
		}
	})
	t.Run("active_answer_never_beyond_exp", func(t *testing.T) {
		p, intro, clk, v := setup(t, func(c *middleware.Config) { c.IntrospectionTTL = time.Hour })
		tok, _ := p.MintOpaque(authtest.Token{Claims: map[string]any{"exp": now.Add(time.Minute).Unix()}})
		validate(t, v, tok, nil)
		clk.Advance(2 * time.Minute) // past exp and the 30 s leeway
		validate(t, v, tok, middleware.ErrInactive)
		if n := intro.calls.Load(); n != 2 {
			t.Fatalf("%d calls, want 2: the answer must not outlive exp", n)
		}
	})
	t.Run("revoked_opaque_token_stays_rejected_without_asking", func(t *testing.T) {
		p, intro, clk, v := setup(t, func(c *middleware.Config) { c.IntrospectionTTL = -1 })
		tok, _ := p.MintOpaque(authtest.Token{})
		validate(t, v, tok, nil)
		p.Revoke(tok)
		validate(t, v, tok, middleware.ErrInactive)
		clk.Advance(30 * time.Minute)
		for range 5 {
			validate(t, v, tok, middleware.ErrInactive)
		}
		if n := intro.calls.Load(); n != 2 {
			t.Fatalf("%d calls, want 2: an inactive answer is kept", n)
		}
	})
	t.Run("jwt_revocation_check_next_request", func(t *testing.T) {
		p, intro, _, v := setup(t, func(c *middleware.Config) { c.RevocationCheck = true; c.IntrospectionTTL = -1 })
		tok, err := p.Mint(authtest.Token{})
		if err != nil {
			t.Fatal(err)
		}
		validate(t, v, tok, nil)
		validate(t, v, tok, nil) // a verified-token cache hit, still confirmed
		p.Revoke(tok)
		validate(t, v, tok, middleware.ErrInactive)
		validate(t, v, tok, middleware.ErrInactive)
		if n := intro.calls.Load(); n != 3 {
			t.Fatalf("%d calls, want 3 (two active, one inactive kept until exp)", n)
		}
	})
	t.Run("jwt_revocation_within_ttl", func(t *testing.T) {
		p, _, clk, v := setup(t, func(c *middleware.Config) { c.RevocationCheck = true; c.IntrospectionTTL = 5 * time.Second })
		tok, _ := p.Mint(authtest.Token{})
		validate(t, v, tok, nil)
		p.Revoke(tok)
		validate(t, v, tok, nil) // the active answer is reused for up to 5 s
		clk.Advance(5 * time.Second)
		validate(t, v, tok, middleware.ErrInactive)
	})
	t.Run("jwt_checked_locally_first", func(t *testing.T) {
		p, intro, _, v := setup(t, func(c *middleware.Config) { c.RevocationCheck = true })
		tok, _ := p.Mint(authtest.Token{Claims: map[string]any{"aud": "https://other.example.test"}})
		validate(t, v, tok, middleware.ErrWrongAudience)
		if n := intro.calls.Load(); n != 0 {
			t.Fatalf("%d calls for a token refused locally", n)
		}
	})
	t.Run("stats_count_entries", func(t *testing.T) {
		p, _, _, v := setup(t, nil)
		tok, _ := p.MintOpaque(authtest.Token{})
		validate(t, v, tok, nil)
		if st := v.Stats(); st.IntrospectionEntries != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// 200 concurrent requests with one new token make exactly one call.
func TestIntrospectionSingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := authtest.NewProvider(authtest.Options{Issuer: introIssuer, Algs: []string{"EdDSA"}})
		if err != nil {
			t.Fatal(err)
		}
		release := make(chan struct{})
		var calls atomic.Int64
		slow := introspectorFunc(func(ctx context.Context, tok string) ([]byte, error) {
			calls.Add(1)
			<-release
			return p.Introspect(ctx, tok)
		})
		v, err := middleware.New(middleware.Config{Issuers: []string{introIssuer}, Audiences: []string{authtest.DefaultAudience},
			Keys: p.KeySet(), Introspector: slow})
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := p.MintOpaque(authtest.Token{})
		var wg sync.WaitGroup
		var refused atomic.Int64
		for range 200 {
			wg.Go(func() {
				if _, err := v.Validate(context.Background(), tok); err != nil {
					refused.Add(1)
				}
			})
		}
		synctest.Wait() // all 200 are waiting: one in the introspector, the rest on it
		close(release)
		wg.Wait()
		if calls.Load() != 1 || refused.Load() != 0 {
			t.Fatalf("%d introspection calls, %d refused; want 1 and 0", calls.Load(), refused.Load())
		}
	})
}

// A waiter's cancellation does not cancel the call others wait for, and
// returns at once.
func TestIntrospectionWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		v := introValidator(t, introspectorFunc(func(ctx context.Context, tok string) ([]byte, error) {
			select {
			case <-release:
			case <-ctx.Done():
				return nil, errors.New("the shared call was cancelled")
			}
			return []byte(answer()), nil
		}), nil)
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() {
			_, err := v.Validate(ctx, "opaque-a")
			first <- err
		}()
		second := make(chan error, 1)
		go func() {
			_, err := v.Validate(context.Background(), "opaque-a")
			second <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-first; !errors.Is(err, middleware.ErrIntrospectionUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled waiter: %v", err)
		}
		close(release)
		if err := <-second; err != nil {
			t.Fatalf("the other waiter: %v", err)
		}
	})
}

func TestIntrospectionFailurePolicy(t *testing.T) {
	p, err := authtest.NewProvider(authtest.Options{Issuer: introIssuer, Algs: []string{"EdDSA"}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	jwtTok, _ := p.Mint(authtest.Token{})
	opaqueTok, _ := p.MintOpaque(authtest.Token{})
	p.SetIntrospectionFault(authtest.Fault500)
	var logs bytes.Buffer
	build := func(failOpen bool) *middleware.Validator {
		v, err := middleware.New(middleware.Config{Issuers: []string{introIssuer}, Audiences: []string{authtest.DefaultAudience},
			Keys: p.KeySet(), Introspector: p, RevocationCheck: true, IntrospectionFailOpen: failOpen,
			Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ctx := context.Background()
	closed := build(false)
	for name, tok := range map[string]string{"jwt": jwtTok, "opaque": opaqueTok} {
		if _, err := closed.Validate(ctx, tok); !errors.Is(err, middleware.ErrIntrospectionUnavailable) {
			t.Errorf("fail closed, %s: %v, want 503", name, err)
		}
	}
	open := build(true)
	if _, err := open.Validate(ctx, jwtTok); err != nil {
		t.Fatalf("fail open, JWT: %v", err)
	}
	if _, err := open.Validate(ctx, opaqueTok); !errors.Is(err, middleware.ErrIntrospectionUnavailable) {
		t.Fatalf("fail open, opaque: %v; opaque tokens never fail open", err)
	}
	if st := open.Stats(); st.IntrospectionFailOpen != 1 {
		t.Fatalf("fail-open count %d, want 1", st.IntrospectionFailOpen)
	}
	if l := logs.String(); !strings.Contains(l, "IntrospectionFailOpen") || strings.Contains(l, jwtTok) {
		t.Fatalf("log:\n%s", l)
	}
	// A failure is not cached: once the endpoint is back, the next request asks.
	p.SetIntrospectionFault(authtest.FaultNone)
	if _, err := closed.Validate(ctx, opaqueTok); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestIntrospectionOnTheGuard(t *testing.T) {
	p, err := authtest.NewProvider(authtest.Options{Issuer: introIssuer, Algs: []string{"EdDSA"}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := middleware.New(middleware.Config{Issuers: []string{introIssuer}, Audiences: []string{authtest.DefaultAudience},
		Keys: p.KeySet(), Introspector: p})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := p.MintOpaque(authtest.Token{Scopes: []string{"read:clients"}})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	c, err := v.Authenticate(r)
	if err != nil || !c.Scopes.Has("read:clients") || !c.Introspected {
		t.Fatalf("opaque token through Authenticate: %v, %+v", err, c)
	}
	r.Header.Set("Authorization", `Bearer opaque"token`)
	if _, err := v.Authenticate(r); !errors.Is(err, middleware.ErrInvalidRequest) {
		t.Fatalf("non-token68 opaque token: %v", err)
	}
	var e *middleware.Error
	r.Header.Set("Authorization", "Bearer "+strings.Repeat("a", 9000))
	if _, err := v.Authenticate(r); !errors.As(err, &e) || !errors.Is(err, middleware.ErrTooLarge) || p.IntrospectionCalls() != 1 {
		t.Fatalf("oversized opaque token: %v after %d calls", err, p.IntrospectionCalls())
	}
}

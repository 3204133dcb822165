package middleware_test

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
)

func TestBearerToken(t *testing.T) {
	cases := []struct {
		name    string
		headers []string
		want    string
		kind    error
	}{
		{name: "bearer_token_extracted", headers: []string{"Bearer abc.def.ghi"}, want: "abc.def.ghi"},
		{name: "scheme_case_insensitive", headers: []string{"bEARER abc"}, want: "abc"},
		{name: "several_spaces_after_scheme_tolerated", headers: []string{"Bearer   abc"}, want: "abc"},
		{name: "token68_padding_allowed", headers: []string{"Bearer abc=="}, want: "abc=="},
		{name: "no_header_no_credentials", kind: middleware.ErrNoCredentials},
		{name: "empty_header_no_credentials", headers: []string{""}, kind: middleware.ErrNoCredentials},
		{name: "basic_scheme_no_credentials", headers: []string{"Basic dXNlcjpwYXNz"}, kind: middleware.ErrNoCredentials},
		{name: "bearer_prefix_without_space_is_other_scheme", headers: []string{"Bearerabc"}, kind: middleware.ErrNoCredentials},
		{name: "bearer_without_token_invalid_request", headers: []string{"Bearer"}, kind: middleware.ErrInvalidRequest},
		{name: "bearer_space_only_invalid_request", headers: []string{"Bearer   "}, kind: middleware.ErrInvalidRequest},
		{name: "two_tokens_invalid_request", headers: []string{"Bearer a b"}, kind: middleware.ErrInvalidRequest},
		{name: "two_headers_invalid_request", headers: []string{"Bearer a", "Bearer b"}, kind: middleware.ErrInvalidRequest},
		{name: "quote_outside_token68_invalid_request", headers: []string{`Bearer "abc"`}, kind: middleware.ErrInvalidRequest},
		{name: "comma_outside_token68_invalid_request", headers: []string{"Bearer a,b"}, kind: middleware.ErrInvalidRequest},
		{name: "padding_only_invalid_request", headers: []string{"Bearer =="}, kind: middleware.ErrInvalidRequest},
		{name: "padding_in_middle_invalid_request", headers: []string{"Bearer a=b"}, kind: middleware.ErrInvalidRequest},
		{name: "non_ascii_invalid_request", headers: []string{"Bearer ab\xffc"}, kind: middleware.ErrInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.headers {
				h.Add("Authorization", v)
			}
			got, err := middleware.BearerToken(h)
			if tc.kind == nil {
				if err != nil || got != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if got != "" || !errors.Is(err, tc.kind) {
				t.Fatalf("got %q, %v; want %v", got, err, tc.kind)
			}
		})
	}
}

func TestRenderer(t *testing.T) {
	rd := middleware.Renderer{Realm: `my "api"`, ResourceMetadata: "https://api.example.test/.well-known/oauth-protected-resource"}
	rm := `resource_metadata="https://api.example.test/.well-known/oauth-protected-resource"`
	f := newFixture(t, []string{"ES256"}, nil)
	expired := f.mint(t, authtest.Token{Claims: map[string]any{"exp": now.Add(-time.Hour).Unix()}})
	_, errExpired := f.v.Validate(context.Background(), expired)
	_, errNoCred := middleware.BearerToken(http.Header{})
	_, errTwo := middleware.BearerToken(http.Header{"Authorization": {"Bearer a b"}})
	good, _ := f.v.Validate(context.Background(), f.mint(t, authtest.Token{Claims: map[string]any{"scope": "read:clients"}}))
	errScope := middleware.RequireScopes(good, scopes.All("read:clients", "write:invoices"))
	errOrg := middleware.RequireOrganization(good, "org_globex")

	cases := []struct {
		name      string
		err       error
		status    int
		challenge string // "" means no WWW-Authenticate
		body      string
	}{
		{"no_credentials_bare_challenge", errNoCred, 401, `Bearer realm="my \"api\"", ` + rm,
			`{"error":"unauthorized","error_description":"bearer token required"}`},
		{"invalid_request_400", errTwo, 400, `Bearer realm="my \"api\"", error="invalid_request", error_description="the Bearer credentials carry more than one token", ` + rm,
			`{"error":"invalid_request","error_description":"the Bearer credentials carry more than one token"}`},
		{"expired_401_invalid_token", errExpired, 401, `Bearer realm="my \"api\"", error="invalid_token", error_description="the access token expired", ` + rm,
			`{"error":"invalid_token","error_description":"the access token expired"}`},
		{"insufficient_scope_403_with_scope", errScope, 403, `Bearer realm="my \"api\"", error="insufficient_scope", error_description="the access token lacks the required scope", scope="read:clients write:invoices", ` + rm,
			`{"error":"insufficient_scope","error_description":"the access token lacks the required scope","scope":"read:clients write:invoices"}`},
		{"other_org_403_forbidden", errOrg, 403, "",
			`{"error":"forbidden","error_description":"the access token is for another organization"}`},
		{"custom_forbidden_403", middleware.Forbidden("the admin role is required"), 403, "",
			`{"error":"forbidden","error_description":"the admin role is required"}`},
		{"unknown_error_500_without_details", errors.New("db password is hunter2"), 500, "",
			`{"error":"server_error","error_description":"internal error"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			rd.Write(w, tc.err)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Fatalf("WWW-Authenticate:\n got %s\nwant %s", got, tc.challenge)
			}
			if got := strings.TrimSpace(w.Body.String()); got != tc.body {
				t.Fatalf("body:\n got %s\nwant %s", got, tc.body)
			}
			if w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("headers %v", w.Header())
			}
		})
	}
	t.Run("keys_unavailable_503_retry_after", func(t *testing.T) {
		v, err := middleware.New(middleware.Config{Issuers: []string{"https://as.test"}, Audiences: []string{"a"},
			Keys: keySetFunc(func(context.Context, string, string) (crypto.PublicKey, error) {
				return nil, middleware.ErrKeysUnavailable
			})})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Validate(context.Background(), f.mint(t, authtest.Token{}))
		w := httptest.NewRecorder()
		middleware.Renderer{RetryAfter: 10 * time.Second}.Write(w, err)
		if w.Code != 503 || w.Header().Get("Retry-After") != "10" || !errors.Is(err, middleware.ErrKeysUnavailable) {
			t.Fatalf("status %d, Retry-After %q, err %v", w.Code, w.Header().Get("Retry-After"), err)
		}
	})
}

// keySetFunc is a keyset.Source of a function of kid and alg.
type keySetFunc func(ctx context.Context, kid, alg string) (crypto.PublicKey, error)

func (f keySetFunc) Key(ctx context.Context, q keyset.Query) (crypto.PublicKey, error) {
	return f(ctx, q.KeyID, q.Algorithm)
}

// Duplicate and case-variant claim names must never let through a token that
// the exact, first value would reject: encoding/json folds case and keeps the
// last duplicate, so a naive decoder would accept these.
func TestDuplicateAndCaseVariantClaims(t *testing.T) {
	f := newFixture(t, []string{"EdDSA"}, nil)
	kid := f.as.KIDs("EdDSA")[0]
	iss, aud := f.as.Issuer(), f.as.Audience()
	exp, past := now.Add(time.Hour).Unix(), now.Add(-time.Hour).Unix()
	base := fmt.Sprintf(`"iss":%q,"aud":%q,"organizationId":"org_acme"`, iss, aud)
	cases := []struct {
		name    string
		payload string
		reason  error
	}{
		{"baseline_accepted", fmt.Sprintf(`{%s,"exp":%d}`, base, exp), nil},
		{"exp_then_EXP_uses_exact_exp", fmt.Sprintf(`{%s,"exp":%d,"EXP":%d}`, base, past, exp), middleware.ErrExpired},
		{"EXP_alone_is_no_exp", fmt.Sprintf(`{%s,"EXP":%d}`, base, exp), middleware.ErrMissingClaim},
		{"exp_twice_rejected", fmt.Sprintf(`{%s,"exp":%d,"exp":%d}`, base, past, exp), middleware.ErrMalformed},
		{"exp_twice_escaped_name_rejected", fmt.Sprintf(`{%s,"exp":%d,"\u0065xp":%d}`, base, past, exp), middleware.ErrMalformed},
		{"iss_twice_rejected", fmt.Sprintf(`{"iss":"https://evil.test","iss":%q,"aud":%q,"organizationId":"o","exp":%d}`, iss, aud, exp), middleware.ErrMalformed},
		{"ISS_variant_ignored", fmt.Sprintf(`{"ISS":%q,"aud":%q,"organizationId":"o","exp":%d}`, iss, aud, exp), middleware.ErrWrongIssuer},
		{"organizationId_twice_rejected", fmt.Sprintf(`{"iss":%q,"aud":%q,"organizationId":"org_acme","organizationId":"org_globex","exp":%d}`, iss, aud, exp), middleware.ErrMalformed},
		{"aud_twice_rejected", fmt.Sprintf(`{"iss":%q,"aud":"https://other.test","aud":%q,"organizationId":"o","exp":%d}`, iss, aud, exp), middleware.ErrMalformed},
		{"nested_duplicate_rejected", fmt.Sprintf(`{%s,"exp":%d,"x":{"a":1,"a":2}}`, base, exp), middleware.ErrMalformed},
		{"invalid_utf8_rejected", fmt.Sprintf(`{%s,"exp":%d,"x":"%s"}`, base, exp, "\xff"), middleware.ErrMalformed},
		{"trailing_garbage_rejected", fmt.Sprintf(`{%s,"exp":%d}{}`, base, exp), middleware.ErrMalformed},
		{"top_level_array_rejected", `[1]`, middleware.ErrMalformed},
		{"deeply_nested_within_size_cap_parsed_without_harm", fmt.Sprintf(`{%s,"exp":%d,"x":%s1%s}`, base, exp, strings.Repeat("[", 2000), strings.Repeat("]", 2000)), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := f.as.SignRaw(kid, []byte(fmt.Sprintf(`{"alg":"EdDSA","kid":%q}`, kid)), []byte(tc.payload))
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.v.Validate(context.Background(), raw)
			if tc.reason == nil {
				if err != nil {
					t.Fatalf("want accepted: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.reason) {
				t.Fatalf("err = %v, want %v", err, tc.reason)
			}
		})
	}
}

func TestConfigRejected(t *testing.T) {
	ks := keySetFunc(func(context.Context, string, string) (crypto.PublicKey, error) { return nil, errors.New("x") })
	ok := middleware.Config{Issuers: []string{"https://as.test"}, Audiences: []string{"api"}, Keys: ks}
	for _, tc := range []struct {
		name string
		mod  func(*middleware.Config)
		want string // the one clear error this mistake gets
	}{
		{"issuers_required", func(c *middleware.Config) { c.Issuers = nil }, "Config.Issuers must list"},
		{"empty_issuer_rejected", func(c *middleware.Config) { c.Issuers = []string{""} }, "Config.Issuers must list no empty issuer"},
		// One key source for two issuers: a key of one would verify tokens claiming the other.
		{"several_issuers_one_key_source_rejected", func(c *middleware.Config) { c.Issuers = []string{"https://a.test", "https://b.test"} }, "use Config.Trusted"},
		{"trusted_with_issuers_rejected", func(c *middleware.Config) {
			c.Trusted = []middleware.Issuer{{Issuer: "https://a.test", Keys: c.Keys}}
		}, "Config.Trusted excludes Config.Issuers and Config.Keys"},
		{"audiences_required", func(c *middleware.Config) { c.Audiences = nil }, "Config.Audiences must list"},
		{"empty_audience_rejected", func(c *middleware.Config) { c.Audiences = []string{"api", ""} }, "Config.Audiences must list"},
		{"keys_required", func(c *middleware.Config) { c.Keys = nil }, "Config.Keys is required"},
		{"hs256_not_allowed", func(c *middleware.Config) { c.Algorithms = []string{"HS256"} }, `algorithm "HS256" is not an accepted`},
		{"none_not_allowed", func(c *middleware.Config) { c.Algorithms = []string{"none"} }, `algorithm "none" is not an accepted`},
		{"empty_algorithms_rejected", func(c *middleware.Config) { c.Algorithms = []string{} }, "Config.Algorithms is empty"},
		{"huge_leeway_rejected", func(c *middleware.Config) { c.Leeway = time.Hour }, "Config.Leeway must not exceed 5m0s"},
		{"registered_claim_as_org_rejected", func(c *middleware.Config) { c.OrganizationClaim = "sub" }, `OrganizationClaim "sub" is a registered claim`},
		{"negative_token_cap_rejected", func(c *middleware.Config) { c.MaxTokenBytes = -1 }, "Config.MaxTokenBytes must be from 0"},
		// A 1 GiB cap would let any client make the validator decode a gigabyte.
		{"gigabyte_token_cap_rejected", func(c *middleware.Config) { c.MaxTokenBytes = 1 << 30 }, "Config.MaxTokenBytes must be from 0 (default) to 65536"},
		// Introspection settings without an Introspector would silently do nothing.
		{"revocation_check_needs_introspector", func(c *middleware.Config) { c.RevocationCheck = true }, "Config.RevocationCheck needs an Introspector"},
		{"introspection_ttl_needs_introspector", func(c *middleware.Config) { c.IntrospectionTTL = time.Second }, "Config.IntrospectionTTL needs an Introspector"},
		{"no_audience_needs_introspector", func(c *middleware.Config) { c.IntrospectionAllowNoAudience = true }, "Config.IntrospectionAllowNoAudience needs an Introspector"},
		{"fail_open_needs_revocation_check", func(c *middleware.Config) {
			c.Introspector = introspectorFunc(func(context.Context, string) ([]byte, error) { return nil, nil })
			c.IntrospectionFailOpen = true
		}, "IntrospectionFailOpen applies to RevocationCheck only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mod(&cfg)
			v, err := middleware.New(cfg)
			if err == nil || v != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error containing %q", v, err, tc.want)
			}
			if n := strings.Count(err.Error(), "middleware: "); n != 1 {
				t.Fatalf("one mistake gave %d errors: %v", n, err)
			}
		})
	}
	t.Run("every_mistake_reported", func(t *testing.T) {
		_, err := middleware.New(middleware.Config{Algorithms: []string{"HS256"}, MaxTokenBytes: -1})
		for _, want := range []string{"Issuers", "Audiences", "Keys", "HS256", "MaxTokenBytes"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want it to mention %s", err, want)
			}
		}
	})
	if _, err := middleware.New(ok); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
}

func TestOptions(t *testing.T) {
	t.Run("algorithms_restrict", func(t *testing.T) {
		f := newFixture(t, []string{"RS256", "EdDSA"}, func(c *middleware.Config) { c.Algorithms = []string{"EdDSA"} })
		if _, err := f.v.Validate(context.Background(), f.mint(t, authtest.Token{Alg: "RS256"})); !errors.Is(err, middleware.ErrAlgNotAllowed) {
			t.Fatalf("RS256 with EdDSA only: %v", err)
		}
		if _, err := f.v.Validate(context.Background(), f.mint(t, authtest.Token{Alg: "EdDSA"})); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("skip_organization_for_single_tenant", func(t *testing.T) {
		f := newFixture(t, []string{"ES256"}, func(c *middleware.Config) { c.SkipOrganization = true })
		c, err := f.v.Validate(context.Background(), f.mint(t, authtest.Token{Claims: map[string]any{"organizationId": nil}}))
		if err != nil || c.OrganizationID != "" {
			t.Fatalf("%v %v", c, err)
		}
	})
	t.Run("custom_organization_claim", func(t *testing.T) {
		f := newFixture(t, []string{"ES256"}, func(c *middleware.Config) { c.OrganizationClaim = "org_id" })
		c, err := f.v.Validate(context.Background(), f.mint(t, authtest.Token{Claims: map[string]any{"organizationId": nil, "org_id": "org_9"}}))
		if err != nil || c.OrganizationID != "org_9" {
			t.Fatalf("%v %v", c, err)
		}
	})
	t.Run("permissions_opt_in", func(t *testing.T) {
		tok := authtest.Token{Claims: map[string]any{"permissions": []string{"read:clients"}, "scope": "openid"}}
		f := newFixture(t, []string{"ES256"}, nil)
		c, err := f.v.Validate(context.Background(), f.mint(t, tok))
		if err != nil || c.Scopes.Has("read:clients") {
			t.Fatalf("permissions read without opt-in: %v %v", c, err)
		}
		f = newFixture(t, []string{"ES256"}, func(c *middleware.Config) { c.Permissions = true })
		c, err = f.v.Validate(context.Background(), f.mint(t, tok))
		if err != nil || !c.Scopes.HasAll("read:clients", "openid") {
			t.Fatalf("permissions with opt-in: %v %v", c, err)
		}
	})
	t.Run("custom_check_rejects", func(t *testing.T) {
		f := newFixture(t, []string{"ES256"}, func(c *middleware.Config) {
			c.Check = func(_ context.Context, c *middleware.Claims) error {
				var extra struct {
					Tier string `json:"tier"`
				}
				if err := c.Decode(&extra); err != nil {
					return err
				}
				if extra.Tier != "gold" {
					return errors.New("tier " + extra.Tier)
				}
				return nil
			}
		})
		if _, err := f.v.Validate(context.Background(), f.mint(t, authtest.Token{Claims: map[string]any{"tier": "gold"}})); err != nil {
			t.Fatal(err)
		}
		_, err := f.v.Validate(context.Background(), f.mint(t, authtest.Token{Claims: map[string]any{"tier": "free"}}))
		var e *middleware.Error
		if !errors.Is(err, middleware.ErrRejected) || !errors.As(err, &e) || e.Status != 401 || strings.Contains(e.Description, "free") {
			t.Fatalf("custom check: %v", err)
		}
	})
	t.Run("check_fills_a_nested_organization_on_every_request", func(t *testing.T) {
		f := newFixture(t, []string{"ES256"}, func(c *middleware.Config) {
			c.SkipOrganization = true
			c.Check = func(_ context.Context, c *middleware.Claims) error {
				var nested struct {
					O struct {
						ID string `json:"id"`
					} `json:"o"`
				}
				if err := c.Decode(&nested); err != nil || nested.O.ID == "" {
					return errors.New("no organization")
				}
				c.OrganizationID = nested.O.ID
				return nil
			}
		})
		tok := f.mint(t, authtest.Token{Claims: map[string]any{"organizationId": nil, "o": map[string]any{"id": "org_9"}}})
		for i := range 3 { // the first validation fills the cache, the others hit it
			c, err := f.v.Validate(context.Background(), tok)
			if err != nil || c.OrganizationID != "org_9" {
				t.Fatalf("call %d: %+v %v", i, c, err)
			}
		}
		if _, err := f.v.Validate(context.Background(), f.mint(t, authtest.Token{Claims: map[string]any{"organizationId": nil}})); !errors.Is(err, middleware.ErrRejected) {
			t.Fatalf("token without the nested organization: %v", err)
		}
	})
	t.Run("leeway_configurable", func(t *testing.T) {
		f := newFixture(t, []string{"ES256"}, func(c *middleware.Config) { c.Leeway = 5 * time.Second })
		tok := f.mint(t, authtest.Token{Claims: map[string]any{"exp": now.Add(-10 * time.Second).Unix()}})
		if _, err := f.v.Validate(context.Background(), tok); !errors.Is(err, middleware.ErrExpired) {
			t.Fatalf("10 s past exp with 5 s leeway: %v", err)
		}
	})
}

func TestAuthenticateAndContext(t *testing.T) {
	f := newFixture(t, []string{"EdDSA"}, nil)
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	r.Header.Set("Authorization", "bearer "+f.mint(t, authtest.Token{Claims: map[string]any{"sub": "alice"}}))
	c, err := f.v.Authenticate(r)
	if err != nil {
		t.Fatal(err)
	}
	ctx := middleware.NewContext(r.Context(), c)
	got, ok := middleware.FromContext(ctx)
	if !ok || got.Subject != "alice" {
		t.Fatalf("FromContext = %v, %v", got, ok)
	}
	if _, ok := middleware.FromContext(context.Background()); ok {
		t.Fatal("claims found in an empty context")
	}
	if err := middleware.RequireOrganization(c, "org_acme"); err != nil {
		t.Fatal(err)
	}
	if err := middleware.RequireOrganization(c, ""); !errors.Is(err, middleware.ErrForbidden) {
		t.Fatalf("empty org matched: %v", err)
	}
}

func TestProtectedResourceMetadata(t *testing.T) {
	u, err := middleware.MetadataURL("https://api.example.test/v1")
	if err != nil || u != "https://api.example.test/.well-known/oauth-protected-resource/v1" {
		t.Fatalf("MetadataURL = %q, %v", u, err)
	}
	h, err := middleware.ProtectedResource{Resource: "https://api.example.test", AuthorizationServers: []string{"https://as.test"},
		ScopesSupported: []string{"read:clients"}}.Handler()
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", middleware.ProtectedResourceMetadataPath, nil))
	want := `{"resource":"https://api.example.test","authorization_servers":["https://as.test"],"scopes_supported":["read:clients"],"bearer_methods_supported":["header"]}`
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != want {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if _, err := (middleware.ProtectedResource{}).Handler(); err == nil {
		t.Fatal("metadata without resource accepted")
	}
}

// TestAuthenticateChecksWhatTheFastPathLeaves: "Bearer <token>" skips the
// blank and token68 scans until the verified-token cache misses, so a
// token beside a cached one, or with a tab or a bad byte, is still 400
// invalid_request with the same description as BearerToken gives.
func TestAuthenticateChecksWhatTheFastPathLeaves(t *testing.T) {
	f := newFixture(t, []string{"ES256"}, nil)
	good := f.mint(t, authtest.Token{})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+good)
	if _, err := f.v.Authenticate(r); err != nil { // now cached
		t.Fatal(err)
	}
	for _, tc := range []struct{ value, description string }{
		{"Bearer " + good + " " + good, "the Bearer credentials carry more than one token"},
		{"Bearer " + good + "\tx", "the Bearer credentials carry more than one token"},
		{"Bearer " + good[:10] + " \t" + good[10:], "the Bearer credentials carry more than one token"},
		{"Bearer " + good + ",", "the Bearer token has characters outside token68"},
	} {
		r.Header.Set("Authorization", tc.value)
		_, err := f.v.Authenticate(r)
		var e *middleware.Error
		if !errors.As(err, &e) || !errors.Is(err, middleware.ErrInvalidRequest) || e.Description != tc.description {
			t.Errorf("%q: %v, want invalid_request %q", tc.value, err, tc.description)
		}
		_, berr := middleware.BearerToken(r.Header)
		if berr == nil || berr.Error() != err.Error() {
			t.Errorf("%q: BearerToken says %v, Authenticate %v", tc.value, berr, err)
		}
	}
}

package middleware_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/golang-jwt/jwt/v5"
)

var allAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}

// now is the fixed clock of these tests.
var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type fixture struct {
	as   *authtest.Server
	keys *jwks.Source
	v    *middleware.Validator
}

// newFixture starts a fake authorization server with a key for each alg and
// a validator reading its JWKS over HTTP.
func newFixture(t testing.TB, algs []string, mod func(*middleware.Config)) *fixture {
	t.Helper()
	as, err := authtest.Start(authtest.Options{Algs: algs, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(as.Close)
	src, err := jwks.New(jwks.Config{JWKSURL: as.JWKSURL(), Logger: quiet(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := src.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := middleware.Config{Issuers: []string{as.Issuer()}, Audiences: []string{as.Audience()}, Keys: src,
		Now: func() time.Time { return now }}
	if mod != nil {
		mod(&cfg)
	}
	v, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{as: as, keys: src, v: v}
}

func (f *fixture) mint(t testing.TB, tok authtest.Token) string {
	t.Helper()
	s, err := f.as.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestValidateEveryAlgorithm(t *testing.T) {
	f := newFixture(t, allAlgs, nil)
	for _, alg := range allAlgs {
		t.Run(alg+"_accepted", func(t *testing.T) {
			raw := f.mint(t, authtest.Token{Alg: alg, Claims: map[string]any{
				"scope": "openid read:clients", "client_id": "cli_1"}})
			c, err := f.v.Validate(context.Background(), raw)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if c.Algorithm != alg || c.Subject != authtest.DefaultSubject || c.OrganizationID != "org_acme" ||
				c.ClientID != "cli_1" || !c.Scopes.Has("read:clients") || c.Issuer != f.as.Issuer() ||
				!c.Expiry.Equal(now.Add(time.Hour)) || !c.IssuedAt.Equal(now) {
				t.Fatalf("claims = %+v", c)
			}
		})
	}
}

// reasonCase is one rejection rule: a token and the reason it must fail with.
type reasonCase struct {
	name   string
	tok    authtest.Token
	raw    func(good string) string // mangles a valid token instead
	reason error
}

func TestValidateRejections(t *testing.T) {
	f := newFixture(t, []string{"RS256", "ES256", "EdDSA"}, nil)
	cases := []reasonCase{
		{name: "exp_missing_rejected", tok: authtest.Token{Claims: map[string]any{"exp": nil}}, reason: middleware.ErrMissingClaim},
		{name: "exp_passed_rejected", tok: authtest.Token{Claims: map[string]any{"exp": now.Add(-time.Minute).Unix()}}, reason: middleware.ErrExpired},
		{name: "exp_within_leeway_accepted", tok: authtest.Token{Claims: map[string]any{"exp": now.Add(-10 * time.Second).Unix()}}},
		{name: "exp_as_string_rejected", tok: authtest.Token{Claims: map[string]any{"exp": "4102444800"}}, reason: middleware.ErrMalformed},
		{name: "exp_negative_rejected", tok: authtest.Token{Claims: map[string]any{"exp": -1}}, reason: middleware.ErrMalformed},
		{name: "exp_huge_rejected", tok: authtest.Token{Claims: map[string]any{"exp": 1e300}}, reason: middleware.ErrMalformed},
		{name: "exp_fractional_accepted", tok: authtest.Token{Claims: map[string]any{"exp": float64(now.Unix()) + 3600.5}}},
		{name: "nbf_future_rejected", tok: authtest.Token{Claims: map[string]any{"nbf": now.Add(time.Minute).Unix()}}, reason: middleware.ErrNotYetValid},
		{name: "nbf_within_leeway_accepted", tok: authtest.Token{Claims: map[string]any{"nbf": now.Add(10 * time.Second).Unix()}}},
		{name: "iat_future_rejected", tok: authtest.Token{Claims: map[string]any{"iat": now.Add(time.Hour).Unix()}}, reason: middleware.ErrNotYetValid},
		{name: "iat_missing_accepted", tok: authtest.Token{Claims: map[string]any{"iat": nil}}},
		{name: "iss_other_rejected", tok: authtest.Token{Claims: map[string]any{"iss": "https://evil.example"}}, reason: middleware.ErrWrongIssuer},
		{name: "iss_trailing_slash_rejected", tok: authtest.Token{Claims: map[string]any{"iss": f.as.Issuer() + "/"}}, reason: middleware.ErrWrongIssuer},
		{name: "iss_missing_rejected", tok: authtest.Token{Claims: map[string]any{"iss": nil}}, reason: middleware.ErrWrongIssuer},
		{name: "aud_other_rejected", tok: authtest.Token{Claims: map[string]any{"aud": "https://other.example.test"}}, reason: middleware.ErrWrongAudience},
		{name: "aud_array_containing_ours_accepted", tok: authtest.Token{Claims: map[string]any{"aud": []string{"https://x.test", authtest.DefaultAudience}}}},
		{name: "aud_missing_rejected", tok: authtest.Token{Claims: map[string]any{"aud": nil}}, reason: middleware.ErrWrongAudience},
		{name: "aud_number_rejected", tok: authtest.Token{Claims: map[string]any{"aud": 42}}, reason: middleware.ErrMalformed},
		{name: "aud_object_rejected", tok: authtest.Token{Claims: map[string]any{"aud": map[string]any{"a": authtest.DefaultAudience}}}, reason: middleware.ErrMalformed},
		{name: "org_missing_rejected", tok: authtest.Token{Claims: map[string]any{"organizationId": nil}}, reason: middleware.ErrMissingOrganization},
		{name: "org_empty_rejected", tok: authtest.Token{Claims: map[string]any{"organizationId": ""}}, reason: middleware.ErrMissingOrganization},
		{name: "org_number_rejected", tok: authtest.Token{Claims: map[string]any{"organizationId": 7}}, reason: middleware.ErrMalformed},
		{name: "org_object_rejected", tok: authtest.Token{Claims: map[string]any{"organizationId": map[string]any{"id": "org_acme"}}}, reason: middleware.ErrMalformed},
		{name: "org_case_variant_name_not_accepted", tok: authtest.Token{Claims: map[string]any{"organizationId": nil, "OrganizationId": "org_acme"}}, reason: middleware.ErrMissingOrganization},
		{name: "cnf_bound_token_rejected", tok: authtest.Token{Claims: map[string]any{"cnf": map[string]any{"jkt": "abc"}}}, reason: middleware.ErrBoundToken},
		{name: "typ_at_jwt_accepted", tok: authtest.Token{Header: map[string]any{"typ": "at+jwt"}}},
		{name: "typ_application_at_jwt_accepted", tok: authtest.Token{Header: map[string]any{"typ": "application/AT+JWT"}}},
		{name: "typ_jwt_accepted", tok: authtest.Token{Header: map[string]any{"typ": "jwt"}}},
		{name: "typ_absent_accepted", tok: authtest.Token{Header: map[string]any{"typ": nil}}},
		{name: "typ_id_token_rejected", tok: authtest.Token{Header: map[string]any{"typ": "id_token+jwt"}}, reason: middleware.ErrUnsupportedType},
		{name: "typ_dpop_rejected", tok: authtest.Token{Header: map[string]any{"typ": "dpop+jwt"}}, reason: middleware.ErrUnsupportedType},
		{name: "crit_rejected", tok: authtest.Token{Header: map[string]any{"crit": []string{"exp"}}}, reason: middleware.ErrMalformed},
		{name: "b64_false_rejected", tok: authtest.Token{Header: map[string]any{"b64": false}}, reason: middleware.ErrMalformed},
		{name: "kid_unknown_rejected", tok: authtest.Token{KID: "no-such-kid"}, reason: middleware.ErrUnknownKey},
		{name: "scope_invalid_chars_rejected", tok: authtest.Token{Claims: map[string]any{"scope": "read\"x"}}, reason: middleware.ErrMalformed},
		{name: "scp_array_accepted", tok: authtest.Token{Claims: map[string]any{"scp": []string{"read:clients"}}}},
		{name: "signature_flipped_rejected", raw: func(g string) string { return flipSig(g) }, reason: middleware.ErrBadSignature},
		{name: "payload_swapped_rejected", raw: func(g string) string {
			p := strings.Split(g, ".")
			other := strings.Split(f.mint(t, authtest.Token{Claims: map[string]any{"organizationId": "org_globex"}}), ".")
			return p[0] + "." + other[1] + "." + p[2]
		}, reason: middleware.ErrBadSignature},
		{name: "five_parts_jwe_rejected", raw: func(g string) string { return g + ".a.b" }, reason: middleware.ErrMalformed},
		{name: "empty_signature_rejected", raw: func(g string) string { return g[:strings.LastIndex(g, ".")+1] }, reason: middleware.ErrMalformed},
		{name: "padding_rejected", raw: func(g string) string { return g + "=" }, reason: middleware.ErrMalformed},
		{name: "whitespace_rejected", raw: func(g string) string { return " " + g }, reason: middleware.ErrMalformed},
		{name: "too_large_rejected", raw: func(g string) string { return g + strings.Repeat("A", middleware.DefaultMaxTokenBytes) }, reason: middleware.ErrTooLarge},
		{name: "alg_none_rejected", raw: func(g string) string { return rehead(g, `{"alg":"none","typ":"at+jwt"}`) }, reason: middleware.ErrAlgNotAllowed},
		{name: "alg_hs256_rejected", raw: func(g string) string { return rehead(g, `{"alg":"HS256"}`) }, reason: middleware.ErrAlgNotAllowed},
		{name: "header_not_json_rejected", raw: func(g string) string { return rehead(g, `not json`) }, reason: middleware.ErrMalformed},
		{name: "header_duplicate_alg_rejected", raw: func(g string) string { return rehead(g, `{"alg":"HS256","alg":"RS256"}`) }, reason: middleware.ErrMalformed},
		{name: "header_trailing_garbage_rejected", raw: func(g string) string { return rehead(g, `{"alg":"RS256"}x`) }, reason: middleware.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := f.mint(t, tc.tok)
			if tc.raw != nil {
				raw = tc.raw(raw)
			}
			c, err := f.v.Validate(context.Background(), raw)
			if tc.reason == nil {
				if err != nil {
					t.Fatalf("want accepted, got %v", err)
				}
				return
			}
			if c != nil || !errors.Is(err, tc.reason) {
				t.Fatalf("want %v, got claims=%v err=%v", tc.reason, c, err)
			}
			var e *middleware.Error
			if !errors.As(err, &e) || e.Status != 401 || e.Code != "invalid_token" || !errors.Is(err, middleware.ErrInvalidToken) {
				t.Fatalf("want 401 invalid_token *Error, got %#v", err)
			}
		})
	}
}

func TestValidateJWTSentinels(t *testing.T) {
	f := newFixture(t, []string{"ES256"}, nil)
	raw := f.mint(t, authtest.Token{Claims: map[string]any{"exp": now.Add(-time.Hour).Unix()}})
	_, err := f.v.Validate(context.Background(), raw)
	if !errors.Is(err, jwt.ErrTokenExpired) || !errors.Is(err, middleware.ErrExpired) || !errors.Is(err, middleware.ErrInvalidToken) {
		t.Fatalf("err = %v; want it to match jwt.ErrTokenExpired, ErrExpired and ErrInvalidToken", err)
	}
}

// flipSig changes one bit of the signature's first byte.
func flipSig(tok string) string {
	i := strings.LastIndex(tok, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	sig[0] ^= 1
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// rehead replaces the header of tok with header (JSON text).
func rehead(tok, header string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(header)) + tok[strings.Index(tok, "."):]
}

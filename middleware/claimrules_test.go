package middleware_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/middleware"
)

func TestClaimRules(t *testing.T) {
	p, v := providerValidator(t, nil)
	claims := func(extra map[string]any) *middleware.Claims {
		t.Helper()
		tok, err := p.Mint(authtest.Token{Claims: extra})
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Validate(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	must := func(r middleware.Rule, err error) middleware.Rule {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tier := must(middleware.ClaimEquals("tier", "gold"))
	level := must(middleware.ClaimEquals("level", 3))
	verified := must(middleware.ClaimEquals("email_verified", true))
	roles := must(middleware.ClaimIncludes("roles", "billing", "admin"))
	trusted := must(middleware.ClaimCheck("the access token's client may not call this route", func(c *middleware.Claims) bool {
		return c.ClientID == "cli_trusted"
	}))
	cases := []struct {
		name  string
		rule  middleware.Rule
		extra map[string]any
		desc  string // "" when the rule passes
	}{
		{"equals_string_accepted", tier, map[string]any{"tier": "gold"}, ""},
		{"equals_string_escaped_accepted", tier, map[string]any{"tier": "g\u006fld"}, ""},
		{"equals_other_string_forbidden", tier, map[string]any{"tier": "silver"}, "the access token's tier claim does not have the required value"},
		{"equals_missing_forbidden", tier, nil, "the access token has no tier claim"},
		{"equals_array_forbidden", tier, map[string]any{"tier": []string{"gold"}}, "the access token's tier claim does not have the required value"},
		{"equals_number_accepted", level, map[string]any{"level": 3}, ""},
		{"equals_number_as_float_accepted", level, map[string]any{"level": 3.0}, ""},
		{"equals_number_as_string_forbidden", level, map[string]any{"level": "3"}, "the access token's level claim does not have the required value"},
		{"equals_other_number_forbidden", level, map[string]any{"level": 4}, "the access token's level claim does not have the required value"},
		{"equals_bool_accepted", verified, map[string]any{"email_verified": true}, ""},
		{"equals_bool_as_string_forbidden", verified, map[string]any{"email_verified": "true"}, "the access token's email_verified claim does not have the required value"},
		{"includes_array_accepted", roles, map[string]any{"roles": []string{"admin", "billing", "support"}}, ""},
		{"includes_space_delimited_accepted", roles, map[string]any{"roles": "support billing admin"}, ""},
		{"includes_one_missing_forbidden", roles, map[string]any{"roles": []string{"billing"}}, "the access token's roles claim does not include the required values"},
		{"includes_not_strings_forbidden", roles, map[string]any{"roles": map[string]any{"billing": true, "admin": true}}, "the access token's roles claim does not include the required values"},
		{"includes_missing_forbidden", roles, nil, "the access token has no roles claim"},
		{"check_accepted", trusted, map[string]any{"client_id": "cli_trusted"}, ""},
		{"check_refused_with_its_description", trusted, map[string]any{"client_id": "cli_other"}, "the access token's client may not call this route"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.rule(claims(tc.extra))
			if tc.desc == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *middleware.Error
			if !errors.As(err, &e) || e.Status != 403 || e.Code != "forbidden" || e.Description != tc.desc ||
				!errors.Is(err, middleware.ErrForbidden) || !errors.Is(err, middleware.ErrClaimRequirement) {
				t.Fatalf("err = %#v, want 403 forbidden %q", err, tc.desc)
			}
		})
	}
	// No claims at all: 401, as every rule.
	for _, r := range []middleware.Rule{tier, roles, trusted} {
		if err := r(nil); !errors.Is(err, middleware.ErrNoCredentials) {
			t.Errorf("nil claims: %v", err)
		}
	}
	// A rule's error is a copy: changing one changes no other answer.
	c := claims(map[string]any{"tier": "silver"})
	var e *middleware.Error
	errors.As(tier(c), &e)
	e.Description = "changed"
	if errors.As(tier(c), &e); e.Description == "changed" {
		t.Fatal("the rule hands out a shared *Error")
	}
}

func TestClaimRulesConfig(t *testing.T) {
	for name, err := range map[string]error{
		"equals_empty_name":      second(middleware.ClaimEquals("", "x")),
		"equals_name_with_quote": second(middleware.ClaimEquals(`ro"le`, "x")),
		"equals_map_value":       second(middleware.ClaimEquals("x", map[string]any{})),
		"equals_nil_value":       second(middleware.ClaimEquals("x", nil)),
		"includes_no_values":     second(middleware.ClaimIncludes("roles")),
		"includes_empty_value":   second(middleware.ClaimIncludes("roles", "")),
		"includes_spaced_value":  second(middleware.ClaimIncludes("roles", "a b")),
		"check_nil_function":     second(middleware.ClaimCheck("no", nil)),
		"check_empty_desc":       second(middleware.ClaimCheck("", func(*middleware.Claims) bool { return true })),
		"check_quoted_desc":      second(middleware.ClaimCheck(`say "no"`, func(*middleware.Claims) bool { return true })),
	} {
		if err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestClaimDecode(t *testing.T) {
	p, v := providerValidator(t, nil)
	tok, _ := p.Mint(authtest.Token{Claims: map[string]any{"plan": map[string]any{"seats": 5}}})
	c, err := v.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	var plan struct{ Seats int }
	if ok, err := c.Claim("plan", &plan); !ok || err != nil || plan.Seats != 5 {
		t.Fatalf("Claim(plan) = %v, %v, %+v", ok, err, plan)
	}
	var s string
	if ok, err := c.Claim("absent", &s); ok || err != nil {
		t.Fatalf("Claim(absent) = %v, %v", ok, err)
	}
}

// Config.StrictProfile: RFC 9068's typ and required claims; MaxTokenAge.
func TestStrictProfileAndMaxAge(t *testing.T) {
	p, strict := providerValidator(t, func(c *middleware.Config) { c.StrictProfile = true })
	lax := validatorFor(t, p, nil)
	aged := validatorFor(t, p, func(c *middleware.Config) { c.MaxTokenAge = 10 * time.Minute; c.Leeway = 5 * time.Second })
	full := map[string]any{"client_id": "cli_1"}
	cases := []struct {
		name   string
		v      *middleware.Validator
		header map[string]any
		claims map[string]any
		want   string // the description; "" when accepted
	}{
		{"strict_at_jwt_accepted", strict, nil, full, ""},
		{"strict_application_at_jwt_accepted", strict, map[string]any{"typ": "application/at+jwt"}, full, ""},
		{"strict_typ_jwt_invalid_token", strict, map[string]any{"typ": "JWT"}, full, "the access token is not an RFC 9068 access token (typ at+jwt)"},
		{"strict_no_typ_invalid_token", strict, map[string]any{"typ": nil}, full, "the access token is not an RFC 9068 access token (typ at+jwt)"},
		{"strict_no_iat_invalid_token", strict, nil, map[string]any{"client_id": "cli_1", "iat": nil}, "the access token has no iat claim"},
		{"strict_no_jti_invalid_token", strict, nil, map[string]any{"client_id": "cli_1", "jti": nil}, "the access token has no jti claim"},
		{"strict_no_client_id_invalid_token", strict, nil, nil, "the access token has no client_id claim"},
		{"strict_azp_is_not_client_id", strict, nil, map[string]any{"azp": "cli_1"}, "the access token has no client_id claim"},
		{"strict_no_sub_invalid_token", strict, nil, map[string]any{"client_id": "cli_1", "sub": nil}, "the access token has no sub claim"},
		{"lax_typ_jwt_without_client_id_accepted", lax, map[string]any{"typ": "JWT"}, map[string]any{"jti": nil, "iat": nil}, ""},
		{"max_age_fresh_accepted", aged, nil, map[string]any{"iat": now.Add(-9 * time.Minute).Unix()}, ""},
		{"max_age_within_leeway_accepted", aged, nil, map[string]any{"iat": now.Add(-10*time.Minute - 4*time.Second).Unix()}, ""},
		{"max_age_too_old_invalid_token", aged, nil, map[string]any{"iat": now.Add(-11 * time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}, "the access token is older than this resource accepts"},
		{"max_age_needs_iat", aged, nil, map[string]any{"iat": nil}, "the access token has no iat claim"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := p.Mint(authtest.Token{Header: tc.header, Claims: tc.claims})
			if err != nil {
				t.Fatal(err)
			}
			_, err = tc.v.Validate(context.Background(), tok)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *middleware.Error
			if !errors.As(err, &e) || e.Status != 401 || e.Code != "invalid_token" || e.Description != tc.want {
				t.Fatalf("err = %v, want 401 %q", err, tc.want)
			}
		})
	}
	// A token that passed grows too old while cached: refused then.
	clock := authtest.Clock{}
	clock.Set(now)
	v := validatorFor(t, p, func(c *middleware.Config) { c.MaxTokenAge = time.Minute; c.Now = clock.Now })
	tok, _ := p.Mint(authtest.Token{})
	if _, err := v.Validate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	if _, err := v.Validate(context.Background(), tok); !errors.Is(err, middleware.ErrTooOld) {
		t.Fatalf("cached token past MaxTokenAge: %v", err)
	}
	if _, err := middleware.New(middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{"a"}, Keys: p.KeySet(), MaxTokenAge: -1}); err == nil ||
		!strings.Contains(err.Error(), "MaxTokenAge") {
		t.Fatalf("negative MaxTokenAge: %v", err)
	}
}

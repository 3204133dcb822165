package demo

import (
	"errors"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	cases := []struct {
		name   string
		args   []string
		getenv func(string) string
		want   Config
		err    string // substring of the error; "" for none
	}{
		{"dev_defaults", nil, env(), Config{Addr: "127.0.0.1:8080", Audience: "https://api.example.test", Leeway: 30 * time.Second}, ""},
		{"env_read", nil, env("ADDR", ":9", "ISSUER", "https://as.example", "AUDIENCE", "https://api.example"),
			Config{Addr: ":9", Issuers: []string{"https://as.example"}, Audience: "https://api.example", Leeway: 30 * time.Second}, ""},
		// A flag wins over its variable.
		{"flag_wins_over_env", []string{"-addr", "127.0.0.1:0", "-audience", "a"}, env("ADDR", ":9", "AUDIENCE", "b"),
			Config{Addr: "127.0.0.1:0", Audience: "a", Leeway: 30 * time.Second}, ""},
		{"jwks_url_with_issuer", []string{"-issuer", "https://as.example/api/auth", "-jwks-url", "https://as.example/api/auth/jwks?v=1", "-audience", "a"}, env(),
			Config{Addr: "127.0.0.1:8080", Issuers: []string{"https://as.example/api/auth"}, JWKSURL: "https://as.example/api/auth/jwks?v=1", Audience: "a", Leeway: 30 * time.Second}, ""},
		{"loopback_http_allowed", []string{"-issuer", "http://localhost:3000/api/auth", "-audience", "a"}, env(),
			Config{Addr: "127.0.0.1:8080", Issuers: []string{"http://localhost:3000/api/auth"}, Audience: "a", Leeway: 30 * time.Second}, ""},
		{"leeway_from_env", nil, env("LEEWAY", "5s"),
			Config{Addr: "127.0.0.1:8080", Audience: "https://api.example.test", Leeway: 5 * time.Second}, ""},
		{"leeway_flag_wins_over_env", []string{"-leeway", "1m"}, env("LEEWAY", "5s"),
			Config{Addr: "127.0.0.1:8080", Audience: "https://api.example.test", Leeway: time.Minute}, ""},
		// Outside 5 s to 60 s: no real skew check, or expired tokens honoured for long.
		{"leeway_below_range", []string{"-leeway", "4s"}, env(), Config{}, "outside 5s to 60s"},
		{"leeway_above_range", []string{"-leeway", "61s"}, env(), Config{}, "outside 5s to 60s"},
		{"leeway_zero", nil, env("LEEWAY", "0s"), Config{}, "outside 5s to 60s"},
		{"leeway_without_unit", []string{"-leeway", "10"}, env(), Config{}, "not a duration"},
		// iss could not be checked against anything.
		{"jwks_url_needs_issuer", []string{"-jwks-url", "https://as.example/jwks"}, env(), Config{}, "needs -issuer"},
		{"audience_required", []string{"-issuer", "https://as.example"}, env(), Config{}, "-audience is required"},
		{"http_issuer_refused", []string{"-issuer", "http://as.example", "-audience", "a"}, env(), Config{}, "use https"},
		{"issuer_with_query_refused", []string{"-issuer", "https://as.example/?x=1", "-audience", "a"}, env(), Config{}, "query"},
		{"issuer_not_url", []string{"-issuer", "as.example", "-audience", "a"}, env(), Config{}, "not an absolute"},
		// Several issuers, each with its own keys.
		{"several_issuers", []string{"-issuer", "https://a.example, https://b.example/realms/x", "-audience", "a"}, env(),
			Config{Addr: "127.0.0.1:8080", Issuers: []string{"https://a.example", "https://b.example/realms/x"}, Audience: "a", Leeway: 30 * time.Second}, ""},
		{"several_issuers_from_env", nil, env("ISSUER", "https://a.example,https://b.example", "AUDIENCE", "a"),
			Config{Addr: "127.0.0.1:8080", Issuers: []string{"https://a.example", "https://b.example"}, Audience: "a", Leeway: 30 * time.Second}, ""},
		{"jwks_url_allows_one_issuer", []string{"-issuer", "https://a.example,https://b.example", "-jwks-url", "https://a.example/jwks", "-audience", "a"}, env(),
			Config{}, "-jwks-url allows one -issuer, not 2"},
		{"introspection_url_allows_one_issuer", []string{"-issuer", "https://a.example,https://b.example", "-audience", "a", "-introspection-client-id", "api",
			"-introspection-url", "https://a.example/i"}, env("INTROSPECTION_CLIENT_SECRET", "s"), Config{}, "-introspection-url allows one -issuer"},
		{"issuer_listed_twice", []string{"-issuer", "https://a.example,https://a.example", "-audience", "a"}, env(), Config{}, "twice"},
		{"issuer_list_with_empty_item", []string{"-issuer", "https://a.example,", "-audience", "a"}, env(), Config{}, "empty issuer"},
		{"second_issuer_http_refused", []string{"-issuer", "https://a.example,http://b.example", "-audience", "a"}, env(), Config{}, "use https"},
		{"audience_with_quote_refused", []string{"-audience", `a"b`}, env(), Config{}, "quotes"},
		{"stray_argument", []string{"x"}, env(), Config{}, "unexpected arguments"},
		// Introspection: the secret only from the environment.
		{"introspection_configured", []string{"-issuer", "https://as.example", "-audience", "a", "-introspection-client-id", "api",
			"-introspection-auth", "post", "-introspection-allow-no-audience", "-revocation-check", "0s"}, env("INTROSPECTION_CLIENT_SECRET", "s"),
			Config{Addr: "127.0.0.1:8080", Issuers: []string{"https://as.example"}, Audience: "a", Leeway: 30 * time.Second,
				IntrospectionClientID: "api", IntrospectionClientSecret: "s", IntrospectionAuth: "post",
				IntrospectionAllowNoAudience: true, RevocationCheck: true}, ""},
		{"introspection_from_env", nil, env("ISSUER", "https://as.example", "AUDIENCE", "a", "INTROSPECTION_CLIENT_ID", "api",
			"INTROSPECTION_CLIENT_SECRET", "s", "INTROSPECTION_URL", "https://as.example/introspect", "REVOCATION_CHECK", "5s",
			"INTROSPECTION_ALLOW_NO_AUDIENCE", "true"),
			Config{Addr: "127.0.0.1:8080", Issuers: []string{"https://as.example"}, Audience: "a", Leeway: 30 * time.Second,
				IntrospectionClientID: "api", IntrospectionClientSecret: "s", IntrospectionURL: "https://as.example/introspect",
				IntrospectionAllowNoAudience: true, RevocationCheck: true, RevocationTTL: 5 * time.Second}, ""},
		{"introspection_secret_required", []string{"-issuer", "https://as.example", "-audience", "a", "-introspection-client-id", "api"}, env(),
			Config{}, "INTROSPECTION_CLIENT_SECRET"},
		{"introspection_secret_alone_ignored", []string{"-issuer", "https://as.example", "-audience", "a"}, env("INTROSPECTION_CLIENT_SECRET", "s"),
			Config{Addr: "127.0.0.1:8080", Issuers: []string{"https://as.example"}, Audience: "a", Leeway: 30 * time.Second}, ""},
		{"introspection_auth_unknown", []string{"-introspection-auth", "jwt"}, env(), Config{}, "neither basic nor post"},
		{"revocation_check_bad_ttl", []string{"-revocation-check", "soon"}, env(), Config{}, "neither off nor a duration"},
		{"revocation_check_negative_ttl", []string{"-revocation-check", "-1s"}, env(), Config{}, "neither off nor a duration"},
		{"revocation_check_needs_client", []string{"-issuer", "https://as.example", "-audience", "a", "-revocation-check", "5s"}, env(),
			Config{}, "need -introspection-client-id"},
		{"introspection_url_needs_client", []string{"-issuer", "https://as.example", "-audience", "a", "-introspection-url", "https://as.example/i"}, env(),
			Config{}, "need -introspection-client-id"},
		{"introspection_url_http_refused", []string{"-issuer", "https://as.example", "-audience", "a", "-introspection-client-id", "api",
			"-introspection-url", "http://as.example/i"}, env("INTROSPECTION_CLIENT_SECRET", "s"), Config{}, "https"},
		{"dpop_required_and_external_url", []string{"-dpop", "required", "-external-url", "https://api.example.com"}, env(),
			Config{Addr: "127.0.0.1:8080", Audience: "https://api.example.test", Leeway: 30 * time.Second, DPoP: "required",
				ExternalURL: "https://api.example.com"}, ""},
		{"dpop_from_env", nil, env("DPOP", "disabled", "EXTERNAL_URL", "http://localhost:8080"),
			Config{Addr: "127.0.0.1:8080", Audience: "https://api.example.test", Leeway: 30 * time.Second, DPoP: "disabled",
				ExternalURL: "http://localhost:8080"}, ""},
		{"dpop_unknown_mode", []string{"-dpop", "on"}, env(), Config{}, "none of disabled, allowed, required"},
		{"external_url_http_refused", []string{"-external-url", "http://api.example.com"}, env(), Config{}, "https"},
		{"external_url_with_query_refused", []string{"-external-url", "https://api.example.com/?x=1"}, env(), Config{}, "query"},
		{"allow_no_audience_not_boolean", []string{"-introspection-allow-no-audience=maybe"}, env(), Config{}, "invalid boolean"},
		{"unknown_flag", []string{"-x"}, env(), Config{}, "not defined"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseConfig(c.args, c.getenv, io.Discard)
			if c.err == "" && c.want.IntrospectionAuth == "" {
				c.want.IntrospectionAuth = "basic" // the default
			}
			if c.err == "" && c.want.DPoP == "" {
				c.want.DPoP = "allowed" // the default
			}
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("error %v, want one containing %q", err, c.err)
			case !reflect.DeepEqual(got, c.want):
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
	if _, err := ParseConfig([]string{"-h"}, env(), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

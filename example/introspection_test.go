package example_test

import (
	"strings"
	"testing"

	"github.com/clientcasa/oauthguard/authtest"
)

// TestIntrospectionContract checks the introspection flags of both programs
// against a fake authorization server over HTTP: opaque tokens through
// -introspection-client-id (secret from INTROSPECTION_CLIENT_SECRET only,
// never printed), -revocation-check, -introspection-auth,
// -introspection-allow-no-audience, -introspection-url, and the 503 while
// the endpoint is down.
func TestIntrospectionContract(t *testing.T) {
	const secret = "introspection-secret-never-printed"
	forEachBinary(t, func(t *testing.T, bin string) {
		as := authServer(t, authtest.Options{IssuerPath: "/api/auth", Audience: audience,
			Client: authtest.Client{ID: "api-server", Secret: secret, Method: "client_secret_basic"}})
		base := []string{"-addr", "127.0.0.1:0", "-issuer", as.Issuer(), "-audience", audience}
		me := func(p *proc, tok string) response {
			return do(t, request{path: p.URL + "/api/v1/me", auth: bearer(tok)})
		}
		opaque := func(claims map[string]any) string {
			tok, err := as.MintOpaque(authtest.Token{Scopes: []string{"read:clients"}, Claims: claims})
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}

		t.Run("without_client_id_opaque_tokens_refused", func(t *testing.T) {
			p := start(t, bin, nil, base...)
			p.waitReady(t)
			if r := me(p, opaque(nil)); r.status != 401 || as.IntrospectionCalls() != 0 {
				t.Fatalf("status %d after %d introspection calls; want 401 and none", r.status, as.IntrospectionCalls())
			}
		})
		t.Run("opaque_token_accepted_then_revoked", func(t *testing.T) {
			p := start(t, bin, []string{"INTROSPECTION_CLIENT_SECRET=" + secret},
				append(base, "-introspection-client-id", "api-server", "-revocation-check", "0s")...)
			p.waitReady(t)
			tok := opaque(nil)
			r := me(p, tok)
			if m := jsonOf(t, r); r.status != 200 || m["organizationId"] != "org_acme" {
				t.Fatalf("opaque token: %d %s", r.status, r.body)
			}
			if r := do(t, request{path: p.URL + "/api/v1/clients", auth: bearer(tok)}); r.status != 200 {
				t.Fatalf("scope from introspection: %d %s", r.status, r.body)
			}
			as.Revoke(tok)
			if r := me(p, tok); r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), "no longer active") {
				t.Fatalf("revoked opaque token, next request: %d %q", r.status, r.header.Get("WWW-Authenticate"))
			}
			// A JWT, confirmed on every request (0s), including cache hits.
			jwt := mint(t, as.Provider, authtest.Token{})
			for range 2 {
				if r := me(p, jwt); r.status != 200 {
					t.Fatalf("JWT: %d %s", r.status, r.body)
				}
			}
			as.Revoke(jwt)
			if r := me(p, jwt); r.status != 401 {
				t.Fatalf("revoked JWT, next request: %d %s", r.status, r.body)
			}
			if out := p.out.String(); strings.Contains(out, secret) {
				t.Fatalf("the secret was printed:\n%s", out)
			}
		})
		t.Run("no_audience_refused_unless_allowed", func(t *testing.T) {
			noAud := opaque(map[string]any{"aud": nil})
			strict := start(t, bin, []string{"INTROSPECTION_CLIENT_SECRET=" + secret}, append(base, "-introspection-client-id", "api-server")...)
			strict.waitReady(t)
			if r := me(strict, noAud); r.status != 401 {
				t.Fatalf("no aud: %d %s", r.status, r.body)
			}
			lax := start(t, bin, []string{"INTROSPECTION_CLIENT_SECRET=" + secret, "INTROSPECTION_ALLOW_NO_AUDIENCE=true"},
				append(base, "-introspection-client-id", "api-server")...)
			lax.waitReady(t)
			if r := me(lax, noAud); r.status != 200 {
				t.Fatalf("no aud, allowed: %d %s", r.status, r.body)
			}
		})
		t.Run("wrong_auth_method_is_503", func(t *testing.T) {
			// The client is registered for basic; post is refused by the
			// provider, so no token can be checked.
			p := start(t, bin, []string{"INTROSPECTION_CLIENT_SECRET=" + secret},
				append(base, "-introspection-client-id", "api-server", "-introspection-auth", "post")...)
			p.waitReady(t)
			r := me(p, opaque(nil))
			if r.status != 503 || r.header.Get("Retry-After") == "" || strings.Contains(string(r.body), secret) {
				t.Fatalf("status %d, Retry-After %q, body %s", r.status, r.header.Get("Retry-After"), r.body)
			}
		})
		t.Run("explicit_url_and_endpoint_down", func(t *testing.T) {
			p := start(t, bin, []string{"INTROSPECTION_CLIENT_SECRET=" + secret, "INTROSPECTION_URL=" + as.IntrospectionURL()},
				append(base, "-introspection-client-id", "api-server", "-revocation-check", "0s")...)
			p.waitReady(t)
			jwt := mint(t, as.Provider, authtest.Token{})
			as.SetIntrospectionFault(authtest.Fault500)
			defer as.SetIntrospectionFault(authtest.FaultNone)
			for _, tok := range []string{opaque(nil), jwt} {
				if r := me(p, tok); r.status != 503 || r.header.Get("Retry-After") == "" {
					t.Fatalf("introspection down: %d %s", r.status, r.body)
				}
			}
		})
	})
}

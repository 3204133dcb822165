//go:build unix

package example_test

import (
	"strings"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/internal/authservers"
)

// introspectionProc starts bin against s.as with token introspection as
// client c and -revocation-check ttl, plus extra arguments.
func (s *realSetup) introspectionProc(t *testing.T, bin string, c authservers.Client, ttl string, extra ...string) *proc {
	t.Helper()
	auth := "basic"
	if c.AuthMethod == "client_secret_post" {
		auth = "post"
	}
	args := append([]string{"-issuer", s.as.Issuer, "-audience", s.as.Audience, "-introspection-client-id", c.ID,
		"-introspection-auth", auth, "-revocation-check", ttl}, extra...)
	p := start(t, bin, []string{"ADDR=127.0.0.1:0", "LEEWAY=" + realLeeway.String(), "INTROSPECTION_CLIENT_SECRET=" + c.Secret}, args...)
	p.waitReady(t)
	return p
}

// revokedSoon demands that GET /api/v1/me with tok turns 401 "no longer
// active" within bound, and returns how long it took.
func revokedSoon(t *testing.T, p *proc, tok string, bound time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r := do(t, request{path: p.URL + "/api/v1/me", auth: bearer(tok)})
		if r.status == 401 {
			refused(t, p, tok, "no longer active")
			return time.Since(start)
		}
		if r.status != 200 || time.Since(start) > bound {
			t.Fatalf("status %d after %v, want 401 within %v: %s", r.status, time.Since(start).Round(time.Millisecond), bound, r.body)
		}
		time.Sleep(50 * time.Millisecond) // a real server on a real clock: poll, bounded
	}
}

// introspection: opaque tokens through RFC 7662 and revocation that takes
// effect on the next request, against the real server, for both programs.
func (s *realSetup) introspection(t *testing.T) {
	c := s.as.Clients
	switch s.kind {
	case authservers.OIDCProvider:
		// oidc-provider introspects and revokes opaque tokens only (it
		// answers unsupported_token_type for JWTs); any confidential client
		// may introspect any token.
		for _, bin := range binaries {
			t.Run(bin+"/opaque_token_then_revoked", func(t *testing.T) {
				t.Parallel()
				p := s.introspectionProc(t, bin, c.API, "0s")
				tok := ccToken(t, s.as, c.Full, authservers.OpaqueResource, authservers.ScopeRead)
				if len(tok) < 20 || isJWTShape(tok) {
					t.Fatalf("not an opaque token: %.20q", tok)
				}
				// Its answer has no sub for a client-credentials token.
				checkMe(t, p, tok, "", c.Full.Organization, authservers.ScopeRead)
				if r := do(t, request{path: p.URL + "/api/v1/clients", auth: bearer(tok)}); r.status != 200 {
					t.Fatalf("GET /api/v1/clients: %d %s", r.status, r.body)
				}
				if err := s.as.Revoke(t.Context(), tok, "access_token", c.Full); err != nil {
					t.Fatal(err)
				}
				refused(t, p, tok, "no longer active") // the very next request
			})
		}
	case authservers.BetterAuth:
		users := map[string]authservers.User{binaries[0]: s.as.Users[0], binaries[1]: s.as.Users[1]}
		for _, bin := range binaries {
			t.Run(bin, func(t *testing.T) {
				t.Parallel()
				// Without resource Better Auth issues an opaque token that has
				// no aud and that only the client that obtained it may
				// introspect.
				t.Run("opaque_token_then_revoked", func(t *testing.T) {
					p := s.introspectionProc(t, bin, c.Full, "0s", "-introspection-allow-no-audience")
					tok := ccToken(t, s.as, c.Full, "", authservers.ScopeRead)
					if isJWTShape(tok) {
						t.Fatalf("Better Auth issued a JWT without resource: %.20q", tok)
					}
					checkMe(t, p, tok, "", c.Full.Organization, authservers.ScopeRead)
					if r := do(t, request{method: "POST", path: p.URL + "/api/v1/invoices", auth: bearer(tok),
						body: `{"clientId":"cli_acme_1","amount":1}`}); r.status != 403 {
						t.Fatalf("write without write:invoices: %d %s", r.status, r.body)
					}
					if err := s.as.Revoke(t.Context(), tok, "access_token", c.Full); err != nil {
						t.Fatal(err)
					}
					refused(t, p, tok, "no longer active")
				})
				t.Run("opaque_token_without_audience_refused_by_default", func(t *testing.T) {
					p := s.introspectionProc(t, bin, c.Full, "0s")
					refused(t, p, ccToken(t, s.as, c.Full, "", authservers.ScopeRead), "not meant for this resource")
				})
				// A user's JWT carries sid: once the session ends (sign-out
				// everywhere, an administrator's revocation) introspection says
				// inactive. The API introspects as its own client, linked to
				// the resource.
				t.Run("jwt_of_ended_session", func(t *testing.T) {
					p := s.introspectionProc(t, bin, c.API, "0s")
					u := users[bin]
					tr, err := s.as.AuthCodePKCE(t.Context(), u.Login, authservers.ScopeRead, s.as.Audience)
					if err != nil {
						t.Fatal(err)
					}
					_, claims := parseJWT(t, tr.AccessToken)
					if claims["sid"] == nil {
						t.Fatalf("user JWT without sid: %v", claims)
					}
					for range 2 { // the second one is a verified-token cache hit
						if r := do(t, request{path: p.URL + "/api/v1/me", auth: bearer(tr.AccessToken)}); r.status != 200 {
							t.Fatalf("before sign-out: %d %s", r.status, r.body)
						}
					}
					if err := s.as.EndSessions(t.Context(), u.Email); err != nil {
						t.Fatal(err)
					}
					refused(t, p, tr.AccessToken, "no longer active")
					// A refresh token is not an access token: with
					// token_type_hint=access_token Better Auth says inactive.
					if tr.RefreshToken != "" {
						refused(t, p, tr.RefreshToken, "no longer active", "malformed")
					}
				})
			})
		}
		// Disabling a client: every program, immediately with 0s, within the
		// TTL with 2s. One client for all, so not in parallel.
		t.Run("disabled_client", func(t *testing.T) {
			now := map[string]*proc{}
			ttl := map[string]*proc{}
			for _, bin := range binaries {
				now[bin] = s.introspectionProc(t, bin, c.API, "0s")
				ttl[bin] = s.introspectionProc(t, bin, c.API, "2s")
			}
			tok := ccToken(t, s.as, c.Disposable, s.as.Audience, authservers.ScopeRead)
			for _, bin := range binaries {
				checkMe(t, now[bin], tok, c.Disposable.ID, c.Disposable.Organization, authservers.ScopeRead)
				checkMe(t, ttl[bin], tok, c.Disposable.ID, c.Disposable.Organization, authservers.ScopeRead)
			}
			if err := s.as.SetClientDisabled(t.Context(), c.Disposable.ID, true); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.as.SetClientDisabled(t.Context(), c.Disposable.ID, false) })
			for _, bin := range binaries {
				refused(t, now[bin], tok, "no longer active")
				took := revokedSoon(t, ttl[bin], tok, 2*time.Second+time.Second)
				t.Logf("%s with -revocation-check 2s: 401 %v after the client was disabled", bin, took.Round(time.Millisecond))
			}
		})
	}
}

// isJWTShape reports whether tok looks like a compact JWS.
func isJWTShape(tok string) bool {
	var h map[string]any
	parts := strings.Split(tok, ".")
	return len(parts) == 3 && decodeSegment(parts[0], &h) == nil
}

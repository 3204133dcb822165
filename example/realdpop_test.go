//go:build unix

package example_test

import (
	"strings"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/internal/authservers"
)

// dpop: DPoP-bound tokens of the real server (client credentials, and the
// authorization code flow with PKCE) with fresh proofs for each call, and
// every forged, replayed or mismatched proof refused.
func (s *realSetup) dpop(t *testing.T, p *proc) {
	full := s.as.Clients.Full
	key, err := authtest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := s.as.DPoPClientCredentials(t.Context(), key, full.ID, full.Secret, audience, full.Scope)
	if err != nil {
		t.Fatal(err)
	}
	me := p.URL + "/api/v1/me"
	call := func(url, tok string, proof string) response {
		t.Helper()
		return doDPoP(t, url, "DPoP "+tok, []string{proof})
	}
	mk := func(k *authtest.DPoPKey, pr authtest.DPoPProof) string {
		t.Helper()
		if pr.Method == "" {
			pr.Method = "GET"
		}
		if pr.URL == "" {
			pr.URL = me
		}
		if pr.AccessToken == "" {
			pr.AccessToken = tr.AccessToken
		}
		proof, err := k.ProofWith(pr)
		if err != nil {
			t.Fatal(err)
		}
		return proof
	}
	first := mk(key, authtest.DPoPProof{})
	if r := call(me, tr.AccessToken, first); r.status != 200 {
		t.Fatalf("DPoP token with a fresh proof: %d %s", r.status, r.body)
	}
	for range 2 { // fresh proofs again, the token now from the cache
		if r := call(me, tr.AccessToken, mk(key, authtest.DPoPProof{})); r.status != 200 {
			t.Fatalf("another fresh proof: %d %s", r.status, r.body)
		}
	}
	other, _ := authtest.NewDPoPKey("EdDSA")
	otherTok := ccToken(t, s.as, full, audience, full.Scope)
	for _, c := range []struct {
		name, proof, reason string
	}{
		{"replayed_proof", first, "replay"},
		{"proof_for_another_url", mk(key, authtest.DPoPProof{URL: p.URL + "/api/v1/clients"}), "htu"},
		{"proof_for_another_method", mk(key, authtest.DPoPProof{Method: "POST"}), "htm"},
		{"proof_with_wrong_ath", mk(key, authtest.DPoPProof{AccessToken: otherTok}), "ath"},
		{"proof_of_another_key", mk(other, authtest.DPoPProof{}), "not the one"},
		{"proof_too_old", mk(key, authtest.DPoPProof{IssuedAt: time.Now().Add(-2 * time.Minute)}), "too old"},
		{"proof_from_the_future", mk(key, authtest.DPoPProof{IssuedAt: time.Now().Add(time.Minute)}), "future"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := call(me, tr.AccessToken, c.proof)
			if ch := r.header.Get("WWW-Authenticate"); r.status != 401 || !strings.HasPrefix(ch, `DPoP algs="`) ||
				!strings.Contains(ch, `error="invalid_dpop_proof"`) || !strings.Contains(ch, c.reason) {
				t.Fatalf("status %d, WWW-Authenticate %q; want invalid_dpop_proof about %q", r.status, ch, c.reason)
			}
		})
	}
	t.Run("auth_code_pkce_dpop", func(t *testing.T) {
		k, _ := authtest.NewDPoPKey("ES256")
		ac, err := s.as.AuthCodePKCEDPoP(t.Context(), k, s.as.Users[0].Login, "read:clients", audience)
		if err != nil {
			t.Fatal(err)
		}
		_, claims := parseJWT(t, ac.AccessToken)
		if cnf, _ := claims["cnf"].(map[string]any); cnf["jkt"] != k.Thumbprint() {
			t.Fatalf("auth code token not bound to the key: cnf %v", claims["cnf"])
		}
		pr, _ := k.Proof("GET", me, ac.AccessToken)
		if r := call(me, ac.AccessToken, pr); r.status != 200 {
			t.Fatalf("auth code DPoP token: %d %s", r.status, r.body)
		}
	})
}

// dpopOpaque: an opaque DPoP-bound token, checked by introspection, whose
// answer carries cnf.jkt: the same proof checks apply. oidc-provider issues
// it for the opaque resource, and any client may introspect it; Better Auth
// without resource, and only its own client may (and it has no aud).
func (s *realSetup) dpopOpaque(t *testing.T) {
	full := s.as.Clients.Full
	introspector, resource, extra := s.as.Clients.API, authservers.OpaqueResource, []string(nil)
	if s.kind == authservers.BetterAuth {
		introspector, resource, extra = full, "", []string{"-introspection-allow-no-audience"}
	}
	for _, bin := range binaries {
		t.Run(bin, func(t *testing.T) {
			t.Parallel()
			p := s.introspectionProc(t, bin, introspector, "0s", extra...)
			key, _ := authtest.NewDPoPKey("ES256")
			tr, err := s.as.DPoPClientCredentials(t.Context(), key, full.ID, full.Secret, resource, authservers.ScopeRead)
			if err != nil {
				t.Fatal(err)
			}
			if isJWTShape(tr.AccessToken) || !strings.EqualFold(tr.TokenType, "DPoP") {
				t.Fatalf("not an opaque DPoP token: %q %.20q", tr.TokenType, tr.AccessToken)
			}
			me := p.URL + "/api/v1/me"
			pr, _ := key.Proof("GET", me, tr.AccessToken)
			if r := doDPoP(t, me, "DPoP "+tr.AccessToken, []string{pr}); r.status != 200 {
				t.Fatalf("opaque DPoP token with proof: %d %s", r.status, r.body)
			}
			refused(t, p, tr.AccessToken, "DPoP-bound")
			other, _ := authtest.NewDPoPKey("ES256")
			pr, _ = other.Proof("GET", me, tr.AccessToken)
			if r := doDPoP(t, me, "DPoP "+tr.AccessToken, []string{pr}); r.status != 401 {
				t.Fatalf("opaque DPoP token, another key's proof: %d %s", r.status, r.body)
			}
		})
	}
}

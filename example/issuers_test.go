package example_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/clientcasa/oauthguard/authtest"
)

// TestSeveralIssuers runs both programs with -issuer A,B: two authorization
// servers whose JWKS publish the same kid for different keys. Each issuer's
// tokens pass with its own keys only, a token claiming one issuer signed by
// the other's key is 401, an issuer not listed costs no request, and
// /readyz and the RFC 9728 metadata name both.
func TestSeveralIssuers(t *testing.T) {
	a := authServer(t, authtest.Options{Audience: audience, Algs: []string{"EdDSA"}})
	b := authServer(t, authtest.Options{Audience: audience, Algs: []string{"EdDSA"}})
	other := authServer(t, authtest.Options{Audience: audience, Algs: []string{"EdDSA"}})
	kid := a.KIDs("EdDSA")[0]
	// B also publishes its key under A's kid.
	doc, err := b.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	set.Keys[0]["kid"] = kid
	raw, _ := json.Marshal(set.Keys[0])
	b.PublishRaw(raw)

	tokA := mint(t, a.Provider, authtest.Token{KID: kid})
	tokB := mint(t, b.Provider, authtest.Token{KID: kid})
	claimsB := mint(t, a.Provider, authtest.Token{KID: kid, Claims: map[string]any{"iss": b.Issuer()}})
	claimsA := mint(t, b.Provider, authtest.Token{KID: kid, Claims: map[string]any{"iss": a.Issuer()}})
	unlisted := mint(t, other.Provider, authtest.Token{})
	forEachBinary(t, func(t *testing.T, bin string) {
		p := start(t, bin, nil, "-addr", "127.0.0.1:0", "-issuer", a.Issuer()+","+b.Issuer(), "-audience", audience)
		p.waitReady(t)
		for _, tc := range []struct {
			name, tok string
			status    int
		}{
			{"issuer_a_token_200", tokA, 200},
			{"issuer_b_token_200", tokB, 200},
			{"claims_b_signed_by_a_401", claimsB, 401},
			{"claims_a_signed_by_b_401", claimsA, 401},
			{"unlisted_issuer_401", unlisted, 401},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := do(t, request{path: p.URL + "/api/v1/me", auth: bearer(tc.tok)})
				if r.status != tc.status {
					t.Fatalf("status %d, want %d; body %s", r.status, tc.status, r.body)
				}
				if tc.status == 401 {
					row{request: request{auth: bearer(tc.tok)}, status: 401, code: "invalid_token"}.check(t, p.URL, r)
				}
			})
		}
		if n := other.JWKSFetches(); n != 0 {
			t.Errorf("the unlisted issuer's JWKS was fetched %d times", n)
		}
		ready := jsonOf(t, do(t, request{path: p.URL + "/readyz"}))
		each, _ := ready["issuers"].(map[string]any)
		for _, iss := range []string{a.Issuer(), b.Issuer()} {
			if st, _ := each[iss].(map[string]any); st["ready"] != true {
				t.Errorf("/readyz %v: issuer %s not reported ready", ready, iss)
			}
		}
		md := jsonOf(t, do(t, request{path: p.URL + "/.well-known/oauth-protected-resource"}))
		if got, _ := json.Marshal(md["authorization_servers"]); string(got) != `["`+a.Issuer()+`","`+b.Issuer()+`"]` {
			t.Errorf("authorization_servers %s, want both issuers", got)
		}
	})
}

// TestSeveralIssuersOneDown: /readyz is 503 and names the issuer whose keys
// are missing, while the other issuer's tokens keep working.
func TestSeveralIssuersOneDown(t *testing.T) {
	a := authServer(t, authtest.Options{Audience: audience})
	down := authServer(t, authtest.Options{Audience: audience})
	down.SetFault(authtest.Fault500)
	tokA := mint(t, a.Provider, authtest.Token{})
	forEachBinary(t, func(t *testing.T, bin string) {
		p := start(t, bin, nil, "-addr", "127.0.0.1:0", "-issuer", a.Issuer()+","+down.Issuer(), "-audience", audience)
		if r := do(t, request{path: p.URL + "/api/v1/me", auth: bearer(tokA)}); r.status != 200 {
			t.Errorf("issuer A's token: status %d, body %s", r.status, r.body)
		}
		r := do(t, request{path: p.URL + "/readyz"})
		if body := jsonOf(t, r); r.status != 503 || !strings.Contains(body["error_description"].(string), down.Issuer()) ||
			strings.Contains(body["error_description"].(string), a.Issuer()+" ") {
			t.Errorf("/readyz %d %s, want 503 naming %s only", r.status, r.body, down.Issuer())
		}
	})
}

// TestSeveralIssuersWithJWKSURL: one JWKS URL for several issuers is refused
// at start, and the message says why.
func TestSeveralIssuersWithJWKSURL(t *testing.T) {
	a := authServer(t, authtest.Options{Audience: audience})
	forEachBinary(t, func(t *testing.T, bin string) {
		p := launch(t, bin, nil, "-addr", "127.0.0.1:0", "-issuer", a.Issuer()+",https://b.example.com", "-jwks-url", a.JWKSURL(), "-audience", audience)
		if err := p.waitExit(t); err == nil || !strings.Contains(p.out.String(), "-jwks-url allows one -issuer") {
			t.Fatalf("exit %v, output:\n%s", err, p.out)
		}
	})
}

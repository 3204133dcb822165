package middleware_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/middleware"
)

// TestAttackDPoP is the DPoP part of the attack catalogue: a stolen
// DPoP-bound token and forged, tampered or replayed proofs, each refused
// with the exact kind, through Authenticate, and no response repeats the
// proof, the token or key material.
func TestAttackDPoP(t *testing.T) {
	const url = "https://api.example.test/api/v1/me"
	f := newDPoPFixture(t, nil)
	attacker, _ := authtest.NewDPoPKey("ES256")
	rsa, _ := authtest.NewDPoPKey("RS256")
	tok, _ := f.p.Mint(authtest.Token{DPoP: f.key})
	other, _ := f.p.Mint(authtest.Token{DPoP: f.key, Subject: "someone_else"})
	proof := func(k *authtest.DPoPKey, p authtest.DPoPProof) string {
		if p.Method == "" {
			p.Method = "GET"
		}
		if p.URL == "" {
			p.URL = url
		}
		if p.AccessToken == "" {
			p.AccessToken = tok
		}
		s, err := k.ProofWith(p)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	enc := base64.RawURLEncoding.EncodeToString
	good := proof(f.key, authtest.DPoPProof{})
	h, rest, _ := strings.Cut(good, ".")
	payload, _, _ := strings.Cut(rest, ".")
	hsProof := func() string {
		// HS256 keyed with the public thumbprint: "symmetric" forgery.
		hb, _ := base64.RawURLEncoding.DecodeString(h)
		hdr := strings.Replace(string(hb), `"alg":"ES256"`, `"alg":"HS256"`, 1)
		in := enc([]byte(hdr)) + "." + payload
		m := hmac.New(sha256.New, []byte(f.key.Thumbprint()))
		m.Write([]byte(in))
		return in + "." + enc(m.Sum(nil))
	}()
	noneProof := enc([]byte(`{"typ":"dpop+jwt","alg":"none","jwk":`+jwkJSON(t, f.key)+`}`)) + "." + payload + "."
	captured := proof(f.key, authtest.DPoPProof{})
	if _, err := f.v.Authenticate(dpopRequest(url, tok, captured)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		r      *http.Request
		kind   error // nil: accepted
		reason string
	}{
		{"control_valid_proof_accepted", dpopRequest(url, tok, good), nil, ""},
		{"control_htu_case_accepted", dpopRequest(url, tok, proof(f.key, authtest.DPoPProof{URL: "HTTPS://API.EXAMPLE.TEST/api/v1/me"})), nil, ""},
		{"control_htu_default_port_accepted", dpopRequest(url, tok, proof(f.key, authtest.DPoPProof{URL: "https://api.example.test:443/api/v1/me"})), nil, ""},
		{"control_htu_unreserved_percent_encoding_accepted", dpopRequest(url, tok, proof(f.key, authtest.DPoPProof{URL: "https://api.example.test/api/v1/%6d%65"})), nil, ""},
		{"stolen_token_without_proof", dpopRequest(url, tok), middleware.ErrInvalidDPoPProof, "exactly one DPoP header"},
		{"stolen_token_as_bearer", bearerRequest(url, tok), middleware.ErrBoundToken, "DPoP-bound"},
		{"stolen_token_with_attackers_proof", dpopRequest(url, tok, proof(attacker, authtest.DPoPProof{})), middleware.ErrInvalidDPoPProof, "not the one the access token is bound to"},
		{"captured_proof_replayed", dpopRequest(url, tok, captured), middleware.ErrInvalidDPoPProof, "replay"},
		{"proof_for_another_token", dpopRequest(url, tok, proof(f.key, authtest.DPoPProof{AccessToken: other})), middleware.ErrInvalidDPoPProof, "ath does not match"},
		{"proof_alg_none_unsigned", dpopRequest(url, tok, noneProof), middleware.ErrInvalidDPoPProof, "not a compact JWS"},
		{"proof_alg_none_with_signature", dpopRequest(url, tok, noneProof+"AAAA"), middleware.ErrInvalidDPoPProof, "alg is not accepted"},
		{"proof_hs256_keyed_with_thumbprint", dpopRequest(url, tok, hsProof), middleware.ErrInvalidDPoPProof, "alg is not accepted"},
		{"proof_private_key_in_jwk", dpopRequest(url, tok, proof(f.key, authtest.DPoPProof{Header: map[string]any{"jwk": withD(f.key.JWK())}})), middleware.ErrInvalidDPoPProof, "holds a private key"},
		{"proof_jwk_of_other_kty_than_signature", dpopRequest(url, tok, proof(f.key, authtest.DPoPProof{Header: map[string]any{"jwk": rsa.JWK()}})), middleware.ErrInvalidDPoPProof, "alg does not suit its key"},
		{"proof_jwk_with_jku_still_its_own_key", dpopRequest(url, tok, proof(attacker, authtest.DPoPProof{Header: map[string]any{"jku": "https://attacker.example/jwks", "kid": "victim"}})), middleware.ErrInvalidDPoPProof, "not the one the access token is bound to"},
		{"proof_typ_jwt", dpopRequest(url, tok, proof(f.key, authtest.DPoPProof{Header: map[string]any{"typ": "JWT"}})), middleware.ErrInvalidDPoPProof, "typ is not dpop+jwt"},
		{"proof_huge", dpopRequest(url, tok, proof(f.key, authtest.DPoPProof{Claims: map[string]any{"pad": strings.Repeat("x", 10<<10)}})), middleware.ErrInvalidDPoPProof, "too large"},
		{"proof_garbage", dpopRequest(url, tok, "not a proof"), middleware.ErrInvalidDPoPProof, "not a compact JWS"},
		{"duplicate_dpop_headers", dpopRequest(url, tok, proof(f.key, authtest.DPoPProof{}), proof(f.key, authtest.DPoPProof{})), middleware.ErrInvalidDPoPProof, "exactly one DPoP header"},
		{"htu_trailing_dot_host", dpopRequest(url, tok, proof(f.key, authtest.DPoPProof{URL: "https://api.example.test./api/v1/me"})), middleware.ErrInvalidDPoPProof, "htu does not match"},
		{"htu_encoded_slash", dpopRequest(url, tok, proof(f.key, authtest.DPoPProof{URL: "https://api.example.test/api/v1%2Fme"})), middleware.ErrInvalidDPoPProof, "htu does not match"},
		{"htu_userinfo", dpopRequest(url, tok, proof(f.key, authtest.DPoPProof{URL: "https://api.example.test@evil.example/api/v1/me"})), middleware.ErrInvalidDPoPProof, "htu"},
		{"htu_other_port", dpopRequest(url, tok, proof(f.key, authtest.DPoPProof{URL: "https://api.example.test:444/api/v1/me"})), middleware.ErrInvalidDPoPProof, "htu does not match"},
		{"htu_http_downgrade", dpopRequest(url, tok, proof(f.key, authtest.DPoPProof{URL: "http://api.example.test/api/v1/me"})), middleware.ErrInvalidDPoPProof, "htu does not match"},
		{"htm_other_method", dpopRequest(url, tok, proof(f.key, authtest.DPoPProof{Method: "DELETE"})), middleware.ErrInvalidDPoPProof, "htm does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shown := ""
			_, err := f.v.Authenticate(tc.r)
			if tc.kind == nil {
				if err != nil {
					t.Fatalf("control case refused: %v", err)
				}
				return
			}
			var e *middleware.Error
			if !errors.As(err, &e) || !errors.Is(err, tc.kind) || e.Status != 401 || !strings.Contains(e.Description, tc.reason) {
				t.Fatalf("err = %v, want %v about %q", err, tc.kind, tc.reason)
			}
			g, _ := middleware.NewGuard(middleware.Options{Validator: f.v})
			w := httptest.NewRecorder()
			g.Reject(w, tc.r, err)
			shown = w.Header().Get("WWW-Authenticate") + "\n" + w.Body.String()
			secrets := []string{tok, f.key.Thumbprint(), attacker.Thumbprint()}
			for _, p := range tc.r.Header.Values("DPoP") {
				secrets = append(secrets, strings.Split(p, ".")...)
			}
			for _, s := range secrets {
				if len(s) >= 8 && strings.Contains(shown, s) {
					t.Fatalf("the response repeats %q:\n%s", s, shown)
				}
			}
		})
	}
}

func dpopRequest(url, tok string, proofs ...string) *http.Request {
	r := httptest.NewRequest("GET", url, nil)
	r.Header.Set("Authorization", "DPoP "+tok)
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	return r
}

func bearerRequest(url, tok string) *http.Request {
	r := httptest.NewRequest("GET", url, nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func withD(m map[string]any) map[string]any {
	m["d"] = "c2VjcmV0LXNjYWxhcg"
	return m
}

func jwkJSON(t *testing.T, k *authtest.DPoPKey) string {
	t.Helper()
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, name := range []string{"kty", "crv", "x", "y"} {
		if v, ok := k.JWK()[name].(string); ok {
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(`"` + name + `":"` + v + `"`)
		}
	}
	return b.String() + "}"
}

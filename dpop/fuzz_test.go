package dpop_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/MicahParks/jwkset"
	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/dpop"
	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify feeds arbitrary proofs to a Verifier with a fixed request.
// Properties: no panic; an error matches exactly one of the package's
// sentinels and does not repeat the proof; an accepted proof is one the
// libraries agree on: jwkset reads its jwk (whose RFC 7638 thumbprint,
// computed by jwkset, is the token's), golang-jwt verifies its signature
// with that key, and its claims are the request's.
func FuzzVerify(f *testing.F) {
	k := newKey(f, "ES256")
	ed := newKey(f, "EdDSA")
	for _, p := range []authtest.DPoPProof{
		{}, {Method: "POST"}, {URL: "https://API.example.test:443/api/v1/./me"}, {Header: map[string]any{"typ": "JWT"}},
		{Header: map[string]any{"alg": "none"}}, {Claims: map[string]any{"ath": nil}}, {Claims: map[string]any{"iat": "x"}},
		{Header: map[string]any{"jwk": withMember(k.JWK(), "d", "AAAA")}},
	} {
		f.Add(proof(f, k, p))
	}
	f.Add(proof(f, ed, authtest.DPoPProof{}))
	f.Add("a.b.c")
	thumbs := map[string]bool{k.Thumbprint(): true}
	f.Fuzz(func(t *testing.T, raw string) {
		v := newVerifier(t, dpop.Config{})
		for _, key := range []*authtest.DPoPKey{k, ed} {
			r := dpop.Request{Method: "GET", URL: apiURL, AccessToken: token, Thumbprint: key.Thumbprint()}
			_, err := v.Verify(context.Background(), raw, r)
			if err != nil {
				n := 0
				for _, s := range []error{dpop.ErrInvalidProof, dpop.ErrUseNonce, dpop.ErrReplayUnavailable} {
					if errors.Is(err, s) {
						n++
					}
				}
				if n != 1 {
					t.Fatalf("error %v matches %d sentinels", err, n)
				}
				if len(raw) > 16 && strings.Contains(err.Error(), raw) {
					t.Fatalf("the error repeats the proof")
				}
				continue
			}
			_ = thumbs
			checkAccepted(t, raw, r)
		}
	})
}

func checkAccepted(t *testing.T, raw string, r dpop.Request) {
	t.Helper()
	seg := strings.Split(raw, ".")
	hb, err := base64.RawURLEncoding.DecodeString(seg[0])
	if err != nil {
		t.Fatalf("accepted a header that is not base64url: %v", err)
	}
	var h struct {
		Typ string          `json:"typ"`
		Alg string          `json:"alg"`
		JWK json.RawMessage `json:"jwk"`
	}
	if err := json.Unmarshal(hb, &h); err != nil || !strings.EqualFold(h.Typ, "dpop+jwt") {
		t.Fatalf("accepted header %s: %v", hb, err)
	}
	var m jwkset.JWKMarshal
	if err := json.Unmarshal(h.JWK, &m); err != nil || m.D != "" {
		t.Fatalf("accepted jwk %s: %v", h.JWK, err)
	}
	jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		t.Fatalf("jwkset refuses the accepted jwk %s: %v", h.JWK, err)
	}
	// RFC 7638 independently: encoding/json sorts map keys and adds no
	// whitespace, which is the canonical form.
	members := map[string]string{"kty": string(m.KTY)}
	switch m.KTY {
	case "EC":
		members["crv"], members["x"], members["y"] = string(m.CRV), m.X, m.Y
	case "OKP":
		members["crv"], members["x"] = string(m.CRV), m.X
	case "RSA":
		members["n"], members["e"] = m.N, m.E
	}
	canonical, _ := json.Marshal(members)
	sum := sha256.Sum256(canonical)
	if thumb := base64.RawURLEncoding.EncodeToString(sum[:]); thumb != r.Thumbprint {
		t.Fatalf("the independent thumbprint %q, the token's %q", thumb, r.Thumbprint)
	}
	var claims jwt.MapClaims
	alg := h.Alg
	if alg == "Ed25519" {
		alg = "EdDSA"
	}
	_, err = jwt.NewParser(jwt.WithValidMethods([]string{h.Alg, alg}), jwt.WithoutClaimsValidation()).ParseWithClaims(raw, &claims,
		func(*jwt.Token) (any, error) { return jwk.Key(), nil })
	if err != nil {
		t.Fatalf("golang-jwt does not verify the accepted proof: %v", err)
	}
	sum = sha256.Sum256([]byte(r.AccessToken))
	if claims["htm"] != r.Method || claims["ath"] != base64.RawURLEncoding.EncodeToString(sum[:]) || claims["jti"] == "" {
		t.Fatalf("accepted claims %v", claims)
	}
}

//go:build unix

package authservers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// DPoPKey is a P-256 key for DPoP proofs (RFC 9449) made with ES256.
type DPoPKey struct {
	priv       *ecdsa.PrivateKey
	jwk        map[string]string
	thumbprint string
}

// NewDPoPKey generates a fresh P-256 key.
func NewDPoPKey() (*DPoPKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("authservers: %w", err)
	}
	point, err := priv.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, fmt.Errorf("authservers: %w", err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwk := map[string]string{"kty": "EC", "crv": "P-256", "x": b64(point[1:33]), "y": b64(point[33:65])}
	// RFC 7638: the required members in lexicographic order, no whitespace.
	canonical := `{"crv":"P-256","kty":"EC","x":"` + jwk["x"] + `","y":"` + jwk["y"] + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return &DPoPKey{priv: priv, jwk: jwk, thumbprint: b64(sum[:])}, nil
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of the public key: the value
// of cnf.jkt in tokens bound to this key.
func (k *DPoPKey) Thumbprint() string { return k.thumbprint }

// Proof returns a DPoP proof JWT for an HTTP request with the given method
// and URL (htm, htu). For a request to a resource server pass the access
// token, whose hash becomes the ath claim; for the token endpoint pass "".
func (k *DPoPKey) Proof(method, url, accessToken string) (string, error) {
	return k.proof(method, url, accessToken, "")
}

func (k *DPoPKey) proof(method, url, accessToken, nonce string) (string, error) {
	header := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.jwk}
	payload := map[string]any{
		"htm": method,
		"htu": url,
		"jti": randomString(16),
		"iat": time.Now().Unix(),
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		payload["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if nonce != "" {
		payload["nonce"] = nonce
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	signingInput := b64(h) + "." + b64(p)
	digest := sha256.Sum256([]byte(signingInput))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, digest[:])
	if err != nil {
		return "", fmt.Errorf("authservers: dpop: %w", err)
	}
	sig := make([]byte, 64) // JWS ES256: R || S, 32 bytes each
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signingInput + "." + b64(sig), nil
}

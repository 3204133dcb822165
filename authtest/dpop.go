package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/clientcasa/oauthguard/keyset"
)

// DPoPKey is a client's key for DPoP proofs (RFC 9449), for tests of APIs
// that accept DPoP-bound tokens: mint a token bound to it (Token.DPoP), then
// send Proof(method, url, token) in the DPoP header with Authorization:
// DPoP <token>.
type DPoPKey struct {
	alg        string
	priv       crypto.Signer
	jwk        map[string]any
	thumbprint string
}

// NewDPoPKey generates a key for alg, one of keyset.Algorithms (zero:
// ES256).
func NewDPoPKey(alg string) (*DPoPKey, error) {
	if alg == "" {
		alg = "ES256"
	}
	priv, err := newSigner(alg)
	if err != nil {
		return nil, err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	var jwk map[string]any
	var canonical string // RFC 7638: the required members, sorted, no spaces
	switch pub := priv.Public().(type) {
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes()
		if err != nil {
			return nil, err
		}
		size := (len(raw) - 1) / 2
		crv := pub.Curve.Params().Name
		x, y := b64(raw[1:1+size]), b64(raw[1+size:])
		jwk = map[string]any{"kty": "EC", "crv": crv, "x": x, "y": y}
		canonical = `{"crv":"` + crv + `","kty":"EC","x":"` + x + `","y":"` + y + `"}`
	case ed25519.PublicKey:
		x := b64(pub)
		jwk = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": x}
		canonical = `{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`
	case *rsa.PublicKey:
		n, e := b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
		jwk = map[string]any{"kty": "RSA", "n": n, "e": e}
		canonical = `{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`
	}
	sum := sha256.Sum256([]byte(canonical))
	return &DPoPKey{alg: alg, priv: priv, jwk: jwk, thumbprint: b64(sum[:])}, nil
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of the public key: the
// cnf.jkt of tokens bound to it.
func (k *DPoPKey) Thumbprint() string { return k.thumbprint }

// JWK returns the public key as JWK members (a copy).
func (k *DPoPKey) JWK() map[string]any {
	m := make(map[string]any, len(k.jwk))
	for n, v := range k.jwk {
		m[n] = v
	}
	return m
}

// Proof returns a fresh DPoP proof for a request with the given method and
// URL (htm, htu), for accessToken (ath; "" for a token request): a new jti,
// iat now.
func (k *DPoPKey) Proof(method, url, accessToken string) (string, error) {
	return k.ProofWith(DPoPProof{Method: method, URL: url, AccessToken: accessToken})
}

// DPoPProof describes a proof to make, for tests of every rule. Zero fields
// take the defaults.
type DPoPProof struct {
	Method, URL string
	// AccessToken's hash becomes ath; empty: no ath.
	AccessToken string
	// IssuedAt is iat. Zero: now.
	IssuedAt time.Time
	// ID is jti. Zero: 16 random bytes, hex.
	ID string
	// Nonce, when set, is the nonce claim.
	Nonce string
	// Header and Claims members set or, with a nil value, removed, after
	// the defaults (typ dpop+jwt, alg, jwk; jti, htm, htu, iat, ath).
	Header, Claims map[string]any
}

// ProofWith makes the proof p describes, signed with k.
func (k *DPoPKey) ProofWith(p DPoPProof) (string, error) {
	header := map[string]any{"typ": "dpop+jwt", "alg": k.alg, "jwk": k.jwk}
	iat := p.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	id := p.ID
	if id == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	claims := map[string]any{"jti": id, "htm": p.Method, "htu": p.URL, "iat": iat.Unix()}
	if p.AccessToken != "" {
		sum := sha256.Sum256([]byte(p.AccessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if p.Nonce != "" {
		claims["nonce"] = p.Nonce
	}
	for _, kv := range []struct{ dst, src map[string]any }{{header, p.Header}, {claims, p.Claims}} {
		for n, v := range kv.src {
			if v == nil {
				delete(kv.dst, n)
			} else {
				kv.dst[n] = v
			}
		}
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	// Always the key's own alg, whatever the header says, so that a test can
	// make a proof that claims another one.
	method, _ := keyset.Method(k.alg)
	enc := base64.RawURLEncoding.EncodeToString
	input := enc(h) + "." + enc(c)
	sig, err := method.Sign(input, k.priv)
	if err != nil {
		return "", fmt.Errorf("authtest: DPoP proof: %w", err)
	}
	return input + "." + enc(sig), nil
}

package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"time"

	"github.com/clientcasa/oauthguard/keyset"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MaxProofBytes caps a proof's length; a longer one is refused before any
// decoding.
const MaxProofBytes = 8 << 10

// maxJTIBytes bounds a proof's jti, which the replay store remembers.
const maxJTIBytes = 256

var b64 = base64.RawURLEncoding.Strict()

// Proof is a DPoP proof whose signature verified.
type Proof struct {
	// Thumbprint is the RFC 7638 SHA-256 thumbprint of the proof's public
	// key (base64url): a bound token's cnf.jkt.
	Thumbprint string
	// Algorithm is the JOSE header's alg.
	Algorithm string
	// ID is jti; Method, URL, AccessTokenHash and Nonce are htm, htu, ath and
	// nonce ("" when absent).
	ID, Method, URL, AccessTokenHash, Nonce string
	// IssuedAt is iat.
	IssuedAt time.Time
}

type proofHeader struct {
	Typ  string         `json:"typ"`
	Alg  string         `json:"alg"`
	JWK  jsontext.Value `json:"jwk"`
	Crit jsontext.Value `json:"crit"`
	B64  jsontext.Value `json:"b64"`
	Enc  jsontext.Value `json:"enc"`
}

type proofClaims struct {
	JTI   *string  `json:"jti"`
	HTM   *string  `json:"htm"`
	HTU   *string  `json:"htu"`
	IAT   *float64 `json:"iat"`
	ATH   *string  `json:"ath"`
	Nonce *string  `json:"nonce"`
}

// publicKey is a proof's jwk, parsed and checked.
type publicKey struct {
	pub        crypto.PublicKey
	thumbprint string
}

// parse verifies raw's shape, header, key and signature and reads its
// claims. algs is the allowlist; keys parses a jwk (from a cache), and
// verified is called with a jwk once a signature by it verified.
func parse(raw string, algs map[string]bool, keys func(jsontext.Value) (*publicKey, error), verified func(jsontext.Value, *publicKey)) (*Proof, error) {
	if len(raw) > MaxProofBytes {
		return nil, invalid("the DPoP proof is too large")
	}
	h1 := strings.IndexByte(raw, '.')
	h2 := strings.LastIndexByte(raw, '.')
	if h1 <= 0 || h2 <= h1+1 || h2 == len(raw)-1 || strings.Count(raw, ".") != 2 {
		return nil, invalid("the DPoP proof is not a compact JWS")
	}
	hb, err := b64.DecodeString(raw[:h1])
	if err != nil {
		return nil, invalid("the DPoP proof header is not base64url")
	}
	var h proofHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, invalid("the DPoP proof header is not a JSON object of unique members")
	}
	switch {
	case !strings.EqualFold(h.Typ, "dpop+jwt"):
		return nil, invalid("the DPoP proof typ is not dpop+jwt")
	case !algs[h.Alg]:
		return nil, invalid("the DPoP proof alg is not accepted")
	case h.Crit != nil || h.B64 != nil || h.Enc != nil:
		return nil, invalid("the DPoP proof uses unsupported header parameters")
	case h.JWK == nil:
		return nil, invalid("the DPoP proof has no jwk")
	}
	key, err := keys(h.JWK)
	if err != nil {
		return nil, err
	}
	if !(keyset.Key{Public: key.pub}).Suits(h.Alg) {
		return nil, invalid("the DPoP proof alg does not suit its key")
	}
	method, _ := keyset.Method(h.Alg)
	sig, err := b64.DecodeString(raw[h2+1:])
	if err != nil || method.Verify(raw[:h2], sig, key.pub) != nil {
		return nil, invalid("the DPoP proof signature is invalid")
	}
	if verified != nil {
		verified(h.JWK, key)
	}
	cb, err := b64.DecodeString(raw[h1+1 : h2])
	if err != nil {
		return nil, invalid("the DPoP proof claims are not base64url")
	}
	var c proofClaims
	if err := json.Unmarshal(cb, &c); err != nil {
		return nil, invalid("the DPoP proof claims are not a JSON object of unique members of the right types")
	}
	switch {
	case c.JTI == nil || *c.JTI == "" || len(*c.JTI) > maxJTIBytes:
		return nil, invalid("the DPoP proof has no valid jti")
	case c.HTM == nil || c.HTU == nil:
		return nil, invalid("the DPoP proof lacks htm or htu")
	case c.IAT == nil || *c.IAT < 0 || *c.IAT > 253402300799:
		return nil, invalid("the DPoP proof has no valid iat")
	}
	p := &Proof{Thumbprint: key.thumbprint, Algorithm: h.Alg, ID: *c.JTI, Method: *c.HTM, URL: *c.HTU,
		IssuedAt: time.Unix(int64(*c.IAT), 0).UTC()}
	if c.ATH != nil {
		p.AccessTokenHash = *c.ATH
	}
	if c.Nonce != nil {
		p.Nonce = *c.Nonce
	}
	return p, nil
}

// privateMembers are JWK members that hold private key material (RFC 7518
// §6.2.2, §6.3.2, §6.4.1): a proof that carries one is refused.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// parseJWK reads a proof's public key: EC (P-256, P-384, P-521, on the
// curve), OKP Ed25519 or RSA, each as package keyset accepts keys, and
// computes its RFC 7638 thumbprint from the required members as given.
func parseJWK(v jsontext.Value) (*publicKey, error) {
	var m map[string]jsontext.Value
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, invalid("the DPoP proof jwk is not a JSON object of unique members")
	}
	for _, name := range privateMembers {
		if _, ok := m[name]; ok {
			return nil, invalid("the DPoP proof jwk holds a private key")
		}
	}
	str := func(name string) (string, bool) {
		var s string
		val, ok := m[name]
		if !ok || json.Unmarshal(val, &s) != nil || s == "" {
			return "", false
		}
		return s, true
	}
	bytesOf := func(name string) ([]byte, string, bool) {
		s, ok := str(name)
		if !ok {
			return nil, "", false
		}
		b, err := b64.DecodeString(s)
		return b, s, err == nil
	}
	kty, _ := str("kty")
	var pub crypto.PublicKey
	var canonical string
	switch kty {
	case "EC":
		crv, _ := str("crv")
		curve, size := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}[crv],
			map[string]int{"P-256": 32, "P-384": 48, "P-521": 66}[crv]
		x, xs, ok1 := bytesOf("x")
		y, ys, ok2 := bytesOf("y")
		if curve == nil || !ok1 || !ok2 || len(x) != size || len(y) != size {
			return nil, invalid("the DPoP proof jwk is not a valid EC public key")
		}
		k, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, invalid("the DPoP proof jwk is not a point on its curve")
		}
		pub, canonical = k, `{"crv":"`+crv+`","kty":"EC","x":"`+xs+`","y":"`+ys+`"}`
	case "OKP":
		crv, _ := str("crv")
		x, xs, ok := bytesOf("x")
		if crv != "Ed25519" || !ok || len(x) != ed25519.PublicKeySize {
			return nil, invalid("the DPoP proof jwk is not a valid Ed25519 public key")
		}
		pub, canonical = ed25519.PublicKey(x), `{"crv":"Ed25519","kty":"OKP","x":"`+xs+`"}`
	case "RSA":
		n, ns, ok1 := bytesOf("n")
		e, es, ok2 := bytesOf("e")
		if !ok1 || !ok2 || len(e) > 4 || len(n) == 0 || n[0] == 0 || len(e) == 0 || e[0] == 0 {
			return nil, invalid("the DPoP proof jwk is not a valid RSA public key")
		}
		pub = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		canonical = `{"e":"` + es + `","kty":"RSA","n":"` + ns + `"}`
	default:
		return nil, invalid("the DPoP proof jwk is of an unsupported key type")
	}
	if err := (keyset.Key{Public: pub}).Validate(); err != nil {
		return nil, invalid("the DPoP proof jwk cannot be used: " + reasonOf(err))
	}
	sum := sha256.Sum256([]byte(canonical))
	return &publicKey{pub: pub, thumbprint: base64.RawURLEncoding.EncodeToString(sum[:])}, nil
}

func reasonOf(err error) string {
	if ik, ok := err.(*keyset.InvalidKeyError); ok {
		return ik.Reason
	}
	return "unusable key"
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint (base64url) of a JWK
// given as JSON, the value a token bound to it carries in cnf.jkt, after the
// checks a proof's jwk meets.
func Thumbprint(jwk []byte) (string, error) {
	k, err := parseJWK(jsontext.Value(jwk))
	if err != nil {
		return "", err
	}
	return k.thumbprint, nil
}

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

// publicKey is a proof's jwk, parsed and checked.
type publicKey struct {
	pub        crypto.PublicKey
	thumbprint string
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

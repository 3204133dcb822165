package jwks

import (
	"errors"
	"slices"

	"github.com/MicahParks/jwkset"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// SkippedKey reports a JWK that was left out of the set and why.
type SkippedKey struct {
	// Index is the position of the JWK in the document's keys array.
	Index int
	// KID is the JWK's kid, if it had a readable one (cut after 64 bytes).
	KID string
	// Reason says why it cannot be used; it never contains key material.
	Reason string
}

// jwkHead holds the members read before handing a JWK to jwkset.
type jwkHead struct {
	KTY    string   `json:"kty"`
	Use    string   `json:"use"`
	Alg    string   `json:"alg"`
	KID    string   `json:"kid"`
	KeyOps []string `json:"key_ops"`
}

// maxReportedKID bounds the kid of a skipped key in reports and logs.
const maxReportedKID = 64

// ErrNoUsableKeys is returned for a JWKS document that holds no usable
// signing key (the keys that were skipped say why).
var ErrNoUsableKeys = errors.New("jwks: the document has no usable signing key")

// Parse reads a JWKS document (RFC 7517 §5) into a key set. Unusable keys
// are skipped and reported, never fatal: symmetric (oct) keys, use other
// than sig, key_ops without verify, unknown kty or crv, an alg outside
// keyset.Algorithms or not of the key's type, RSA under 2048 bits or with an
// even exponent, small-order Ed25519 points, malformed or duplicated
// members. The document as a whole fails only when it is not a JWKS or holds
// no usable key ([ErrNoUsableKeys]). Certificates (x5c, x5u) and private
// members are never read.
//
// The returned *keyset.Set is also a static key source, for tests and
// development.
func Parse(doc []byte) (*keyset.Set, []SkippedKey, error) {
	var set struct {
		Keys []jsontext.Value `json:"keys"`
	}
	// Duplicate member names are checked per key below, so that one bad key
	// cannot fail the whole document.
	if err := json.Unmarshal(doc, &set, jsontext.AllowDuplicateNames(true)); err != nil {
		return nil, nil, errors.New("jwks: the document is not a JSON Web Key Set")
	}
	var keys []keyset.Key
	var skipped []SkippedKey
	for i, raw := range set.Keys {
		k, kid, reason := parseKey(raw)
		if reason != "" {
			if len(kid) > maxReportedKID {
				kid = kid[:maxReportedKID] + "..."
			}
			skipped = append(skipped, SkippedKey{Index: i, KID: kid, Reason: reason})
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, skipped, ErrNoUsableKeys
	}
	s, err := keyset.NewSet(keys...)
	if err != nil { // not reached: parseKey validated every key
		return nil, skipped, err
	}
	return s, skipped, nil
}

// parseKey turns one JWK into a usable verification key, or says why not.
func parseKey(raw jsontext.Value) (keyset.Key, string, string) {
	var head jwkHead
	if err := json.Unmarshal(raw, &head); err != nil {
		return keyset.Key{}, "", "malformed JWK"
	}
	kid := head.KID
	switch {
	case head.KTY == "oct":
		return keyset.Key{}, kid, "symmetric (oct) keys are never used"
	case head.Use != "" && head.Use != "sig":
		return keyset.Key{}, kid, "use is not sig"
	case head.KeyOps != nil && !slices.Contains(head.KeyOps, "verify"):
		return keyset.Key{}, kid, "key_ops does not allow verify"
	}
	if _, ok := keyset.Method(head.Alg); head.Alg != "" && !ok {
		return keyset.Key{}, kid, "alg is not a supported asymmetric algorithm"
	}
	var m jwkset.JWKMarshal
	if err := json.Unmarshal(raw, &m); err != nil {
		return keyset.Key{}, kid, "malformed JWK"
	}
	// Only the public members: certificates and their URLs are never
	// fetched nor trusted, private members never read. alg is checked by
	// keyset, not by jwkset, which knows EdDSA but not RFC 9864's Ed25519.
	m = jwkset.JWKMarshal{KTY: m.KTY, USE: m.USE, KEYOPS: m.KEYOPS, KID: m.KID,
		CRV: m.CRV, X: m.X, Y: m.Y, N: m.N, E: m.E}
	jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		return keyset.Key{}, kid, "unsupported or malformed key parameters"
	}
	// keyset's checks: key type, RSA size and exponent, Ed25519 small order,
	// alg of the key's type.
	k := keyset.Key{ID: kid, Algorithm: head.Alg, Public: jwk.Key()}
	if err := k.Validate(); err != nil {
		return keyset.Key{}, kid, reasonOf(err)
	}
	return k, kid, ""
}

// reasonOf is the reason of a keyset validation error.
func reasonOf(err error) string {
	var ik *keyset.InvalidKeyError
	if errors.As(err, &ik) {
		return ik.Reason
	}
	return "unusable key"
}

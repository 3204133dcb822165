package jwks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"

	"filippo.io/edwards25519"
	"github.com/MicahParks/jwkset"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Sentinel errors returned by [Source.Key]. Callers classify with errors.Is.
var (
	// ErrKeyNotFound: no key in the set has the token's kid (after any refresh the
	// lookup was allowed to trigger), or a token without kid matched zero or
	// several suitable keys.
	ErrKeyNotFound = errors.New("jwks: no key for this key id")
	// ErrKeyAlgMismatch: a key with the kid exists but the token's alg does not
	// suit it (the JWK pins another alg, or the alg is of another key type).
	ErrKeyAlgMismatch = errors.New("jwks: algorithm does not match the key")
	// ErrKeysUnavailable: the source holds no usable keys, because no fetch ever
	// succeeded or the last good keys are older than Config.MaxStaleness.
	ErrKeysUnavailable = errors.New("jwks: signing keys unavailable")
	// ErrUnsupportedAlg: the alg is not one of the asymmetric algorithms this
	// package knows.
	ErrUnsupportedAlg = errors.New("jwks: unsupported algorithm")
)

// MinRSABits is the smallest RSA modulus accepted from a JWKS (RFC 7518 §3.3).
const MinRSABits = 2048

// family is the key type a JWK holds, which decides the algs it suits.
type family uint8

const (
	famRSA family = iota + 1
	famP256
	famP384
	famP521
	famEd25519
)

// algFamily maps each supported JWS alg to the key family it needs.
var algFamily = map[string]family{
	"RS256": famRSA, "RS384": famRSA, "RS512": famRSA,
	"PS256": famRSA, "PS384": famRSA, "PS512": famRSA,
	"ES256": famP256, "ES384": famP384, "ES512": famP521,
	"EdDSA": famEd25519, "Ed25519": famEd25519,
}

// Algorithms lists the asymmetric JWS algorithms this package can bind to keys.
func Algorithms() []string {
	return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
		"ES256", "ES384", "ES512", "EdDSA", "Ed25519"}
}

// Key is one usable verification key of a set.
type Key struct {
	// KID is the JWK's key id ("" when the JWK has none).
	KID string
	// Alg is the JWK's alg member ("" when the JWK has none).
	Alg string
	// Public is *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey.
	Public crypto.PublicKey
	fam    family
}

// Suits reports whether a token signed with alg may be verified with k: when
// the JWK names an alg the token's alg must equal it; otherwise the alg must
// suit the key type (RSA: RS*/PS*, P-256: ES256, P-384: ES384, P-521: ES512,
// Ed25519: EdDSA and Ed25519).
func (k *Key) Suits(alg string) bool {
	if k.Alg != "" {
		return alg == k.Alg
	}
	return algFamily[alg] == k.fam
}

// keySet is an immutable snapshot of usable keys.
type keySet struct {
	keys  []*Key
	byKID map[string][]*Key
}

func newKeySet(keys []*Key) *keySet {
	ks := &keySet{keys: keys, byKID: make(map[string][]*Key, len(keys))}
	for _, k := range keys {
		ks.byKID[k.KID] = append(ks.byKID[k.KID], k)
	}
	return ks
}

// find selects the key for kid and alg. A token without kid is accepted only
// when exactly one key of the set suits its alg: with several candidates the
// choice would be a guess, and trying each would multiply the cost of forged
// tokens.
func (ks *keySet) find(kid, alg string) (*Key, error) {
	if kid == "" {
		var found *Key
		for _, k := range ks.keys {
			if k.Suits(alg) {
				if found != nil {
					return nil, fmt.Errorf("%w: token has no kid and several keys suit %s", ErrKeyNotFound, alg)
				}
				found = k
			}
		}
		if found == nil {
			return nil, fmt.Errorf("%w: token has no kid and no key suits its alg", ErrKeyNotFound)
		}
		return found, nil
	}
	cands, ok := ks.byKID[kid]
	if !ok {
		return nil, ErrKeyNotFound
	}
	for _, k := range cands {
		if k.Suits(alg) {
			return k, nil
		}
	}
	return nil, ErrKeyAlgMismatch
}

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
	CRV    string   `json:"crv"`
	Use    string   `json:"use"`
	Alg    string   `json:"alg"`
	KID    string   `json:"kid"`
	KeyOps []string `json:"key_ops"`
}

// maxReportedKID bounds the kid of a skipped key in reports and logs.
const maxReportedKID = 64

var errNoUsableKeys = errors.New("jwks: the document has no usable signing key")

// parseSet parses a JWKS document. Unusable keys are skipped and reported; the
// document as a whole fails only when it is not a JWKS or has no usable key.
func parseSet(doc []byte) ([]*Key, []SkippedKey, error) {
	var set struct {
		Keys []jsontext.Value `json:"keys"`
	}
	// Duplicate member names are checked per key below, so that one bad key
	// cannot fail the whole document.
	if err := json.Unmarshal(doc, &set, jsontext.AllowDuplicateNames(true)); err != nil {
		return nil, nil, errors.New("jwks: the document is not a JSON Web Key Set")
	}
	var keys []*Key
	var skipped []SkippedKey
	for i, raw := range set.Keys {
		k, kid, reason := parseKey(raw)
		if k == nil {
			if len(kid) > maxReportedKID {
				kid = kid[:maxReportedKID] + "..."
			}
			skipped = append(skipped, SkippedKey{Index: i, KID: kid, Reason: reason})
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, skipped, errNoUsableKeys
	}
	return keys, skipped, nil
}

// parseKey turns one JWK into a usable verification key, or says why not.
func parseKey(raw jsontext.Value) (*Key, string, string) {
	var head jwkHead
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, "", "malformed JWK"
	}
	kid := head.KID
	switch {
	case head.KTY == "oct":
		return nil, kid, "symmetric (oct) keys are never used"
	case head.Use != "" && head.Use != "sig":
		return nil, kid, "use is not sig"
	case head.KeyOps != nil && !slices.Contains(head.KeyOps, "verify"):
		return nil, kid, "key_ops does not allow verify"
	case head.Alg != "" && algFamily[head.Alg] == 0:
		return nil, kid, "alg is not a supported asymmetric algorithm"
	}
	var m jwkset.JWKMarshal
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, kid, "malformed JWK"
	}
	// Certificates and their URLs are never fetched nor trusted; private
	// members are never read.
	// alg is checked here, not by jwkset, which knows EdDSA but not RFC 9864's Ed25519.
	m = jwkset.JWKMarshal{KTY: m.KTY, USE: m.USE, KEYOPS: m.KEYOPS, KID: m.KID,
		CRV: m.CRV, X: m.X, Y: m.Y, N: m.N, E: m.E}
	jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		return nil, kid, "unsupported or malformed key parameters"
	}
	k := &Key{KID: kid, Alg: head.Alg}
	switch pub := jwk.Key().(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < MinRSABits {
			return nil, kid, fmt.Sprintf("RSA key shorter than %d bits", MinRSABits)
		}
		if pub.E < 3 || pub.E%2 == 0 {
			return nil, kid, "RSA public exponent is not an odd number of at least 3"
		}
		k.Public, k.fam = pub, famRSA
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			k.fam = famP256
		case elliptic.P384():
			k.fam = famP384
		case elliptic.P521():
			k.fam = famP521
		default:
			return nil, kid, "unsupported curve"
		}
		k.Public = pub
	case ed25519.PublicKey:
		if smallOrder(pub) {
			return nil, kid, "Ed25519 key is a small-order point"
		}
		k.Public, k.fam = pub, famEd25519
	default:
		return nil, kid, "key type cannot verify signatures"
	}
	if head.Alg != "" && algFamily[head.Alg] != k.fam {
		return nil, kid, "alg does not suit the key type"
	}
	return k, kid, ""
}

// smallOrder reports whether an Ed25519 public key is a point of small order
// (or not a point at all). crypto/ed25519.Verify does not check the key's
// order, and with a small-order key the signature R = identity, S = 0 (and
// others) verifies for every message: such a key would let anyone forge
// tokens, so it is never used.
func smallOrder(pub ed25519.PublicKey) bool {
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return true
	}
	return new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1
}

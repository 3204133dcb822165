package keyset

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// Source supplies verification keys. Key returns the public key that
// verifies a token described by q, or an error matching exactly one of:
// [ErrUnavailable] when the source holds no usable keys at all (a validator
// answers 503), [ErrAlgMismatch] when a key with the kid exists but does not
// suit the alg, [ErrUnsupportedAlg] for an alg outside [Algorithms], and
// [ErrKeyNotFound] otherwise. Wrap the sentinel with %w to keep a cause for
// logs; never put token contents in it. Implementations must be safe for
// concurrent use and should honour ctx.
type Source interface {
	Key(ctx context.Context, q Query) (crypto.PublicKey, error)
}

// IssuerSet is a Source that holds the keys of several issuers, each key
// bound to its issuer (package jwks's Issuers, with issuers discovered on
// first use): given one as its only key source, a validator accepts exactly
// the issuers it Trusts, and a token of one issuer never verifies with
// another's key.
type IssuerSet interface {
	Source
	// Trusts reports whether tokens of issuer are accepted. It must decide
	// without any network request.
	Trusts(issuer string) bool
}

// Query describes the key a token asks for. Fields may be added; a Source
// ignores those it does not use.
type Query struct {
	// Issuer is the token's iss, read before the signature is verified, so
	// that a source holding several issuers' keys can answer for that
	// issuer only. "" when the token names none.
	Issuer string
	// KeyID is the JOSE header's kid, "" when absent.
	KeyID string
	// Algorithm is the JOSE header's alg.
	Algorithm string
}

// The errors of a Source. A validator classifies with errors.Is.
var (
	// ErrKeyNotFound: no key has the token's kid, or a token without kid
	// matched zero or several suitable keys.
	ErrKeyNotFound = errors.New("keyset: no key for this key id")
	// ErrAlgMismatch: a key with the kid exists but the token's alg does
	// not suit it (the JWK pins another alg, or the alg is of another key
	// type).
	ErrAlgMismatch = errors.New("keyset: algorithm does not match the key")
	// ErrUnavailable: the source holds no usable keys (never fetched, or
	// too stale to use).
	ErrUnavailable = errors.New("keyset: signing keys unavailable")
	// ErrUnsupportedAlg: the alg is not one of [Algorithms].
	ErrUnsupportedAlg = errors.New("keyset: unsupported algorithm")
	// ErrInvalidKey: a key cannot be used (see [Key.Validate] and
	// [InvalidKeyError]).
	ErrInvalidKey = errors.New("keyset: unusable key")
)

// InvalidKeyError says why a key cannot verify tokens. It matches
// [ErrInvalidKey] with errors.Is; Reason never holds key material.
type InvalidKeyError struct {
	Reason string
}

func (e *InvalidKeyError) Error() string { return "keyset: unusable key: " + e.Reason }

// Is reports whether target is ErrInvalidKey.
func (e *InvalidKeyError) Is(target error) bool { return target == ErrInvalidKey }

func invalid(reason string) error { return &InvalidKeyError{Reason: reason} }

// MinRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3).
const MinRSABits = 2048

// family is the key type an algorithm needs.
type family uint8

const (
	famRSA family = iota + 1
	famP256
	famP384
	famP521
	famEd25519
)

// ed25519Method verifies RFC 9864's fully specified "Ed25519" exactly as
// golang-jwt's EdDSA (the only EdDSA curve accepted here is Ed25519).
type ed25519Method struct{ *jwt.SigningMethodEd25519 }

func (ed25519Method) Alg() string { return "Ed25519" }

func init() {
	// So that jwt.Parse with Keyfunc verifies Ed25519 tokens as the
	// validator does; golang-jwt knows only "EdDSA".
	if jwt.GetSigningMethod("Ed25519") == nil {
		jwt.RegisterSigningMethod("Ed25519", func() jwt.SigningMethod { return ed25519Method{jwt.SigningMethodEdDSA} })
	}
}

type algorithm struct {
	fam    family
	method jwt.SigningMethod
}

// table is the one algorithm table: every accepted alg, its key family and
// its verifier.
var table = map[string]algorithm{
	"RS256": {famRSA, jwt.SigningMethodRS256}, "RS384": {famRSA, jwt.SigningMethodRS384}, "RS512": {famRSA, jwt.SigningMethodRS512},
	"PS256": {famRSA, jwt.SigningMethodPS256}, "PS384": {famRSA, jwt.SigningMethodPS384}, "PS512": {famRSA, jwt.SigningMethodPS512},
	"ES256": {famP256, jwt.SigningMethodES256}, "ES384": {famP384, jwt.SigningMethodES384}, "ES512": {famP521, jwt.SigningMethodES512},
	"EdDSA": {famEd25519, jwt.SigningMethodEdDSA}, "Ed25519": {famEd25519, ed25519Method{jwt.SigningMethodEdDSA}},
}

var names = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}

// Algorithms lists the accepted asymmetric JWS algorithms, in a fixed order.
func Algorithms() []string { return slices.Clone(names) }

// Method returns the golang-jwt signing method for alg, and false when alg
// is not one of [Algorithms] (HS*, "none" and unknown names). The method of
// "Ed25519" reports Alg() "Ed25519" and verifies as EdDSA.
func Method(alg string) (jwt.SigningMethod, bool) {
	a, ok := table[alg]
	return a.method, ok
}

// familyOf returns the family of a public key, or 0 for an unsupported one.
func familyOf(pub crypto.PublicKey) family {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return famRSA
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return famP256
		case elliptic.P384():
			return famP384
		case elliptic.P521():
			return famP521
		}
	case ed25519.PublicKey:
		return famEd25519
	}
	return 0
}

// Key is one verification key.
type Key struct {
	// ID is the key id (JWK kid), "" when the key has none.
	ID string
	// Algorithm is the JWK's alg: when set, the only alg the key verifies.
	// "" lets the key type decide (see [Key.Suits]).
	Algorithm string
	// Public is an *rsa.PublicKey, *ecdsa.PublicKey (P-256, P-384, P-521)
	// or ed25519.PublicKey.
	Public crypto.PublicKey
}

// Validate reports why k cannot verify tokens, as an [*InvalidKeyError]: an
// unsupported key type or curve, an RSA modulus under [MinRSABits] or an
// exponent that is not odd and at least 3, an Ed25519 key of the wrong
// length or of small order (with which anyone could forge signatures), or an
// Algorithm outside [Algorithms] or not of the key's type.
func (k Key) Validate() error {
	fam := familyOf(k.Public)
	switch pub := k.Public.(type) {
	case *rsa.PublicKey:
		if pub.N == nil || pub.N.BitLen() < MinRSABits {
			return invalid(fmt.Sprintf("RSA key shorter than %d bits", MinRSABits))
		}
		if pub.E < 3 || pub.E%2 == 0 {
			return invalid("RSA public exponent is not an odd number of at least 3")
		}
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			return invalid(fmt.Sprintf("Ed25519 key of %d bytes", len(pub)))
		}
		if isSmallOrder(pub) {
			return invalid("Ed25519 key is a small-order point")
		}
	}
	if fam == 0 {
		return invalid("unsupported key type or curve")
	}
	if k.Algorithm != "" {
		a, ok := table[k.Algorithm]
		switch {
		case !ok:
			return invalid("alg is not a supported asymmetric algorithm")
		case a.fam != fam:
			return invalid("alg does not suit the key type")
		}
	}
	return nil
}

// Suits reports whether a token signed with alg may be verified with k: when
// k.Algorithm is set the token's alg must equal it exactly; otherwise alg
// must be one of [Algorithms] for k's key type (RSA: RS256/384/512 and
// PS256/384/512; P-256: ES256; P-384: ES384; P-521: ES512; Ed25519: EdDSA
// and Ed25519).
func (k Key) Suits(alg string) bool {
	return suits(k.Algorithm, familyOf(k.Public), alg)
}

func suits(keyAlg string, fam family, alg string) bool {
	if keyAlg != "" {
		return alg == keyAlg
	}
	a, ok := table[alg]
	return ok && a.fam == fam
}

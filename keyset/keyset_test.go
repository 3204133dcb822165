package keyset_test

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"

	"filippo.io/edwards25519"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/golang-jwt/jwt/v5"
)

// keys generated once for the package's tests.
var (
	rsaKey        = mustRSA(2048)
	p256          = mustEC(elliptic.P256())
	p384          = mustEC(elliptic.P384())
	p521          = mustEC(elliptic.P521())
	edPub, edPriv = mustEd()
	rsaSmall      = mustRSA(1024)
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEC(c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEd() (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return pub, priv
}

func TestAlgorithmTable(t *testing.T) {
	algs := keyset.Algorithms()
	want := "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"
	if strings.Join(algs, " ") != want {
		t.Fatalf("Algorithms() = %v", algs)
	}
	algs[0] = "HS256" // a copy: the table cannot be changed through it
	if keyset.Algorithms()[0] != "RS256" {
		t.Fatal("Algorithms returned the table itself")
	}
	for _, alg := range keyset.Algorithms() {
		m, ok := keyset.Method(alg)
		if !ok || m.Alg() != alg {
			t.Errorf("Method(%q) = %v, %v", alg, m, ok)
		}
	}
	// Symmetric, none and unknown names are never in the table.
	for _, alg := range []string{"HS256", "HS384", "HS512", "none", "None", "", "RSA-OAEP", "rs256", "ES256K"} {
		if m, ok := keyset.Method(alg); ok {
			t.Errorf("Method(%q) = %v, want none", alg, m)
		}
	}
	// jwt.Parse knows RFC 9864's Ed25519 after this package is imported.
	if m := jwt.GetSigningMethod("Ed25519"); m == nil || m.Alg() != "Ed25519" {
		t.Errorf("golang-jwt has no Ed25519 method: %v", m)
	}
}

func TestKeyValidate(t *testing.T) {
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  keyset.Key
		want string // "" for a usable key
	}{
		{"rsa_2048_usable", keyset.Key{Public: &rsaKey.PublicKey}, ""},
		{"p256_usable_for_es256", keyset.Key{Algorithm: "ES256", Public: &p256.PublicKey}, ""},
		{"ed25519_usable_for_ed25519", keyset.Key{Algorithm: "Ed25519", Public: edPub}, ""},
		{"rsa_1024_too_short", keyset.Key{Public: &rsaSmall.PublicKey}, "shorter than 2048 bits"},
		{"rsa_even_exponent", keyset.Key{Public: &rsa.PublicKey{N: rsaKey.N, E: 65536}}, "exponent"},
		{"rsa_exponent_one", keyset.Key{Public: &rsa.PublicKey{N: rsaKey.N, E: 1}}, "exponent"},
		{"rsa_nil_modulus", keyset.Key{Public: &rsa.PublicKey{E: 65537}}, "shorter"},
		{"ed25519_short", keyset.Key{Public: ed25519.PublicKey(make([]byte, 31))}, "31 bytes"},
		{"x25519_unsupported", keyset.Key{Public: x25519.PublicKey()}, "unsupported key type"},
		{"private_key_unsupported", keyset.Key{Public: rsaKey}, "unsupported key type"},
		{"nil_unsupported", keyset.Key{}, "unsupported key type"},
		{"hmac_secret_unsupported", keyset.Key{Public: []byte("secret")}, "unsupported key type"},
		{"alg_of_other_family", keyset.Key{Algorithm: "ES256", Public: &rsaKey.PublicKey}, "does not suit"},
		{"alg_of_other_curve", keyset.Key{Algorithm: "ES384", Public: &p256.PublicKey}, "does not suit"},
		{"symmetric_alg", keyset.Key{Algorithm: "HS256", Public: &rsaKey.PublicKey}, "not a supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.key.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("usable key refused: %v", err)
				}
				return
			}
			var ik *keyset.InvalidKeyError
			if !errors.Is(err, keyset.ErrInvalidKey) || !errors.As(err, &ik) || !strings.Contains(ik.Reason, tc.want) {
				t.Fatalf("Validate() = %v, want an InvalidKeyError containing %q", err, tc.want)
			}
		})
	}
}

func TestKeySuits(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  keyset.Key
		algs string // the algs it suits, of keyset.Algorithms
	}{
		{"rsa_without_alg_suits_rs_and_ps", keyset.Key{Public: &rsaKey.PublicKey}, "RS256 RS384 RS512 PS256 PS384 PS512"},
		{"rsa_pinned_suits_its_alg_only", keyset.Key{Algorithm: "PS256", Public: &rsaKey.PublicKey}, "PS256"},
		{"p256_suits_es256", keyset.Key{Public: &p256.PublicKey}, "ES256"},
		{"p384_suits_es384", keyset.Key{Public: &p384.PublicKey}, "ES384"},
		{"p521_suits_es512", keyset.Key{Public: &p521.PublicKey}, "ES512"},
		{"ed25519_suits_both_names", keyset.Key{Public: edPub}, "EdDSA Ed25519"},
		// A JWK's alg pins the exact name: EdDSA does not admit Ed25519.
		{"ed25519_pinned_eddsa", keyset.Key{Algorithm: "EdDSA", Public: edPub}, "EdDSA"},
		{"ed25519_pinned_ed25519", keyset.Key{Algorithm: "Ed25519", Public: edPub}, "Ed25519"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, alg := range append(keyset.Algorithms(), "HS256", "none") {
				if tc.key.Suits(alg) {
					got = append(got, alg)
				}
			}
			if strings.Join(got, " ") != tc.algs {
				t.Fatalf("suits %v, want %s", got, tc.algs)
			}
		})
	}
}

func TestSetSelection(t *testing.T) {
	set, err := keyset.NewSet(
		keyset.Key{ID: "rsa", Public: &rsaKey.PublicKey},
		keyset.Key{ID: "ec", Algorithm: "ES256", Public: &p256.PublicKey},
		keyset.Key{ID: "shared", Algorithm: "ES384", Public: &p384.PublicKey},
		keyset.Key{ID: "shared", Algorithm: "EdDSA", Public: edPub},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, kid, alg string
		want           crypto.PublicKey
		err            error
	}{
		{"kid_and_alg_match", "ec", "ES256", &p256.PublicKey, nil},
		{"rsa_kid_accepts_ps512", "rsa", "PS512", &rsaKey.PublicKey, nil},
		{"kid_shared_by_two_keys_alg_decides_ed", "shared", "EdDSA", edPub, nil},
		{"kid_shared_by_two_keys_alg_decides_es384", "shared", "ES384", &p384.PublicKey, nil},
		{"kid_with_wrong_alg_mismatch", "ec", "ES384", nil, keyset.ErrAlgMismatch},
		{"kid_with_other_family_mismatch", "rsa", "ES256", nil, keyset.ErrAlgMismatch},
		{"unknown_kid_not_found", "nope", "ES256", nil, keyset.ErrKeyNotFound},
		{"symmetric_alg_unsupported", "rsa", "HS256", nil, keyset.ErrUnsupportedAlg},
		{"none_unsupported", "rsa", "none", nil, keyset.ErrUnsupportedAlg},
		// Without kid exactly one suitable key is needed.
		{"no_kid_one_suitable_key", "", "ES256", &p256.PublicKey, nil},
		{"no_kid_one_suitable_rsa_key", "", "RS384", &rsaKey.PublicKey, nil},
		{"no_kid_no_suitable_key", "", "ES512", nil, keyset.ErrKeyNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := set.Key(context.Background(), keyset.Query{Issuer: "ignored", KeyID: tc.kid, Algorithm: tc.alg})
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.want != nil && !tc.want.(interface{ Equal(crypto.PublicKey) bool }).Equal(got) {
				t.Fatalf("got another key: %T", got)
			}
		})
	}
	t.Run("no_kid_several_suitable_keys_not_found", func(t *testing.T) {
		other, _ := mustEd()
		two, err := keyset.NewSet(keyset.Key{ID: "a", Public: edPub}, keyset.Key{ID: "b", Public: other})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := two.Key(context.Background(), keyset.Query{Algorithm: "EdDSA"}); !errors.Is(err, keyset.ErrKeyNotFound) ||
			!strings.Contains(err.Error(), "several keys") {
			t.Fatalf("err = %v, want ErrKeyNotFound naming the ambiguity", err)
		}
	})
	t.Run("unusable_key_refused_by_NewSet", func(t *testing.T) {
		if _, err := keyset.NewSet(keyset.Key{ID: "a", Public: edPub}, keyset.Key{ID: "weak", Public: &rsaSmall.PublicKey}); !errors.Is(err, keyset.ErrInvalidKey) ||
			!strings.Contains(err.Error(), "key 1") {
			t.Fatalf("err = %v, want ErrInvalidKey for key 1", err)
		}
	})
	t.Run("keys_copied", func(t *testing.T) {
		keys := set.Keys()
		keys[0].ID = "changed"
		if set.Keys()[0].ID != "rsa" || set.Len() != 4 {
			t.Fatal("Keys returned the set's own slice")
		}
	})
}

// Keyfunc gives jwt.Parse the verdict of the set on the key.
func TestKeyfunc(t *testing.T) {
	set, err := keyset.NewSet(keyset.Key{ID: "ec", Algorithm: "ES256", Public: &p256.PublicKey},
		keyset.Key{ID: "ed", Public: edPub})
	if err != nil {
		t.Fatal(err)
	}
	mint := func(method jwt.SigningMethod, key any, header map[string]any) string {
		tok := jwt.NewWithClaims(method, jwt.MapClaims{"iss": "https://as.test", "sub": "x"})
		for k, v := range header {
			if v == nil {
				delete(tok.Header, k)
			} else {
				tok.Header[k] = v
			}
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	parse := func(raw string) error {
		_, err := jwt.Parse(raw, keyset.Keyfunc(set), jwt.WithValidMethods(keyset.Algorithms()))
		return err
	}
	if err := parse(mint(jwt.SigningMethodES256, p256, map[string]any{"kid": "ec"})); err != nil {
		t.Fatalf("valid ES256 token: %v", err)
	}
	// A kid-less token matches the only key suiting its alg.
	if err := parse(mint(jwt.SigningMethodEdDSA, edPriv, map[string]any{"kid": nil})); err != nil {
		t.Fatalf("kid-less EdDSA token: %v", err)
	}
	for _, tc := range []struct {
		name string
		raw  string
		is   error
	}{
		{"unknown_kid", mint(jwt.SigningMethodES256, p256, map[string]any{"kid": "other"}), keyset.ErrKeyNotFound},
		{"kid_not_a_string", mint(jwt.SigningMethodES256, p256, map[string]any{"kid": 7}), keyset.ErrKeyNotFound},
		{"alg_not_of_the_key", mint(jwt.SigningMethodES384, p384, map[string]any{"kid": "ec"}), keyset.ErrAlgMismatch},
		{"no_kid_no_suitable_key", mint(jwt.SigningMethodES384, p384, map[string]any{"kid": nil}), keyset.ErrKeyNotFound},
		{"hs256_with_public_key_bytes", mint(jwt.SigningMethodHS256, []byte("public-key-bytes"), map[string]any{"kid": "ec"}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := parse(tc.raw)
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("err = %v, want a rejection matching %v", err, tc.is)
			}
		})
	}
	t.Run("hs256_refused_without_WithValidMethods", func(t *testing.T) {
		raw := mint(jwt.SigningMethodHS256, []byte("public-key-bytes"), map[string]any{"kid": "ec"})
		if _, err := jwt.Parse(raw, keyset.Keyfunc(set)); !errors.Is(err, keyset.ErrUnsupportedAlg) {
			t.Fatalf("err = %v, want ErrUnsupportedAlg from the Keyfunc itself", err)
		}
	})
}

// The small-order blocklist is exactly what filippo.io/edwards25519 decodes
// to points of small order: every entry is one, and every encoding of each
// of the eight such points (both sign bits, y and y+p) that decodes is
// listed. A key of small order lets anyone forge signatures.
func TestSmallOrderBlocklist(t *testing.T) {
	isSmall := func(b []byte) bool {
		p, err := new(edwards25519.Point).SetBytes(b)
		return err == nil && new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1
	}
	listed := map[string]bool{}
	for _, enc := range keyset.SmallOrderEncodings() {
		if !isSmall(enc) {
			t.Errorf("%x is listed but not a small-order point", enc)
		}
		listed[string(enc)] = true
		if err := (keyset.Key{Public: ed25519.PublicKey(enc)}).Validate(); !errors.Is(err, keyset.ErrInvalidKey) ||
			!strings.Contains(err.Error(), "small-order") {
			t.Errorf("%x: Validate = %v", enc, err)
		}
	}
	// The eight points: the multiples of a point of order 8, [l]P for a
	// point P of full order times l.
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	// l = 2^252 + 27742317777372353535851937790883648493, the prime order.
	c, _ := new(big.Int).SetString("27742317777372353535851937790883648493", 10)
	lMinus1 := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 252), c)
	lMinus1.Sub(lMinus1, big.NewInt(1))
	scalar := make([]byte, 32)
	lMinus1.FillBytes(scalar)
	slices.Reverse(scalar)
	s, err := edwards25519.NewScalar().SetCanonicalBytes(scalar)
	if err != nil {
		t.Fatal(err)
	}
	base := new(edwards25519.Point).SetBytes
	var order8 *edwards25519.Point
	for y := byte(2); order8 == nil; y++ {
		enc := make([]byte, 32)
		enc[0] = y
		P, err := base(enc)
		if err != nil {
			continue
		}
		T := new(edwards25519.Point).ScalarMult(s, P) // [l-1]P + P = [l]P: its order divides 8
		T.Add(T, P)
		T4 := new(edwards25519.Point).Add(T, T)
		T4.Add(T4, T4)
		if T4.Equal(edwards25519.NewIdentityPoint()) == 0 { // [4]T is not the identity: T has order 8
			order8 = T
		}
	}
	R := edwards25519.NewIdentityPoint()
	for k := 0; k < 8; k++ {
		canon := R.Bytes()
		for _, sign := range []byte{0, 0x80} {
			for _, plusP := range []bool{false, true} {
				enc := slices.Clone(canon)
				enc[31] = enc[31]&0x7f | sign
				if plusP {
					le := slices.Clone(enc)
					le[31] &= 0x7f
					slices.Reverse(le)
					y := new(big.Int).Add(new(big.Int).SetBytes(le), p)
					if y.BitLen() > 255 {
						continue
					}
					enc = make([]byte, 32)
					y.FillBytes(enc)
					slices.Reverse(enc)
					enc[31] |= sign
				}
				if isSmall(enc) && !listed[string(enc)] {
					t.Errorf("%x decodes to a small-order point but is not listed", enc)
				}
			}
		}
		R = new(edwards25519.Point).Add(R, order8)
	}
	if len(listed) != 14 {
		t.Errorf("%d entries, want 14", len(listed))
	}
	// A real key is not refused.
	if err := (keyset.Key{Public: edPub}).Validate(); err != nil {
		t.Errorf("a generated key: %v", err)
	}
}

package jwks_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/go-json-experiment/json/jsontext"
)

// leakWindow is the longest run of document bytes an error or a skip reason
// may repeat: enough for a short prefix, not for key material.
const leakWindow = 16

// fixedTexts are the package's own messages; a window of the document that
// happens to spell part of one of them is not a leak.
var fixedTexts = []string{
	"jwks: the document is not a JSON Web Key Set",
	"jwks: the document has no usable signing key",
	"keyset: unusable key",
}

// leaked returns the first run of more than leakWindow bytes of doc that msg
// repeats, or "".
func leaked(msg string, doc []byte) string {
	for i := 0; i+leakWindow < len(msg); i++ {
		w := msg[i : i+leakWindow+1]
		if !bytes.Contains(doc, []byte(w)) {
			continue
		}
		fixed := false
		for _, f := range fixedTexts {
			fixed = fixed || strings.Contains(f, w)
		}
		if !fixed {
			return w
		}
	}
	return ""
}

// kidsOf collects every string value of a "kid" member anywhere in doc,
// tolerating duplicates and invalid UTF-8, so lookups can probe each key.
func kidsOf(doc []byte) []string {
	dec := jsontext.NewDecoder(bytes.NewReader(doc), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	var kids []string
	for len(kids) < 64 {
		tok, err := dec.ReadToken()
		if err != nil {
			break
		}
		if tok.Kind() != '"' || tok.String() != "kid" {
			continue
		}
		// An odd count of tokens in the enclosing object: tok was a member name.
		if kind, n := dec.StackIndex(dec.StackDepth()); kind == '{' && n%2 == 1 && dec.PeekKind() == '"' {
			if v, err := dec.ReadToken(); err == nil {
				kids = append(kids, v.String())
			}
		}
	}
	return kids
}

// algCurve is the curve each ES alg needs.
var algCurve = map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}

// checkKey asserts that a key Find returned for kid and alg is a usable
// verification key of the family alg needs.
func checkKey(t *testing.T, k keyset.Key, kid, alg string) {
	t.Helper()
	if kid != "" && k.ID != kid {
		t.Fatalf("Find(%q, %s) returned the key of kid %q", kid, alg, k.ID)
	}
	if k.Algorithm != "" && k.Algorithm != alg || !k.Suits(alg) {
		t.Fatalf("Find(%q, %s) returned a key pinned to %q", kid, alg, k.Algorithm)
	}
	switch pub := k.Public.(type) {
	case *rsa.PublicKey:
		if pub.N == nil || pub.N.BitLen() < keyset.MinRSABits {
			t.Fatalf("kid %q: RSA key of %d bits", kid, pub.N.BitLen())
		}
		if alg[:2] != "RS" && alg[:2] != "PS" {
			t.Fatalf("kid %q: RSA key returned for %s", kid, alg)
		}
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() && pub.Curve != elliptic.P384() && pub.Curve != elliptic.P521() {
			t.Fatalf("kid %q: ECDSA key on curve %v", kid, pub.Curve)
		}
		if _, err := pub.ECDH(); err != nil {
			t.Fatalf("kid %q: ECDSA key is not a valid point: %v", kid, err)
		}
		if algCurve[alg] != pub.Curve {
			t.Fatalf("kid %q: %s key returned for %s", kid, pub.Curve.Params().Name, alg)
		}
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			t.Fatalf("kid %q: Ed25519 key of %d bytes", kid, len(pub))
		}
		if alg != "EdDSA" && alg != "Ed25519" {
			t.Fatalf("kid %q: Ed25519 key returned for %s", kid, alg)
		}
	default:
		t.Fatalf("kid %q: Lookup returned a %T", kid, k.Public)
	}
}

// b64 is base64url without padding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwkOf writes the public JWK of key by hand (not through jwkset), with the
// extra members given as JSON text.
func jwkOf(t testing.TB, key any, extra string) string {
	t.Helper()
	var m string
	switch k := key.(type) {
	case *rsa.PublicKey:
		m = fmt.Sprintf(`"kty":"RSA","n":%q,"e":%q`, b64(k.N.Bytes()), b64(big.NewInt(int64(k.E)).Bytes()))
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		raw, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		m = fmt.Sprintf(`"kty":"EC","crv":%q,"x":%q,"y":%q`, k.Curve.Params().Name, b64(raw[1:1+size]), b64(raw[1+size:]))
	case ed25519.PublicKey:
		m = fmt.Sprintf(`"kty":"OKP","crv":"Ed25519","x":%q`, b64(k))
	case *ecdh.PublicKey:
		m = fmt.Sprintf(`"kty":"OKP","crv":"X25519","x":%q`, b64(k.Bytes()))
	default:
		t.Fatalf("jwkOf(%T)", key)
	}
	if extra != "" {
		m += "," + extra
	}
	return "{" + m + "}"
}

// fuzzDocs builds real JWKS documents from keys generated here: RSA, EC and
// OKP, with and without alg, and hostile variants of them.
func fuzzDocs(t testing.TB) []string {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var ec [3]*ecdsa.PrivateKey
	for i, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		if ec[i], err = ecdsa.GenerateKey(c, rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	xKey, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fuzz"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ec[0].PublicKey, ec[0])
	if err != nil {
		t.Fatal(err)
	}
	rsaJWK := jwkOf(t, &rsaKey.PublicKey, `"kid":"r1","use":"sig"`)
	set := func(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }
	return []string{
		set(rsaJWK, jwkOf(t, &ec[0].PublicKey, `"kid":"e1","alg":"ES256"`), jwkOf(t, edPub, `"kid":"o1"`)),
		set(jwkOf(t, &rsaKey.PublicKey, `"kid":"r1","alg":"RS256"`), jwkOf(t, &rsaKey.PublicKey, `"kid":"r2","alg":"PS384"`)),
		set(jwkOf(t, &ec[1].PublicKey, `"kid":"e2"`), jwkOf(t, &ec[2].PublicKey, `"kid":"e3","alg":"ES512","key_ops":["verify"]`)),
		set(jwkOf(t, edPub, `"kid":"o1","alg":"EdDSA"`), jwkOf(t, edPub, `"kid":"o2","alg":"Ed25519"`), jwkOf(t, xKey.PublicKey(), `"kid":"x1"`)),
		// A kid shared by two keys of different families, and keys without kid.
		set(jwkOf(t, &rsaKey.PublicKey, `"kid":"same"`), jwkOf(t, &ec[0].PublicKey, `"kid":"same"`), jwkOf(t, edPub, "")),
		// Mismatched alg, use enc, key_ops without verify, oct beside a good key.
		set(jwkOf(t, &ec[0].PublicKey, `"kid":"m","alg":"ES384"`), jwkOf(t, &rsaKey.PublicKey, `"kid":"u","use":"enc"`),
			jwkOf(t, edPub, `"kid":"k","key_ops":["sign"]`), `{"kty":"oct","kid":"hmac-key","alg":"HS256","k":"c2VjcmV0"}`, rsaJWK),
		// x5c and x5u are never fetched nor trusted.
		set(jwkOf(t, &ec[0].PublicKey, fmt.Sprintf(`"kid":"c","x5c":[%q],"x5u":"https://attacker.example/c.pem"`,
			base64.StdEncoding.EncodeToString(cert)))),
		set(jwkOf(t, &ec[1].PublicKey, fmt.Sprintf(`"kid":"c2","x5c":[%q]`, base64.StdEncoding.EncodeToString(cert)))),
		// Duplicate members inside a key, and a duplicated "keys".
		strings.Replace(set(rsaJWK), `"kty":"RSA"`, `"kty":"RSA","kty":"EC"`, 1),
		`{"keys":[` + jwkOf(t, edPub, `"kid":"first"`) + `],"keys":[` + rsaJWK + `]}`,
		// Huge numbers and a private member on a public key.
		set(jwkOf(t, &rsaKey.PublicKey, `"kid":"big","e":"AQAAAAAAAAAAAQAB"`)),
		set(strings.Replace(rsaJWK, `"kid":"r1"`, `"kid":"r1","d":"AQAB","exp":1e999`, 1)),
	}
}

// FuzzJWKS feeds arbitrary bytes to jwks.Parse and, for a quarter of them,
// serves them from an httptest server to a remote Source and Refresh.
// Properties: no panic; a document is accepted by both paths or by
// neither; success means at least one usable key, and every key that Find
// returns, for every kid in the document and every algorithm, is an RSA key of
// at least MinRSABits, an ECDSA key on P-256/384/521 or a 32-byte Ed25519 key,
// of the family the alg needs; Lookup errors are sentinels; and no error or
// skip reason repeats more than a short prefix of the document.
func FuzzJWKS(f *testing.F) {
	for _, doc := range fuzzDocs(f) {
		f.Add([]byte(doc))
	}
	var body atomic.Pointer[[]byte]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b := body.Load(); b != nil {
			_, _ = w.Write(*b)
		}
	}))
	f.Cleanup(srv.Close)
	algs := keyset.Algorithms()

	f.Fuzz(func(t *testing.T, doc []byte) {
		ctx := context.Background()
		set, skipped, err := jwks.Parse(doc)
		for _, sk := range skipped {
			if w := leaked(sk.Reason, doc); w != "" {
				t.Fatalf("skip reason %q repeats %q of the document", sk.Reason, w)
			}
		}
		if err != nil {
			if set != nil {
				t.Fatalf("Parse returned a set with error %v", err)
			}
			if w := leaked(err.Error(), doc); w != "" {
				t.Fatalf("error %q repeats %q of the document", err, w)
			}
		} else {
			if set.Len() < 1 {
				t.Fatal("accepted a document without usable keys")
			}
			for _, kid := range append(kidsOf(doc), "") {
				for _, alg := range algs {
					k, err := set.Find(kid, alg)
					switch {
					case err == nil:
						checkKey(t, k, kid, alg)
					case !errors.Is(err, keyset.ErrKeyNotFound) && !errors.Is(err, keyset.ErrAlgMismatch):
						t.Fatalf("Find(%q, %s): unexpected error %v", kid, alg, err)
					}
				}
				for _, alg := range []string{"HS256", "none", "", "RSA-OAEP"} {
					if _, err := set.Find(kid, alg); !errors.Is(err, keyset.ErrUnsupportedAlg) {
						t.Fatalf("Find(%q, %q) = %v, want ErrUnsupportedAlg", kid, alg, err)
					}
				}
			}
		}

		if doc == nil || crc32.ChecksumIEEE(doc)%4 != 0 {
			return
		}
		body.Store(&doc)
		remote, rerr := jwks.New(jwks.Config{JWKSURL: srv.URL + "/jwks", Logger: quiet(),
			RefreshInterval: time.Hour, RetryMin: time.Hour, RetryMax: time.Hour})
		if rerr != nil {
			t.Fatal(rerr)
		}
		defer remote.Close()
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		rerr = remote.Refresh(rctx)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("Parse: %v; remote Refresh: %v", err, rerr)
		}
		if rerr != nil {
			if w := leaked(rerr.Error(), doc); w != "" {
				t.Fatalf("refresh error %q repeats %q of the document", rerr, w)
			}
			if h := remote.Health(); h.Ready || h.KeyCount != 0 {
				t.Fatalf("remote source ready after a failed first fetch: %+v", h)
			}
			return
		}
		if got, want := remote.Health().KeyCount, set.Len(); got != want {
			t.Fatalf("remote source holds %d keys, Parse %d", got, want)
		}
	})
}

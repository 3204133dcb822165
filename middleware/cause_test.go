package middleware_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/golang-jwt/jwt/v5"
)

// Every *Error keeps its cause for logs and errors.Is (OnError can tell a
// never-fetched key set from a stale one, a bad signature of one family
// from another), while the rendered response stays generic and no cause
// repeats the token.
func TestRejectionsKeepTheirCause(t *testing.T) {
	as := allAlgAS(t)
	ctx := context.Background()
	valid := func(alg string) string { return as.mint(t, authtest.Token{Alg: alg}) }
	badSig := func(alg string) string {
		h, p, _ := splitToken(valid(alg))
		_, _, s := splitToken(valid(alg)) // another token's signature
		return h + "." + p + "." + s
	}
	two, err := authtest.NewProvider(authtest.Options{Issuer: fuzzIssuer, Algs: []string{"EdDSA", "EdDSA"}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	twoKeys, err := middleware.New(middleware.Config{Issuers: []string{fuzzIssuer}, Audiences: []string{authtest.DefaultAudience},
		Keys: two.KeySet(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	noKID, err := two.Mint(authtest.Token{OmitKID: true})
	if err != nil {
		t.Fatal(err)
	}
	policy := errors.New("tenant suspended")
	checked, err := staticValidator(as.doc, func(c *middleware.Config) {
		c.Check = func(context.Context, *middleware.Claims) error { return policy }
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		v     *middleware.Validator
		raw   string
		is    []error  // all must match
		texts []string // the message must name each
	}{
		{"rsa_signature_cause", as.v, badSig("RS256"), []error{middleware.ErrBadSignature, rsa.ErrVerification}, nil},
		{"ecdsa_signature_cause", as.v, badSig("ES256"), []error{middleware.ErrBadSignature, jwt.ErrECDSAVerification}, nil},
		{"eddsa_signature_cause", as.v, badSig("EdDSA"), []error{middleware.ErrBadSignature, jwt.ErrEd25519Verification}, nil},
		{"unknown_kid_cause", as.v, as.mint(t, authtest.Token{Alg: "EdDSA", KID: "gone"}), []error{middleware.ErrUnknownKey, keyset.ErrKeyNotFound}, nil},
		{"several_keys_suit_cause", twoKeys, noKID, []error{middleware.ErrUnknownKey, keyset.ErrKeyNotFound}, []string{"several keys suit EdDSA"}},
		{"alg_mismatch_cause", as.v, relabelled(t, as, "ES256", "ES384"), []error{middleware.ErrAlgNotAllowed, keyset.ErrAlgMismatch}, nil},
		{"header_encoding_cause", as.v, "eyJ*." + strings.SplitN(valid("EdDSA"), ".", 2)[1], []error{middleware.ErrMalformed}, nil},
		{"header_json_cause", as.v, enc("{") + ".e30.c2ln", []error{middleware.ErrMalformed}, []string{"header: not a JSON object"}},
		{"payload_json_cause", as.v, as.signRaw(t, as.kid(t, "EdDSA"), hdr("EdDSA", as.kid(t, "EdDSA")), `{"exp":"soon"}`), []error{middleware.ErrMalformed}, []string{"claims: not a JSON object"}},
		{"shape_cause", as.v, "a.b", []error{middleware.ErrMalformed}, []string{"not a JWS compact serialization"}},
		{"jwe_cause", as.v, enc(`{"alg":"RSA-OAEP","enc":"A256GCM"}`) + ".e30.c2ln", []error{middleware.ErrMalformed}, []string{"a JWE"}},
		{"check_hook_cause", checked, valid("EdDSA"), []error{middleware.ErrRejected, policy}, []string{"tenant suspended"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Validate(ctx, tc.raw)
			for _, want := range tc.is {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want errors.Is %v", err, want)
				}
			}
			for _, want := range tc.texts {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want it to name %q", err, want)
				}
			}
			if err != nil {
				for _, s := range mustNotShow(tc.raw, nil) {
					if strings.Contains(err.Error(), s) {
						t.Errorf("the error repeats %q of the token: %v", s, err)
					}
				}
			}
		})
	}
}

// relabelled signs valid claims with the key of keyAlg under a header that
// claims headerAlg.
func relabelled(t *testing.T, as *staticAS, keyAlg, headerAlg string) string {
	t.Helper()
	kid := as.kid(t, keyAlg)
	return as.signRaw(t, kid, hdr(headerAlg, kid), claimsJSON())
}

func TestKeySetCauses(t *testing.T) {
	as, err := authtest.Start(authtest.Options{Algs: []string{"EdDSA"}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	as.SetFault(authtest.Fault500)
	clk := authtest.NewClock(now)
	src, err := jwks.New(jwks.Config{JWKSURL: as.JWKSURL(), Logger: quiet(), Now: clk.Now, MaxStaleness: time.Hour,
		RetryMin: time.Hour, RetryMax: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	v, err := middleware.New(middleware.Config{Issuers: []string{as.Issuer()}, Audiences: []string{as.Audience()}, Keys: src, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := as.Mint(authtest.Token{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_ = src.Refresh(ctx)
	_, err = v.Validate(ctx, tok)
	if !errors.Is(err, middleware.ErrKeysUnavailable) || !errors.Is(err, jwks.ErrNotFetched) || errors.Is(err, jwks.ErrStale) {
		t.Fatalf("never fetched: %v", err)
	}
	as.SetFault(authtest.FaultNone)
	if err := src.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	_, err = v.Validate(ctx, tok)
	if !errors.Is(err, middleware.ErrKeysUnavailable) || !errors.Is(err, jwks.ErrStale) || errors.Is(err, jwks.ErrNotFetched) {
		t.Fatalf("stale: %v", err)
	}
}

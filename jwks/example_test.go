package jwks_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/keyset"
)

// Parse reads a JWKS document into a static key set, for tests and
// development: unusable keys are skipped and reported.
func ExampleParse() {
	doc := []byte(`{"keys":[
		{"kty":"OKP","crv":"Ed25519","kid":"ed-1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
		{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}]}`)
	set, skipped, err := jwks.Parse(doc)
	if err != nil {
		panic(err)
	}
	fmt.Println(set.Len(), skipped[0].KID, skipped[0].Reason)
	_, err = set.Key(context.Background(), keyset.Query{KeyID: "ed-1", Algorithm: "EdDSA"})
	fmt.Println(err)
	// Output:
	// 1 hmac symmetric (oct) keys are never used
	// <nil>
}

// A Source discovers the JWKS from the issuer and keeps it fresh. The issuer
// here is an in-process test server; in production it is your authorization
// server, e.g. https://auth.clientcasa.com/api/auth.
func ExampleNew() {
	as, _ := authtest.Start(authtest.Options{IssuerPath: "/api/auth", Algs: []string{"EdDSA"}})
	defer as.Close()

	src, err := jwks.New(jwks.Config{Issuer: as.Issuer()})
	if err != nil {
		panic(err)
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := src.WaitReady(ctx); err != nil {
		panic(err)
	}
	h := src.Health()
	fmt.Println(h.Ready, h.KeyCount, h.JWKSURL == as.Issuer()+"/jwks")

	_, err = src.Key(ctx, keyset.Query{KeyID: as.KIDs("EdDSA")[0], Algorithm: "RS256"})
	fmt.Println(err)
	// Output:
	// true 1 true
	// keyset: algorithm does not match the key
}

// Per-tenant issuers decided at run time (a Keycloak realm per customer):
// each approved issuer gets its own Source on its first token, discovered
// from its metadata; an issuer that is not approved costs no request.
func ExampleNewIssuers() {
	realms, err := jwks.NewIssuers(jwks.IssuersConfig{
		Patterns: []string{"https://sso.example.com/realms/*"},
		Max:      500, // sources kept, least recently used evicted
	})
	if err != nil {
		panic(err)
	}
	defer realms.Close()
	fmt.Println(realms.Trusts("https://sso.example.com/realms/acme"))
	fmt.Println(realms.Trusts("https://sso.example.com/realms/acme/extra"))
	fmt.Println(realms.Trusts("https://evil.example.com/realms/acme"))

	// As the validator's Keys, with Issuers left empty, it decides the
	// issuers: middleware.Config{Keys: realms, Audiences: ...}.
	_, err = realms.Key(context.Background(), keyset.Query{Issuer: "https://evil.example.com/realms/acme", KeyID: "k", Algorithm: "RS256"})
	fmt.Println(errors.Is(err, jwks.ErrIssuerNotTrusted))
	// Output:
	// true
	// false
	// false
	// true
}

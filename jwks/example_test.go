package jwks_test

import (
	"context"
	"fmt"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
)

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

	_, err = src.Key(ctx, as.KIDs("EdDSA")[0], "RS256")
	fmt.Println(err)
	// Output:
	// true 1 true
	// jwks: algorithm does not match the key
}

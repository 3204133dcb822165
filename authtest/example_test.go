package authtest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/middleware"
)

// Test a protected handler with tokens from a fake authorization server.
func ExampleStart() {
	as, err := authtest.Start(authtest.Options{Algs: []string{"ES256"}})
	if err != nil {
		panic(err)
	}
	defer as.Close()
	keys, _ := jwks.New(jwks.Config{JWKSURL: as.JWKSURL()})
	defer keys.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := keys.WaitReady(ctx); err != nil {
		panic(err)
	}
	v, _ := middleware.New(middleware.Config{Issuers: []string{as.Issuer()}, Audiences: []string{as.Audience()}, Keys: keys})

	tok, _ := as.Mint(authtest.Token{Claims: map[string]any{"organizationId": "org_globex", "scope": "read:clients"}})
	c, err := v.Validate(context.Background(), tok)
	fmt.Println(c.OrganizationID, c.Scopes, err)

	expired, _ := as.Mint(authtest.Token{Claims: map[string]any{"exp": 1}})
	_, err = v.Validate(context.Background(), expired)
	fmt.Println(err)
	// Output:
	// org_globex read:clients <nil>
	// invalid_token: the access token expired
}

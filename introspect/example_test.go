package introspect_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/introspect"
	"github.com/clientcasa/oauthguard/middleware"
)

// A validator that accepts opaque tokens through the authorization server's
// introspection endpoint and confirms every JWT too, so that a revoked token
// stops working on the next request. The server here is authtest's, on
// loopback; in production the endpoint comes from the issuer's metadata
// (Discovery: the *jwks.Source of the same issuer).
func Example() {
	as, _ := authtest.Start(authtest.Options{Algs: []string{"EdDSA"}})
	defer as.Close()

	client, err := introspect.New(introspect.Config{
		Endpoint:     as.IntrospectionURL(),
		ClientID:     "resource-server",
		ClientSecret: "resource-server-secret", // from a secret store, never a flag
		AuthMethod:   introspect.ClientSecretBasic,
	})
	if err != nil {
		panic(err)
	}
	v, err := middleware.New(middleware.Config{
		Issuers:          []string{as.Issuer()},
		Audiences:        []string{as.Audience()},
		Keys:             as.KeySet(),
		Introspector:     client,
		RevocationCheck:  true, // JWTs are confirmed too
		IntrospectionTTL: -1,   // ask on every request
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	opaque, _ := as.MintOpaque(authtest.Token{Scopes: []string{"read:clients"}})
	c, err := v.Validate(ctx, opaque)
	fmt.Println(c.OrganizationID, c.Scopes, c.Introspected, err)

	as.Revoke(opaque)
	_, err = v.Validate(ctx, opaque)
	fmt.Println(err, errors.Is(err, middleware.ErrInactive))
	// Output:
	// org_acme read:clients true <nil>
	// invalid_token: the access token is no longer active true
}

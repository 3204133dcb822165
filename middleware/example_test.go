package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
)

// A validator over a key set, checking a token and then a scope. In
// production the key set is jwks.New(jwks.Config{Issuer: "https://..."});
// here it is the static set of an in-memory authorization server.
func ExampleValidator_Validate() {
	as, _ := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.test/api/auth", Algs: []string{"EdDSA"}})
	keys := as.KeySet()

	v, err := middleware.New(middleware.Config{
		Issuers:   []string{"https://auth.example.test/api/auth"},
		Audiences: []string{"https://api.example.test"},
		Keys:      keys,
	})
	if err != nil {
		panic(err)
	}
	tok, _ := as.Mint(authtest.Token{Claims: map[string]any{"scope": "openid read:clients"}})

	c, err := v.Validate(context.Background(), tok)
	if err != nil {
		panic(err)
	}
	fmt.Println(c.OrganizationID, c.Scopes)
	err = middleware.RequireScopes(c, scopes.All("write:invoices"))
	fmt.Println(err, errors.Is(err, middleware.ErrInsufficientScope))
	// Output:
	// org_acme openid read:clients
	// insufficient_scope: the access token lacks the required scope true
}

// Errors carry their RFC 6750 code and status; the Renderer writes them.
func ExampleRenderer_Write() {
	rd := middleware.Renderer{Realm: "api", ResourceMetadata: "https://api.example.test/.well-known/oauth-protected-resource"}
	_, err := middleware.BearerToken(httptest.NewRequest("GET", "/", nil).Header)

	w := httptest.NewRecorder()
	rd.Write(w, err)
	fmt.Println(w.Code)
	fmt.Println(w.Header().Get("WWW-Authenticate"))
	fmt.Print(w.Body)
	// Output:
	// 401
	// Bearer realm="api", resource_metadata="https://api.example.test/.well-known/oauth-protected-resource"
	// {"error":"unauthorized","error_description":"bearer token required"}
}

// Two authorization servers (a dev and a prod Clerk instance, say): each
// token verifies only with its own issuer's keys and is held to that
// issuer's audience and organization claim.
func ExampleConfig_trusted() {
	dev, _ := authtest.NewProvider(authtest.Options{Issuer: "https://dev.example.test", Algs: []string{"RS256"}})
	prod, _ := authtest.NewProvider(authtest.Options{Issuer: "https://prod.example.test", Algs: []string{"RS256"}})

	v, err := middleware.New(middleware.Config{
		Trusted: []middleware.Issuer{
			{Issuer: "https://dev.example.test", Keys: dev.KeySet()}, // in production: a *jwks.Source each
			{Issuer: "https://prod.example.test", Keys: prod.KeySet(), OrganizationClaim: "org_id"},
		},
		Audiences: []string{"https://api.example.test"},
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	devTok, _ := dev.Mint(authtest.Token{})
	prodTok, _ := prod.Mint(authtest.Token{Claims: map[string]any{"org_id": "org_prod"}})
	// dev's key, claiming prod: prod's keys refuse it.
	forged, _ := dev.Mint(authtest.Token{Claims: map[string]any{"iss": "https://prod.example.test", "org_id": "org_prod"}})
	for _, tok := range []string{devTok, prodTok, forged} {
		c, err := v.Validate(ctx, tok)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(c.Issuer, c.OrganizationID)
	}
	// Output:
	// https://dev.example.test org_acme
	// https://prod.example.test org_prod
	// invalid_token: the access token was signed by an unknown key: keyset: no key for this key id
}

// Route rules beside scopes: a claim equal to a value, a claim including
// values, and a custom predicate. Each refusal is a 403 forbidden with a
// description naming the claim.
func ExampleClaimEquals() {
	as, _ := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.test", Algs: []string{"EdDSA"}})
	v, _ := middleware.New(middleware.Config{Issuers: []string{as.Issuer()}, Audiences: []string{as.Audience()}, Keys: as.KeySet()})
	gold, err := middleware.ClaimEquals("tier", "gold")
	if err != nil {
		panic(err)
	}
	billing, _ := middleware.ClaimIncludes("roles", "billing")
	firstParty, _ := middleware.ClaimCheck("the access token's client may not call this route",
		func(c *middleware.Claims) bool { return c.ClientID == "cli_dashboard" })

	tok, _ := as.Mint(authtest.Token{Claims: map[string]any{"tier": "silver", "roles": []string{"billing"}, "client_id": "cli_dashboard"}})
	c, _ := v.Validate(context.Background(), tok)
	fmt.Println(gold(c))
	fmt.Println(billing(c), firstParty(c))
	// Output:
	// forbidden: the access token's tier claim does not have the required value
	// <nil> <nil>
}

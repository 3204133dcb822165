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

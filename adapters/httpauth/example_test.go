package httpauth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/clientcasa/oauthguard/adapters/httpauth"
	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/middleware"
)

func Example() {
	// An in-memory authorization server; in production jwks.New fetches the
	// keys from the issuer instead.
	as, _ := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.test", Algs: []string{"EdDSA"}})
	doc, _ := as.JWKS()
	keys, _ := jwks.New(jwks.Config{Static: doc})
	v, _ := middleware.New(middleware.Config{
		Issuers: []string{as.Issuer()}, Audiences: []string{as.Audience()}, Keys: keys})

	guard, err := httpauth.New(httpauth.Options{Validator: v, Renderer: middleware.Renderer{Realm: "api"}})
	if err != nil {
		panic(err)
	}
	write, err := guard.RequireAll("write:invoices")
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /invoices", guard.Authenticate(write(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.FromContext(r.Context())
		fmt.Fprintf(w, "invoice created for %s", c.OrganizationID)
	}))))

	for _, scope := range []string{"write:invoices", "read:clients", ""} {
		r := httptest.NewRequest("POST", "/invoices", nil)
		if scope != "" {
			tok, _ := as.Mint(authtest.Token{Claims: map[string]any{"scope": scope}})
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			fmt.Println(w.Code, w.Body)
		} else {
			fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
	// Output:
	// 200 invoice created for org_acme
	// 403 Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope", scope="write:invoices"
	// 401 Bearer realm="api"
}

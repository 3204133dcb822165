package ginauth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/clientcasa/oauthguard/adapters/ginauth"
	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/gin-gonic/gin"
)

func Example() {
	// An in-memory authorization server; in production jwks.New fetches the
	// keys from the issuer instead.
	as, _ := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.test", Algs: []string{"EdDSA"}})
	doc, _ := as.JWKS()
	keys, _ := jwks.New(jwks.Config{Static: doc})
	v, _ := middleware.New(middleware.Config{
		Issuers: []string{as.Issuer()}, Audiences: []string{as.Audience()}, Keys: keys})

	guard, err := ginauth.New(ginauth.Options{Validator: v, Renderer: middleware.Renderer{Realm: "api"}})
	if err != nil {
		panic(err)
	}
	read, err := guard.RequireAll("read:clients")
	if err != nil {
		panic(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/orgs/:orgId/clients", guard.Authenticate, read, guard.RequireOrganization(ginauth.Param("orgId")),
		func(c *gin.Context) {
			claims, _ := ginauth.Claims(c)
			c.String(http.StatusOK, "clients of %s", claims.OrganizationID)
		})

	tok, _ := as.Mint(authtest.Token{Claims: map[string]any{"scope": "read:clients", "organizationId": "org_acme"}})
	for _, org := range []string{"org_acme", "org_globex"} {
		req := httptest.NewRequest("GET", "/orgs/"+org+"/clients", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Body)
	}
	// Output:
	// 200 clients of org_acme
	// 403 {"error":"forbidden","error_description":"the access token is for another organization"}
}

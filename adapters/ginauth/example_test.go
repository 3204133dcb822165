package ginauth_test

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/clientcasa/oauthguard/adapters/ginauth"
	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/gin-gonic/gin"
)

func ExampleGuard() {
	// An in-memory authorization server; in production the key source is
	// jwks.New(jwks.Config{Issuer: "https://auth.example.com/api/auth"}).
	as, _ := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.com/api/auth", Algs: []string{"EdDSA"}})
	keys := as.KeySet()
	v, err := middleware.New(middleware.Config{
		Issuers: []string{as.Issuer()}, Audiences: []string{"https://api.example.test"}, Keys: keys})
	if err != nil {
		panic(err)
	}
	renderer := middleware.Renderer{Realm: "api"}

	guard, err := ginauth.New(ginauth.Options{Validator: v, Renderer: renderer})
	if err != nil {
		panic(err)
	}
	readClients, err := guard.RequireAll("read:clients")
	if err != nil {
		panic(err)
	}
	listClients := func(c *gin.Context) {
		claims, _ := ginauth.Claims(c) // or middleware.FromContext(c.Request.Context())
		c.JSON(200, gin.H{"organizationId": claims.OrganizationID})
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	api := r.Group("/api/v1", guard.Authenticate)
	api.GET("/clients", readClients, listClients)
	api.GET("/orgs/:orgId/clients", readClients, guard.RequireOrganization(ginauth.Param("orgId")), listClients)

	reader, _ := as.Mint(authtest.Token{Claims: map[string]any{"scope": "read:clients", "organizationId": "org_acme"}})
	for _, path := range []string{"/api/v1/clients", "/api/v1/orgs/org_acme/clients", "/api/v1/orgs/org_globex/clients"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+reader)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 {"organizationId":"org_acme"}
	// 200 {"organizationId":"org_acme"}
	// 403 {"error":"forbidden","error_description":"the access token is for another organization"}
}

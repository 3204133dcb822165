package main

import (
	"net/http"
	"strings"

	"github.com/clientcasa/oauthguard/adapters/ginauth"
	"github.com/clientcasa/oauthguard/example/internal/demo"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/gin-gonic/gin"
)

func main() { demo.Main(routes) }

// routes guards the demo API with ginauth: authenticate, then scopes, then
// organization.
func routes(env *demo.Env) (http.Handler, error) {
	guard, err := ginauth.New(ginauth.Options{Validator: env.Validator, Renderer: env.Renderer,
		Observer: env.Observer, RejectionLog: env.Log})
	if err != nil {
		return nil, err
	}
	readClients, err := guard.RequireAll(demo.ScopeReadClients)
	if err != nil {
		return nil, err
	}
	writeInvoices, err := guard.RequireAll(demo.ScopeWriteInvoices)
	if err != nil {
		return nil, err
	}
	revoke, err := guard.RequireAll(demo.ScopeRevoke)
	if err != nil {
		return nil, err
	}
	sameOrg := guard.RequireOrganization(ginauth.Param("orgId"))

	// claims is what guard.Authenticate stored.
	claims := func(c *gin.Context) *middleware.Claims {
		cl, _ := ginauth.Claims(c)
		return cl
	}
	listClients := func(c *gin.Context) {
		env.App.Clients(claims(c).OrganizationID, c.QueryArray("pageSize")).Write(c.Writer)
	}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.NoRoute(func(c *gin.Context) { demo.NotFound.Write(c.Writer) })
	r.NoMethod(func(c *gin.Context) { demo.MethodNotAllowed.Write(c.Writer) })

	// get routes GET and HEAD alike, as net/http's "GET /path" patterns do
	// (the server sends no body for HEAD).
	get := func(g gin.IRoutes, path string, h ...gin.HandlerFunc) {
		g.GET(path, h...)
		g.HEAD(path, h...)
	}
	get(r, "/healthz", func(c *gin.Context) { env.Health().Write(c.Writer) })
	get(r, "/readyz", func(c *gin.Context) { env.Ready().Write(c.Writer) })
	get(r, middleware.ProtectedResourceMetadataPath, gin.WrapH(env.Metadata))
	api := r.Group("/api/v1", guard.Authenticate)
	get(api, "/me", func(c *gin.Context) { env.App.Me(claims(c)).Write(c.Writer) })
	get(api, "/clients", readClients, listClients)
	api.POST("/invoices", writeInvoices, func(c *gin.Context) {
		env.App.CreateInvoice(claims(c).OrganizationID, c.GetHeader("Content-Type"), c.Request.Body).Write(c.Writer)
	})
	get(api, "/orgs/:orgId/clients", readClients, sameOrg, listClients)
	api.POST("/revocations", revoke, func(c *gin.Context) {
		env.Revoke(c.Request.Context(), c.GetHeader("Content-Type"), c.Request.Body).Write(c.Writer)
	})
	if env.Dev != nil {
		for _, route := range demo.DevRoutes {
			method, path, _ := strings.Cut(route, " ")
			if method == "GET" {
				get(r, path, gin.WrapH(env.Dev))
			} else {
				r.Handle(method, path, gin.WrapH(env.Dev))
			}
		}
	}
	return r, nil
}

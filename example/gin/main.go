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
	guard, err := ginauth.New(ginauth.Options{Validator: env.Validator, Renderer: env.Renderer, OnError: env.LogRejection})
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

	r.GET("/healthz", func(c *gin.Context) { env.Health().Write(c.Writer) })
	r.GET("/readyz", func(c *gin.Context) { env.Ready().Write(c.Writer) })
	r.GET(middleware.ProtectedResourceMetadataPath, gin.WrapH(env.Metadata))
	api := r.Group("/api/v1", guard.Authenticate)
	api.GET("/me", func(c *gin.Context) { env.App.Me(claims(c)).Write(c.Writer) })
	api.GET("/clients", readClients, listClients)
	api.POST("/invoices", writeInvoices, func(c *gin.Context) {
		env.App.CreateInvoice(claims(c).OrganizationID, c.Request.Body).Write(c.Writer)
	})
	api.GET("/orgs/:orgId/clients", readClients, sameOrg, listClients)
	if env.Dev != nil {
		for _, route := range demo.DevRoutes {
			method, path, _ := strings.Cut(route, " ")
			r.Handle(method, path, gin.WrapH(env.Dev))
		}
	}
	return r, nil
}

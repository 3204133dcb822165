package main

import (
	"net/http"

	"github.com/clientcasa/oauthguard/adapters/httpauth"
	"github.com/clientcasa/oauthguard/example/internal/demo"
	"github.com/clientcasa/oauthguard/middleware"
)

func main() { demo.Main(routes) }

// routes guards the demo API with httpauth: authenticate, then scopes, then
// organization.
func routes(env *demo.Env) (http.Handler, error) {
	guard, err := httpauth.New(httpauth.Options{Validator: env.Validator, Renderer: env.Renderer,
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
	sameOrg := guard.RequireOrganization(httpauth.PathValue("orgId"))

	// claims is what guard.Authenticate put in the context.
	claims := func(r *http.Request) *middleware.Claims {
		c, _ := middleware.FromContext(r.Context())
		return c
	}
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.App.Me(claims(r)).Write(w)
	})
	listClients := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.App.Clients(claims(r).OrganizationID, r.URL.Query()["pageSize"]).Write(w)
	})
	createInvoice := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.App.CreateInvoice(claims(r).OrganizationID, r.Header.Get("Content-Type"), r.Body).Write(w)
	})

	revocations := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.Revoke(r.Context(), r.Header.Get("Content-Type"), r.Body).Write(w)
	})

	mux := demo.NewMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { env.Health().Write(w) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { env.Ready().Write(w) })
	mux.Handle("GET "+middleware.ProtectedResourceMetadataPath, env.Metadata)
	mux.Handle("GET /api/v1/me", guard.Authenticate(me))
	mux.Handle("GET /api/v1/clients", guard.Authenticate(readClients(listClients)))
	mux.Handle("POST /api/v1/invoices", guard.Authenticate(writeInvoices(createInvoice)))
	mux.Handle("GET /api/v1/orgs/{orgId}/clients", guard.Authenticate(readClients(sameOrg(listClients))))
	mux.Handle("POST /api/v1/revocations", guard.Authenticate(revoke(revocations)))
	if env.Dev != nil {
		for _, route := range demo.DevRoutes {
			mux.Handle(route, env.Dev)
		}
	}
	return mux.Handler(), nil
}

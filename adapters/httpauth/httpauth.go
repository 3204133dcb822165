package httpauth

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
)

// Options configure a [Guard].
type Options struct {
	// Validator checks the tokens. Required.
	Validator *middleware.Validator
	// Renderer writes every rejection. Zero: realm "api", no
	// resource_metadata, Retry-After 30 s.
	Renderer middleware.Renderer
	// OnError, when set, is called with each rejected request and its error
	// (a *middleware.Error whose cause is kept for logs) before the response is
	// written, for logging. Zero: nothing is called.
	OnError func(r *http.Request, err error)
}

// Guard wraps net/http handlers with token checks. It is safe for concurrent
// use.
type Guard struct {
	v       *middleware.Validator
	rd      middleware.Renderer
	onError func(*http.Request, error)
}

// New checks o and returns a Guard. It never panics.
func New(o Options) (*Guard, error) {
	if o.Validator == nil {
		return nil, errors.New("httpauth: Options.Validator is required")
	}
	return &Guard{v: o.Validator, rd: o.Renderer, onError: o.OnError}, nil
}

// reject reports err to OnError and writes it.
func (g *Guard) reject(w http.ResponseWriter, r *http.Request, err error) {
	if g.onError != nil {
		g.onError(r, err)
	}
	g.rd.Write(w, err)
}

// Authenticate requires a valid bearer token and calls next with its claims
// in the request context. Any other request is rejected: 401 without or with
// a bad token, 400 for malformed credentials, 503 while no signing keys are
// held.
func (g *Guard) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := g.v.Authenticate(r)
		if err != nil {
			g.reject(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(middleware.NewContext(r.Context(), c)))
	})
}

// Optional calls next without claims when the request has no Authorization
// header at all; otherwise it behaves as Authenticate. Credentials that
// cannot be accepted, another scheme included, are rejected, never ignored.
func (g *Guard) Optional(next http.Handler) http.Handler {
	auth := g.Authenticate(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header.Values("Authorization")) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		auth.ServeHTTP(w, r)
	})
}

// RequireScopes returns a wrapper that calls next only when the claims in the
// request context satisfy req, and answers 403 insufficient_scope with the
// needed scopes otherwise (401 when there are no claims). It returns an error
// when req lists an invalid scope, so a typo fails at start-up.
func (g *Guard) RequireScopes(req scopes.Requirement) (func(http.Handler) http.Handler, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("httpauth: %w", err)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := middleware.FromContext(r.Context())
			if !ok {
				g.reject(w, r, middleware.NoCredentials())
				return
			}
			if err := middleware.RequireScopes(c, req); err != nil {
				g.reject(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// RequireAll is RequireScopes(scopes.All(s...)): every scope is needed.
func (g *Guard) RequireAll(s ...string) (func(http.Handler) http.Handler, error) {
	return g.RequireScopes(scopes.All(s...))
}

// RequireAny is RequireScopes(scopes.Any(s...)): one of the scopes is enough.
func (g *Guard) RequireAny(s ...string) (func(http.Handler) http.Handler, error) {
	return g.RequireScopes(scopes.Any(s...))
}

// RequireOrganization returns a wrapper that calls next only when the claims
// in the request context act for the organization from(r) names, and answers
// 403 forbidden otherwise (401 when there are no claims). An empty
// organization, or a nil from, never matches.
func (g *Guard) RequireOrganization(from func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := middleware.FromContext(r.Context())
			if !ok {
				g.reject(w, r, middleware.NoCredentials())
				return
			}
			org := ""
			if from != nil {
				org = from(r)
			}
			if err := middleware.RequireOrganization(c, org); err != nil {
				g.reject(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// PathValue reads the organization from the path wildcard name of an
// http.ServeMux pattern, such as {orgId} in "GET /orgs/{orgId}/clients".
func PathValue(name string) func(*http.Request) string {
	return func(r *http.Request) string { return r.PathValue(name) }
}

// Header reads the organization from the request header name. A header sent
// more than once yields "", which never matches.
func Header(name string) func(*http.Request) string {
	return func(r *http.Request) string {
		if v := r.Header.Values(name); len(v) == 1 {
			return v[0]
		}
		return ""
	}
}

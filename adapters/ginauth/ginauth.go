package ginauth

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
	"github.com/gin-gonic/gin"
)

// Options configure a [Guard].
type Options struct {
	// Validator checks the tokens. Required.
	Validator *middleware.Validator
	// Renderer writes every rejection. Zero: realm "api", no
	// resource_metadata, Retry-After 30 s.
	Renderer middleware.Renderer
	// OnError, when set, is called with each rejected request (c.Request) and
	// its error before the response is written, for logging. Zero: nothing
	// is called.
	OnError func(r *http.Request, err error)
}

// Guard makes gin handlers that check tokens. It is safe for concurrent use.
type Guard struct {
	v       *middleware.Validator
	rd      middleware.Renderer
	onError func(*http.Request, error)
}

// New checks o and returns a Guard. It never panics.
func New(o Options) (*Guard, error) {
	if o.Validator == nil {
		return nil, errors.New("ginauth: Options.Validator is required")
	}
	return &Guard{v: o.Validator, rd: o.Renderer, onError: o.OnError}, nil
}

// abort reports err to OnError, writes it and stops the chain.
func (g *Guard) abort(c *gin.Context, err error) {
	if g.onError != nil {
		g.onError(c.Request, err)
	}
	g.rd.Write(c.Writer, err)
	c.Abort()
}

// Authenticate is a gin.HandlerFunc that requires a valid bearer token and
// puts its claims on c.Request's context. Any other request is aborted: 401
// without or with a bad token, 400 for malformed credentials, 503 while no
// signing keys are held.
func (g *Guard) Authenticate(c *gin.Context) {
	claims, err := g.v.Authenticate(c.Request)
	if err != nil {
		g.abort(c, err)
		return
	}
	c.Request = c.Request.WithContext(middleware.NewContext(c.Request.Context(), claims))
}

// Optional is a gin.HandlerFunc that lets a request without any
// Authorization header through without claims and otherwise behaves as
// Authenticate: credentials it cannot accept are rejected, never ignored.
func (g *Guard) Optional(c *gin.Context) {
	if len(c.Request.Header.Values("Authorization")) > 0 {
		g.Authenticate(c)
	}
}

// Claims returns the claims Authenticate or Optional stored for c.
func Claims(c *gin.Context) (*middleware.Claims, bool) {
	return middleware.FromContext(c.Request.Context())
}

// RequireScopes returns a gin.HandlerFunc that aborts with 403
// insufficient_scope unless the claims satisfy req (401 when there are no
// claims). It returns an error when req lists an invalid scope.
func (g *Guard) RequireScopes(req scopes.Requirement) (gin.HandlerFunc, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("ginauth: %w", err)
	}
	return func(c *gin.Context) {
		claims, ok := Claims(c)
		if !ok {
			g.abort(c, middleware.NoCredentials())
			return
		}
		if err := middleware.RequireScopes(claims, req); err != nil {
			g.abort(c, err)
		}
	}, nil
}

// RequireAll is RequireScopes(scopes.All(s...)): every scope is needed.
func (g *Guard) RequireAll(s ...string) (gin.HandlerFunc, error) {
	return g.RequireScopes(scopes.All(s...))
}

// RequireAny is RequireScopes(scopes.Any(s...)): one of the scopes is enough.
func (g *Guard) RequireAny(s ...string) (gin.HandlerFunc, error) {
	return g.RequireScopes(scopes.Any(s...))
}

// RequireOrganization returns a gin.HandlerFunc that aborts with 403
// forbidden unless the claims act for the organization from(c) names (401
// when there are no claims). An empty organization, or a nil from, never
// matches.
func (g *Guard) RequireOrganization(from func(*gin.Context) string) gin.HandlerFunc {
	return func(c *gin.Context) {
		claims, ok := Claims(c)
		if !ok {
			g.abort(c, middleware.NoCredentials())
			return
		}
		org := ""
		if from != nil {
			org = from(c)
		}
		if err := middleware.RequireOrganization(claims, org); err != nil {
			g.abort(c, err)
		}
	}
}

// Param reads the organization from the route parameter name, such as
// :orgId in "/orgs/:orgId/clients".
func Param(name string) func(*gin.Context) string {
	return func(c *gin.Context) string { return c.Param(name) }
}

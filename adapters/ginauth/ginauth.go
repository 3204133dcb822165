package ginauth

import (
	"net/http"

	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
	"github.com/gin-gonic/gin"
)

// Options configure a [Guard]: the Validator (required), the Renderer and
// the OnError hook (called with c.Request), as documented on
// middleware.Options.
type Options = middleware.Options

// Guard makes gin handlers that check tokens. It is a translation of
// middleware.Guard into gin.HandlerFunc values. Safe for concurrent use.
type Guard struct {
	core     *middleware.Guard
	observed bool // Options.Observer is set
}

// New checks o and returns a Guard. It never panics.
func New(o Options) (*Guard, error) {
	core, err := middleware.NewGuard(o)
	if err != nil {
		return nil, err
	}
	return &Guard{core: core, observed: o.Observer != nil}, nil
}

// Authenticate is a gin.HandlerFunc that requires a valid bearer token and
// puts its claims on c.Request's context. Any other request is aborted: 401
// without or with a bad token, 400 for malformed credentials, 503 while no
// signing keys are held.
//
// With an Observer (Options.Observer), the request is counted accepted when
// the handlers after Authenticate return without one of the guard's rules
// refusing it: gin's rules are separate handlers, so only their end tells
// that the request reached the route's handler.
func (g *Guard) Authenticate(c *gin.Context) {
	g.authenticate(c, g.core.Authenticate)
}

func (g *Guard) authenticate(c *gin.Context, check func(http.ResponseWriter, *http.Request) (*http.Request, bool)) {
	r, ok := check(c.Writer, c.Request)
	if !ok {
		c.Abort()
		return
	}
	c.Request = r
	if g.observed {
		// Deferred: a handler that panics (gin.Recovery in front) was
		// reached all the same.
		defer func() {
			if !g.core.Refused(r) {
				g.core.Accept(r)
			}
		}()
		c.Next()
	}
}

// Optional is a gin.HandlerFunc that lets a request without any
// Authorization header through without claims and otherwise behaves as
// Authenticate: credentials it cannot accept are rejected, never ignored.
func (g *Guard) Optional(c *gin.Context) {
	g.authenticate(c, g.core.Optional)
}

// Claims returns the claims Authenticate or Optional stored for c.
func Claims(c *gin.Context) (*middleware.Claims, bool) {
	return middleware.FromContext(c.Request.Context())
}

// Require returns a gin.HandlerFunc that aborts with rule's error unless
// rule allows the claims (401 when there are no claims).
func (g *Guard) Require(rule middleware.Rule) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !g.core.Require(c.Writer, c.Request, rule) {
			c.Abort()
		}
	}
}

// RequireScopes returns a gin.HandlerFunc that aborts with 403
// insufficient_scope unless the claims satisfy req (401 when there are no
// claims). It returns an error when req lists an invalid scope or none.
func (g *Guard) RequireScopes(req scopes.Requirement) (gin.HandlerFunc, error) {
	rule, err := middleware.Scopes(req)
	if err != nil {
		return nil, err
	}
	return g.Require(rule), nil
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
		org := ""
		if from != nil {
			org = from(c)
		}
		if !g.core.RequireOrganization(c.Writer, c.Request, org) {
			c.Abort()
		}
	}
}

// Param reads the organization from the route parameter name, such as
// :orgId in "/orgs/:orgId/clients".
func Param(name string) func(*gin.Context) string {
	return func(c *gin.Context) string { return c.Param(name) }
}

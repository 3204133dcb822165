package httpauth

import (
	"net/http"

	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
)

// Options configure a [Guard]: the Validator (required), the Renderer and
// the OnError hook, as documented on middleware.Options.
type Options = middleware.Options

// Guard wraps net/http handlers with token checks. It is a translation of
// middleware.Guard into func(http.Handler) http.Handler wrappers. Safe for
// concurrent use.
type Guard struct {
	core *middleware.Guard
}

// New checks o and returns a Guard. It never panics.
func New(o Options) (*Guard, error) {
	core, err := middleware.NewGuard(o)
	if err != nil {
		return nil, err
	}
	return &Guard{core: core}, nil
}

// Authenticate requires a valid bearer token and calls next with its claims
// in the request context. Any other request is rejected: 401 without or with
// a bad token, 400 for malformed credentials, 503 while no signing keys are
// held.
func (g *Guard) Authenticate(next http.Handler) http.Handler {
	return g.step(next, func(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
		return g.core.Authenticate(w, r)
	})
}

// Optional calls next without claims when the request has no Authorization
// header at all; otherwise it behaves as Authenticate. Credentials that
// cannot be accepted, another scheme included, are rejected, never ignored.
func (g *Guard) Optional(next http.Handler) http.Handler {
	return g.step(next, func(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
		return g.core.Optional(w, r)
	})
}

// Require returns a wrapper that calls next only when rule allows the claims
// in the request context, and answers rule's error otherwise (401 when there
// are no claims).
func (g *Guard) Require(rule middleware.Rule) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return g.step(next, func(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
			return r, g.core.Require(w, r, rule)
		})
	}
}

// step is one of the guard's checks in front of next. The last of a chain
// of this guard's steps (next is not one) reports the request accepted to
// the Observer, so that a request is counted once, when it reaches the
// handler. A step behind a router (Authenticate on the mux, a rule inside)
// cannot see the rule: such a request counts accepted, then rejected when
// the rule refuses it.
type step struct {
	g     *Guard
	check func(http.ResponseWriter, *http.Request) (*http.Request, bool)
	next  http.Handler
	last  bool
}

func (g *Guard) step(next http.Handler, check func(http.ResponseWriter, *http.Request) (*http.Request, bool)) http.Handler {
	n, ok := next.(*step)
	return &step{g: g, check: check, next: next, last: !ok || n.g != g}
}

func (s *step) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r, ok := s.check(w, r)
	if !ok {
		return
	}
	if s.last {
		s.g.core.Accept(r)
	}
	s.next.ServeHTTP(w, r)
}

// RequireScopes returns a wrapper that calls next only when the claims in the
// request context satisfy req, and answers 403 insufficient_scope with the
// needed scopes otherwise (401 when there are no claims). It returns an error
// when req lists an invalid scope or none, so a typo fails at start-up.
func (g *Guard) RequireScopes(req scopes.Requirement) (func(http.Handler) http.Handler, error) {
	rule, err := middleware.Scopes(req)
	if err != nil {
		return nil, err
	}
	return g.Require(rule), nil
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
		return g.step(next, func(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
			org := ""
			if from != nil {
				org = from(r)
			}
			return r, g.core.RequireOrganization(w, r, org)
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

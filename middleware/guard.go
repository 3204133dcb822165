package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/clientcasa/oauthguard/scopes"
)

// Options configure a [Guard]. The adapters take the same type
// (httpauth.Options and ginauth.Options are aliases of it).
type Options struct {
	// Validator checks the tokens. Required.
	Validator *Validator
	// Renderer writes every rejection. Zero: realm "api", no
	// resource_metadata, Retry-After 30 s.
	Renderer Renderer
	// OnError, when set, is called with each rejected request and its error
	// (an *Error whose cause is kept for logs) before the response is
	// written, for logging. Zero: nothing is called.
	OnError func(r *http.Request, err error)
	// PassPreflight lets CORS preflight requests (OPTIONS with an
	// Access-Control-Request-Method header) through without credentials,
	// for stacks whose CORS handler sits behind the guard: browsers never
	// send credentials on a preflight. Authenticate, Optional and Require
	// pass them on with no claims, so the handler behind must answer the
	// preflight, not run the route. Zero: preflights need credentials too.
	PassPreflight bool
	// Observer is told of each request's decision, for metrics (the
	// otelguard package's Metrics is one). Zero: none.
	Observer Observer
	// RejectionLog, when set, receives one record per rejected request at
	// RejectionLevel (see [LogRejection]: reason, status, route, issuer,
	// kid prefix, client id; never the token). Zero: no record (OnError
	// remains for custom logging).
	RejectionLog *slog.Logger
	// RejectionLevel is the records' level. Zero: slog.LevelInfo.
	RejectionLevel slog.Level
}

// Guard is the framework-free core of the adapters: it authenticates a
// request, runs authorization rules on its claims and writes every
// rejection, so that each adapter is only a translation into its
// framework's handler shape and both answer byte for byte alike. Use it
// directly to write an adapter for another framework. Safe for concurrent
// use.
type Guard struct {
	v       *Validator
	rd      Renderer
	onError func(*http.Request, error)
	// preflight: let CORS preflights through (Options.PassPreflight).
	preflight bool
	obs       Observer
	rlog      *slog.Logger
	rlevel    slog.Level
}

// NewGuard checks o and returns a Guard. It never panics.
func NewGuard(o Options) (*Guard, error) {
	if o.Validator == nil {
		return nil, errors.New("middleware: Options.Validator is required")
	}
	return &Guard{v: o.Validator, rd: o.Renderer.forValidator(o.Validator), onError: o.OnError, preflight: o.PassPreflight, obs: o.Observer, rlog: o.RejectionLog, rlevel: o.RejectionLevel}, nil
}

// passes reports whether r is a CORS preflight the guard lets through.
func (g *Guard) passes(r *http.Request) bool {
	return g.preflight && r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}

// Reject reports err to the Observer and OnError and writes it with the Renderer, with a
// DPoP challenge when the request used the DPoP scheme.
func (g *Guard) Reject(w http.ResponseWriter, r *http.Request, err error) {
	c := g.observeRejection(r, err)
	if g.rlog != nil {
		route := r.Pattern
		if route == "" {
			route = r.Method + " " + r.URL.Path
		}
		LogRejection(r.Context(), g.rlog, g.rlevel, route, r.Header["Authorization"], c, err)
	}
	if g.onError != nil {
		g.onError(r, err)
	}
	var e *Error
	if errors.As(err, &e) && e.scheme == "" && g.v.dpop.mode != DPoPDisabled {
		if scheme, _, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " "); strings.EqualFold(scheme, "DPoP") {
			d := *e
			err = schemed(&d, "DPoP")
		}
	}
	g.rd.Write(w, err)
}

// Authenticate requires valid credentials on r. It returns r with the
// claims in its context ([FromContext]) and true, or writes the rejection
// to w and returns false: 401 without or with a bad token, 400 for malformed
// credentials, 503 while no signing keys are held.
func (g *Guard) Authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	return g.authenticate(w, r, false)
}

// authenticate is Authenticate; optional lets a request without any
// credentials through unchanged.
func (g *Guard) authenticate(w http.ResponseWriter, r *http.Request, optional bool) (*http.Request, bool) {
	if g.passes(r) {
		return r, true
	}
	c, where, err := g.v.authenticate(r)
	if optional && errors.Is(err, ErrNoCredentials) && len(r.Header["Authorization"]) == 0 {
		return r, true // anonymous (a form body without access_token, say)
	}
	if err != nil {
		g.Reject(w, r, err)
		return nil, false
	}
	if where == fromQuery {
		// The URL holds the token: no shared cache may keep the answer
		// (RFC 6750 §2.3).
		w.Header().Set("Cache-Control", "private")
	}
	return r.WithContext(withClaims(r.Context(), c)), true
}

// Optional is Authenticate for a request that may be anonymous: without any
// Authorization header (nor a token in the places Config.TokenSources adds)
// it returns r unchanged and true. Credentials that cannot be accepted,
// another scheme included, are rejected, never ignored.
func (g *Guard) Optional(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if !g.v.sources.present(r) {
		return r, true
	}
	return g.authenticate(w, r, true)
}

// Rule is an authorization rule on a request's claims: nil allows the
// request, an error (an *Error, such as [InsufficientScope] or [Forbidden])
// refuses it. A Rule is given nil claims when the request carries none (no
// Authenticate in front); it must then refuse, as [NoCredentials] does.
// Rules are built once, at set-up, and must be safe for concurrent use.
type Rule func(c *Claims) error

// Scopes returns the Rule that the claims satisfy req (see RequireScopes).
// It returns an error wrapping scopes.ErrInvalidScope when req lists an
// invalid scope, and an error when req lists none (a rule that demands
// nothing is a mistake at a route that is meant to be guarded).
func Scopes(req scopes.Requirement) (Rule, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("middleware: %w", err)
	}
	if len(req.Scopes()) == 0 {
		return nil, errors.New("middleware: a scope requirement must list at least one scope")
	}
	return func(c *Claims) error { return RequireScopes(c, req) }, nil
}

// Require runs rule on the claims in r's context. It reports whether the
// request may go on; when not, it has written the rejection (401 when r
// has no claims, else rule's error).
func (g *Guard) Require(w http.ResponseWriter, r *http.Request, rule Rule) bool {
	c, _ := FromContext(r.Context())
	var err error
	switch {
	case c == nil && g.passes(r):
		return true
	case c == nil:
		err = NoCredentials()
	default:
		if err = rule(c); err == nil {
			return true
		}
	}
	g.Reject(w, r, err)
	return false
}

// RequireOrganization checks that the claims in r's context act for org
// (see the function RequireOrganization), writing the rejection when not.
func (g *Guard) RequireOrganization(w http.ResponseWriter, r *http.Request, org string) bool {
	c, _ := FromContext(r.Context())
	if c == nil && g.passes(r) {
		return true
	}
	if err := RequireOrganization(c, org); err != nil {
		g.Reject(w, r, err)
		return false
	}
	return true
}

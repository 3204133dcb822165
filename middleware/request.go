package middleware

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/clientcasa/oauthguard/scopes"
)

// BearerToken extracts the token from exactly one Authorization header of the
// form "Bearer <token68>" (RFC 6750 §2.1; the scheme is case-insensitive).
// No header, or another scheme, is ErrNoCredentials; a Bearer header without
// a token, with two tokens or with characters outside token68, and two
// Authorization headers, are ErrInvalidRequest. It reads the header only
// (see Config.TokenSources for Authenticate's other places).
func BearerToken(h http.Header) (string, error) {
	tok, err := bearer(h)
	if err != nil {
		return "", err
	}
	if err := checkToken(tok); err != nil {
		return "", err
	}
	return tok, nil
}

// checkToken is what a token from an Authorization header still needs
// after credentials, deferred by Authenticate until the verified-token
// cache has missed (a cached token passed it): no blank inside (which
// would be two tokens; the general form of credentials checked that
// already), then token68.
func checkToken(tok string) error {
	if hasBlank(tok) {
		return invalidRequest("the Bearer credentials carry more than one token")
	}
	if !isToken68(tok) {
		return errNotToken68()
	}
	return nil
}

// bearer is BearerToken without checkToken.
func bearer(h http.Header) (string, error) {
	scheme, tok, err := credentials(h, false)
	if err == nil && scheme != "Bearer" {
		return "", reject(errNoCredentials)
	}
	return tok, err
}

// credentials extracts the scheme ("Bearer", or "DPoP" when dpop is true)
// and the token of exactly one Authorization header, as BearerToken does.
func credentials(h http.Header, dpop bool) (string, string, error) {
	return credentialsOf(h["Authorization"], dpop)
}

// credentialsOf is credentials of the Authorization values vals.
func credentialsOf(vals []string, dpop bool) (string, string, error) {
	switch len(vals) {
	case 0:
		return "", "", reject(errNoCredentials)
	case 1:
	default:
		return "", "", invalidRequest("more than one Authorization header")
	}
	if scheme, tok, ok := fastBearer(vals[0]); ok {
		return scheme, tok, nil // checkToken follows
	}
	scheme, tok, ok := splitCredentials(vals[0], dpop)
	switch {
	case !ok:
		return "", "", reject(errNoCredentials)
	case tok == "":
		return "", "", schemed(invalidRequest("the "+scheme+" credentials carry no token"), scheme)
	case hasBlank(tok):
		return "", "", schemed(invalidRequest("the "+scheme+" credentials carry more than one token"), scheme)
	}
	return scheme, tok, nil
}

// hasBlank reports whether tok holds a space or a tab: two tokens.
func hasBlank(tok string) bool {
	return strings.IndexByte(tok, ' ') >= 0 || strings.IndexByte(tok, '\t') >= 0
}

// fastBearer is splitCredentials for the common form, "Bearer " and a
// token with no blank at either end (net/http trims header values), without
// its scans: the same answer whenever ok (FuzzCredentialsFastPath).
func fastBearer(v string) (scheme, tok string, ok bool) {
	const p = "Bearer "
	if len(v) > len(p) && v[:len(p)] == p && v[len(p)] != ' ' && v[len(v)-1] != ' ' && v[len(v)-1] != '\t' {
		return "Bearer", v[len(p):], true
	}
	return "", "", false
}

// splitCredentials splits an Authorization value into its scheme (Bearer,
// or DPoP when dpop is true, in any case) and what follows it; ok is false
// for another scheme.
func splitCredentials(v string, dpop bool) (scheme, tok string, ok bool) {
	scheme, rest, _ := strings.Cut(strings.Trim(v, " \t"), " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		scheme = "Bearer"
	case dpop && strings.EqualFold(scheme, "DPoP"):
		scheme = "DPoP"
	default:
		return "", "", false
	}
	return scheme, strings.TrimLeft(rest, " "), true
}

// schemed is e answered with a challenge of scheme.
func schemed(e *Error, scheme string) *Error {
	if scheme == "DPoP" {
		e.scheme = scheme
	}
	return e
}

func errNotToken68() *Error {
	return invalidRequest("the Bearer token has characters outside token68")
}

// isToken68 reports whether s matches RFC 7235's
// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	end := len(s)
	for end > 0 && s[end-1] == '=' {
		end--
	}
	if end == 0 {
		return false
	}
	for i := 0; i < end; i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}

// Authenticate extracts the credentials of r, validates the token and checks
// its binding: "Authorization: Bearer <token>", or, unless DPoP is disabled,
// "Authorization: DPoP <token>" with exactly one DPoP proof header (RFC
// 9449); a token bound to a TLS client certificate (RFC 8705) must come over
// TLS with that certificate.
//
// With Config.TokenSources, a bearer token may come from a cookie, the form
// body or the query instead; credentials in more than one place are 400
// invalid_request.
func (v *Validator) Authenticate(r *http.Request) (*Claims, error) {
	c, _, err := v.authenticate(r)
	return c, err
}

// authenticate is Authenticate, also saying where the token came from.
func (v *Validator) authenticate(r *http.Request) (*Claims, place, error) {
	scheme, tok, where, err := v.sources.find(r, v.dpop.mode != DPoPDisabled)
	if err != nil {
		return nil, 0, err
	}
	c, err := v.validate(r.Context(), tok, true)
	if err != nil {
		var e *Error
		if scheme == "DPoP" && errors.As(err, &e) {
			d := *e
			return nil, 0, schemed(&d, scheme)
		}
		return nil, 0, err
	}
	if err := v.bind(r, scheme, tok, c); err != nil {
		return nil, 0, err
	}
	return c, where, nil
}

// AuthenticateAuthorization validates the Bearer credentials of the
// Authorization values of a request of another transport (gRPC metadata,
// a WebSocket handshake): exactly one value "Bearer <token>", read as
// BearerToken reads it, and the token as Validate checks it (so
// sender-constrained tokens are refused). It is the fast path for adapters:
// a token that passed before is not scanned again.
func (v *Validator) AuthenticateAuthorization(ctx context.Context, values []string) (*Claims, error) {
	scheme, tok, err := credentialsOf(values, false)
	if err == nil && scheme != "Bearer" {
		err = reject(errNoCredentials)
	}
	if err != nil {
		return nil, err
	}
	c, err := v.validate(ctx, tok, true)
	if err != nil {
		return nil, err
	}
	if c.Confirmation != (Confirmation{}) {
		return nil, reject(errBound)
	}
	return c, nil
}

// RequireScopes returns nil when c satisfies req, a 403 insufficient_scope
// *Error whose Scope is req.String() when it does not, and the 401 of
// [NoCredentials] when there are no claims at all (c is nil).
func RequireScopes(c *Claims, req scopes.Requirement) error {
	switch {
	case c == nil:
		return NoCredentials()
	case req.SatisfiedBy(c.Scopes):
		return nil
	}
	return InsufficientScope(req.String())
}

// RequireOrganization returns nil when c acts for org, a 403 forbidden
// *Error when it does not (an empty org never matches), and the 401 of
// [NoCredentials] when there are no claims at all (c is nil).
func RequireOrganization(c *Claims, org string) error {
	switch {
	case c == nil:
		return NoCredentials()
	case org != "" && c.OrganizationID == org:
		return nil
	}
	return reject(errForbiddenOrg)
}

type claimsKey struct{}

// claimsContext is ctx carrying claims: context.WithValue's behaviour
// without its reflection check of the key, on every request's path.
type claimsContext struct {
	context.Context
	c *Claims
}

func (c *claimsContext) Value(key any) any {
	if _, ok := key.(claimsKey); ok {
		return c.c
	}
	return c.Context.Value(key)
}

func (c *claimsContext) String() string { return "middleware.NewContext" }

// withClaims is NewContext for claims this request's validation has just
// made, before anything else has seen them: a cache hit's copy carries the
// room for its context (clone), so no allocation is needed here. (Not
// NewContext itself: a caller may pass the same Claims to it from several
// goroutines.) A handler that keeps such Claims past the request keeps the
// request's context too, a few hundred bytes.
func withClaims(ctx context.Context, c *Claims) context.Context {
	if h := c.home; h != nil && h.c == nil {
		h.Context, h.c = ctx, c
		return h
	}
	return NewContext(ctx, c)
}

// NewContext returns a copy of ctx carrying c.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return &claimsContext{Context: ctx, c: c}
}

// FromContext returns the claims NewContext stored in ctx.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

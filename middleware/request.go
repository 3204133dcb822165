package middleware

import (
	"context"
	"net/http"
	"strings"

	"github.com/clientcasa/oauthguard/scopes"
)

// BearerToken extracts the token from exactly one Authorization header of the
// form "Bearer <token68>" (RFC 6750 §2.1; the scheme is case-insensitive).
// No header, or another scheme, is ErrNoCredentials; a Bearer header without
// a token, with two tokens or with characters outside token68, and two
// Authorization headers, are ErrInvalidRequest. Tokens are never taken from
// query strings or cookies.
func BearerToken(h http.Header) (string, error) {
	tok, err := bearer(h)
	if err == nil && !isToken68(tok) {
		return "", errNotToken68()
	}
	return tok, err
}

// bearer is BearerToken without the token68 scan, which Authenticate defers
// until the verified-token cache has missed (a cached token passed it).
func bearer(h http.Header) (string, error) {
	vals := h["Authorization"]
	switch len(vals) {
	case 0:
		return "", reject(errNoCredentials)
	case 1:
	default:
		return "", invalidRequest("more than one Authorization header")
	}
	v := strings.Trim(vals[0], " \t")
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", reject(errNoCredentials)
	}
	tok := strings.TrimLeft(rest, " ")
	switch {
	case tok == "":
		return "", invalidRequest("the Bearer credentials carry no token")
	case strings.IndexByte(tok, ' ') >= 0 || strings.IndexByte(tok, '\t') >= 0:
		return "", invalidRequest("the Bearer credentials carry more than one token")
	}
	return tok, nil
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

// Authenticate extracts the bearer token of r and validates it.
func (v *Validator) Authenticate(r *http.Request) (*Claims, error) {
	tok, err := bearer(r.Header)
	if err != nil {
		return nil, err
	}
	return v.validate(r.Context(), tok, true)
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

// NewContext returns a copy of ctx carrying c.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// FromContext returns the claims NewContext stored in ctx.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

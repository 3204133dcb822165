package middleware

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// MaxFormBytes bounds the form body TokenSources.Form reads to find a token.
const MaxFormBytes = 64 << 10

// TokenSources are the places besides the Authorization header where
// Authenticate looks for a bearer token (RFC 6750 §2.2 and §2.3). The
// Authorization header is always read; the zero value reads it only, which is
// what RFC 6750 recommends. A request with credentials in more than one place
// (an Authorization header and a cookie, two access_token parameters, ...)
// is 400 invalid_request (RFC 6750 §2). Tokens from these places are bearer
// tokens: a DPoP-bound token must come in "Authorization: DPoP".
type TokenSources struct {
	// Cookie names a cookie holding the token, for a browser front-end on
	// the same site. Cookies are sent by the browser on its own: protect
	// unsafe methods against cross-site requests (SameSite=Strict or Lax
	// on the cookie, and http.CrossOriginProtection or a CSRF token). An
	// empty cookie counts as none.
	Cookie string
	// Form reads access_token from an application/x-www-form-urlencoded
	// body of a POST, PUT or PATCH request (RFC 6750 §2.2). At most
	// MaxFormBytes are read; the body is restored for the handler.
	Form bool
	// Query reads the access_token query parameter (RFC 6750 §2.3).
	// Discouraged: URLs end up in access logs, browser history and Referer
	// headers. Successful responses to such requests get "Cache-Control:
	// private", as RFC 6750 §2.3 asks.
	Query bool
}

// where a token came from.
type place uint8

const (
	fromHeader place = iota + 1
	fromCookie
	fromForm
	fromQuery
)

// find returns r's one credential: the Authorization header's scheme and
// token, or "Bearer" and the token of the one other place that holds one.
func (s TokenSources) find(r *http.Request, dpop bool) (scheme, tok string, where place, err error) {
	if s == (TokenSources{}) {
		scheme, tok, err = credentials(r.Header, dpop)
		return scheme, tok, fromHeader, err
	}
	found := 0
	if len(r.Header["Authorization"]) > 0 {
		found, where = 1, fromHeader
	}
	take := func(vals []string, p place, what string) error {
		switch {
		case len(vals) > 1:
			return invalidRequest("more than one " + what)
		case len(vals) == 1:
			if vals[0] == "" {
				return invalidRequest("the " + what + " carries no token")
			}
			found++
			where, tok = p, vals[0]
		}
		return nil
	}
	if s.Cookie != "" {
		var vals []string
		for _, c := range r.CookiesNamed(s.Cookie) {
			if c.Value != "" {
				vals = append(vals, c.Value)
			}
		}
		if err := take(vals, fromCookie, "token cookie"); err != nil {
			return "", "", 0, err
		}
	}
	if s.Query {
		if err := take(r.URL.Query()["access_token"], fromQuery, "access_token query parameter"); err != nil {
			return "", "", 0, err
		}
	}
	if s.Form {
		vals, err := formTokens(r)
		if err != nil {
			return "", "", 0, err
		}
		if err := take(vals, fromForm, "access_token form parameter"); err != nil {
			return "", "", 0, err
		}
	}
	switch {
	case found > 1:
		return "", "", 0, invalidRequest("the token is sent in more than one place")
	case found == 0:
		return "", "", 0, reject(errNoCredentials)
	case where == fromHeader:
		scheme, tok, err = credentials(r.Header, dpop)
		return scheme, tok, fromHeader, err
	}
	return "Bearer", tok, where, nil
}

// present reports whether r carries credentials in one of the places s reads,
// without reading a form body: a form-encoded POST, PUT or PATCH counts as
// carrying credentials when Form is on.
func (s TokenSources) present(r *http.Request) bool {
	if len(r.Header["Authorization"]) > 0 {
		return true
	}
	if s.Cookie != "" {
		for _, c := range r.CookiesNamed(s.Cookie) {
			if c.Value != "" {
				return true
			}
		}
	}
	if s.Query && r.URL.Query().Has("access_token") {
		return true
	}
	return s.Form && isForm(r)
}

func isForm(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded" && r.Body != nil && r.Body != http.NoBody
}

// formTokens reads r's form body, when it has one, for access_token values
// and puts the body back for the handler.
func formTokens(r *http.Request) ([]string, error) {
	if !isForm(r) {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxFormBytes+1))
	// What was read goes back in front of whatever is left, so that the
	// handler reads the body it was sent, even when this fails.
	r.Body = readCloser{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
	switch {
	case err != nil:
		return nil, invalidRequest("the form body could not be read")
	case len(body) > MaxFormBytes:
		return nil, invalidRequest("the form body is too large to hold a token")
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalidRequest("the form body is not valid form encoding")
	}
	return vals["access_token"], nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// validCookieName reports whether name is an RFC 6265 cookie-name (an RFC
// 7230 token).
func validCookieName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`()<>@,;:\"/[]?={}`), c) >= 0 {
			return false
		}
	}
	return name != ""
}

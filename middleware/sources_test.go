package middleware_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
)

// providerValidator is a validator over a new in-process provider's keys,
// with the clock of these tests, changed by mod.
func providerValidator(t *testing.T, mod func(*middleware.Config)) (*authtest.Provider, *middleware.Validator) {
	t.Helper()
	p, err := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.test", Algs: []string{"EdDSA"}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return p, validatorFor(t, p, mod)
}

// validatorFor is a validator over p's keys, changed by mod.
func validatorFor(t testing.TB, p *authtest.Provider, mod func(*middleware.Config)) *middleware.Validator {
	t.Helper()
	cfg := middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()}, Keys: p.KeySet(),
		Now: func() time.Time { return now }}
	if mod != nil {
		mod(&cfg)
	}
	v, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Each place a token may come from, on or off, and more than one place.
func TestTokenSources(t *testing.T) {
	all := middleware.TokenSources{Cookie: "access_token", Form: true, Query: true}
	p, v := providerValidator(t, func(c *middleware.Config) { c.TokenSources = all })
	headerOnly := validatorFor(t, p, nil)
	tok, err := p.Mint(authtest.Token{})
	if err != nil {
		t.Fatal(err)
	}
	form := func(vals url.Values) func(*http.Request) {
		return func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(vals.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	cookie := func(vals ...string) func(*http.Request) {
		return func(r *http.Request) {
			for _, v := range vals {
				r.AddCookie(&http.Cookie{Name: "access_token", Value: v})
			}
		}
	}
	header := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	both := func(a, b func(*http.Request)) func(*http.Request) {
		return func(r *http.Request) { a(r); b(r) }
	}
	cases := []struct {
		name   string
		v      *middleware.Validator
		method string
		target string
		mod    func(*http.Request)
		want   error // nil: accepted
	}{
		{"header_accepted", v, "GET", "/", header, nil},
		{"cookie_accepted", v, "GET", "/", cookie(tok), nil},
		{"query_accepted", v, "GET", "/?access_token=" + tok, nil, nil},
		{"form_accepted", v, "POST", "/", form(url.Values{"access_token": {tok}, "amount": {"5"}}), nil},
		{"form_put_accepted", v, "PUT", "/", form(url.Values{"access_token": {tok}}), nil},
		{"form_on_get_ignored", v, "GET", "/", form(url.Values{"access_token": {tok}}), middleware.ErrNoCredentials},
		{"form_other_content_type_ignored", v, "POST", "/", func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader("access_token=" + tok))
			r.Header.Set("Content-Type", "text/plain")
		}, middleware.ErrNoCredentials},
		{"empty_cookie_no_credentials", v, "GET", "/", cookie(""), middleware.ErrNoCredentials},
		{"empty_query_token_invalid_request", v, "GET", "/?access_token=", nil, middleware.ErrInvalidRequest},
		{"two_query_tokens_invalid_request", v, "GET", "/?access_token=" + tok + "&access_token=" + tok, nil, middleware.ErrInvalidRequest},
		{"two_cookies_invalid_request", v, "GET", "/", cookie(tok, tok), middleware.ErrInvalidRequest},
		{"two_form_tokens_invalid_request", v, "POST", "/", form(url.Values{"access_token": {tok, tok}}), middleware.ErrInvalidRequest},
		// RFC 6750 §2: one method per request.
		{"header_and_cookie_invalid_request", v, "GET", "/", both(header, cookie(tok)), middleware.ErrInvalidRequest},
		{"header_and_query_invalid_request", v, "GET", "/?access_token=" + tok, header, middleware.ErrInvalidRequest},
		{"cookie_and_query_invalid_request", v, "GET", "/?access_token=" + tok, cookie(tok), middleware.ErrInvalidRequest},
		{"header_and_form_invalid_request", v, "POST", "/", both(header, form(url.Values{"access_token": {tok}})), middleware.ErrInvalidRequest},
		{"other_scheme_and_cookie_invalid_request", v, "GET", "/", both(func(r *http.Request) { r.Header.Set("Authorization", "Basic eHl6") }, cookie(tok)), middleware.ErrInvalidRequest},
		{"query_token_outside_token68_invalid_request", v, "GET", "/?access_token=a%22b", nil, middleware.ErrInvalidRequest},
		{"bad_cookie_token_invalid_token", v, "GET", "/", cookie("not.a.jwt"), middleware.ErrInvalidToken},
		{"form_too_large_invalid_request", v, "POST", "/", form(url.Values{"access_token": {tok}, "pad": {strings.Repeat("x", middleware.MaxFormBytes)}}), middleware.ErrInvalidRequest},
		// The default reads the header only.
		{"default_ignores_query", headerOnly, "GET", "/?access_token=" + tok, nil, middleware.ErrNoCredentials},
		{"default_ignores_cookie", headerOnly, "GET", "/", cookie(tok), middleware.ErrNoCredentials},
		{"default_ignores_form", headerOnly, "POST", "/", form(url.Values{"access_token": {tok}}), middleware.ErrNoCredentials},
		{"default_header_with_query_token_accepted", headerOnly, "GET", "/?access_token=x", header, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			if tc.mod != nil {
				tc.mod(r)
			}
			c, err := tc.v.Authenticate(r)
			if tc.want == nil {
				if err != nil || c.Subject != authtest.DefaultSubject {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// The handler reads the form body the token came in, whole.
func TestFormBodyRestored(t *testing.T) {
	p, v := providerValidator(t, func(c *middleware.Config) { c.TokenSources.Form = true })
	tok, _ := p.Mint(authtest.Token{})
	body := url.Values{"access_token": {tok}, "amount": {"1234"}}.Encode()
	r := httptest.NewRequest("POST", "/invoices", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if _, err := v.Authenticate(r); err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r.Body); string(got) != body {
		t.Fatalf("handler read %q, want %q", got, body)
	}
	r = httptest.NewRequest("POST", "/invoices", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := v.Authenticate(r); err != nil {
		t.Fatal(err)
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("amount") != "1234" {
		t.Fatalf("ParseForm after Authenticate: %v %v", err, r.PostForm)
	}
}

// A token from the query makes the answer private (RFC 6750 §2.3); the
// guard's Optional treats a cookie as credentials.
func TestGuardTokenSources(t *testing.T) {
	p, v := providerValidator(t, func(c *middleware.Config) {
		c.TokenSources = middleware.TokenSources{Cookie: "at", Query: true}
	})
	tok, _ := p.Mint(authtest.Token{})
	g, err := middleware.NewGuard(middleware.Options{Validator: v})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if _, ok := g.Authenticate(rec, httptest.NewRequest("GET", "/?access_token="+tok, nil)); !ok {
		t.Fatalf("query token refused: %d %s", rec.Code, rec.Body)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "private" {
		t.Fatalf("Cache-Control %q after a query token, want private", cc)
	}
	rec = httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if _, ok := g.Authenticate(rec, r); !ok || rec.Header().Get("Cache-Control") != "" {
		t.Fatalf("header token: ok %v, Cache-Control %q", ok, rec.Header().Get("Cache-Control"))
	}
	rec = httptest.NewRecorder()
	r = httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: "at", Value: "not.a.jwt"})
	if _, ok := g.Optional(rec, r); ok || rec.Code != 401 {
		t.Fatalf("Optional with a bad cookie token: ok %v, status %d", ok, rec.Code)
	}
	// With Form on, an anonymous form post stays anonymous.
	gf, _ := middleware.NewGuard(middleware.Options{Validator: validatorFor(t, p, func(c *middleware.Config) { c.TokenSources.Form = true })})
	r = httptest.NewRequest("POST", "/", strings.NewReader("amount=5"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = httptest.NewRecorder()
	if r2, ok := gf.Optional(rec, r); !ok || rec.Code != 200 {
		t.Fatalf("Optional with a form body without a token: ok %v, status %d", ok, rec.Code)
	} else if _, has := middleware.FromContext(r2.Context()); has {
		t.Fatal("an anonymous form post got claims")
	}
}

func TestTokenSourcesConfig(t *testing.T) {
	for _, name := range []string{"a b", "a;b", "a=b", "é"} {
		_, err := middleware.New(middleware.Config{Issuers: []string{"https://as.example"}, Audiences: []string{"a"},
			Keys: &keyset.Set{}, TokenSources: middleware.TokenSources{Cookie: name}})
		if err == nil || !strings.Contains(err.Error(), "cookie name") {
			t.Errorf("cookie %q: %v", name, err)
		}
	}
}

// CORS preflights pass unauthenticated only when asked.
func TestPassPreflight(t *testing.T) {
	_, v := providerValidator(t, nil)
	preflight := func() *http.Request {
		r := httptest.NewRequest("OPTIONS", "/api", nil)
		r.Header.Set("Origin", "https://app.example.com")
		r.Header.Set("Access-Control-Request-Method", "POST")
		return r
	}
	rule, err := middleware.Scopes(scopes.All("write:invoices"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pass := range []bool{false, true} {
		g, err := middleware.NewGuard(middleware.Options{Validator: v, PassPreflight: pass})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		r, ok := g.Authenticate(rec, preflight())
		if ok != pass {
			t.Fatalf("PassPreflight %v: Authenticate ok = %v (status %d)", pass, ok, rec.Code)
		}
		if !pass {
			continue
		}
		if _, has := middleware.FromContext(r.Context()); has {
			t.Fatal("a preflight got claims")
		}
		if !g.Require(httptest.NewRecorder(), r, rule) || !g.RequireOrganization(httptest.NewRecorder(), r, "org_acme") {
			t.Fatal("a passed preflight was stopped by a rule")
		}
		// Not a preflight: OPTIONS without Access-Control-Request-Method.
		plain := httptest.NewRequest("OPTIONS", "/api", nil)
		if _, ok := g.Authenticate(httptest.NewRecorder(), plain); ok {
			t.Fatal("OPTIONS without Access-Control-Request-Method passed")
		}
		if g.Require(httptest.NewRecorder(), plain, rule) {
			t.Fatal("Require passed an OPTIONS request that is no preflight")
		}
	}
}

// FuzzTokenSources sends arbitrary query strings, cookie headers, form
// bodies, content types, methods and Authorization headers to Authenticate
// with every token source on. Properties: no panic; every error is an
// *Error of a request-level kind (no credentials, invalid request, invalid
// token); the body the handler reads afterwards is the body sent, byte for
// byte; and a valid token alone in the header or the cookie of a GET is
// accepted.
func FuzzTokenSources(f *testing.F) {
	p, err := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.test", Algs: []string{"EdDSA"}, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	v, err := middleware.New(middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()}, Keys: p.KeySet(),
		Now: func() time.Time { return now }, TokenSources: middleware.TokenSources{Cookie: "at", Form: true, Query: true}})
	if err != nil {
		f.Fatal(err)
	}
	tok, err := p.Mint(authtest.Token{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("POST", "access_token=VALID", "", "application/x-www-form-urlencoded", "a=b", "")
	f.Add("GET", "", "at=VALID", "", "", "")
	f.Add("GET", "", "", "", "", "Bearer VALID")
	f.Add("GET", "", "", "", "x", "Bearer VALID")
	f.Add("PUT", "access_token=x&access_token=y", "at=a; at=b", "application/x-www-form-urlencoded; charset=utf-8", "access_token=%zz", "Basic x")
	f.Add("PATCH", "access_token=", "at=", "application/x-www-form-urlencoded", strings.Repeat("a", 70000), "")
	f.Fuzz(func(t *testing.T, method, query, cookie, contentType, body, auth string) {
		expand := func(s string) string { return strings.ReplaceAll(s, "VALID", tok) }
		query, cookie, body, auth = expand(query), expand(cookie), expand(body), expand(auth)
		if method == "" || strings.ContainsAny(method, " \t\r\n()<>@,;:\\\"/[]?={}") || len(method) > 10 {
			method = "POST"
		}
		r, err := http.NewRequest(method, "https://api.example.test/x", strings.NewReader(body))
		if err != nil {
			return
		}
		r.URL.RawQuery = query
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		// One valid token in one place, nothing else: it must pass.
		oneHeader := auth == "Bearer "+tok && cookie == "" && query == "" && method == "GET"
		oneCookie := cookie == "at="+tok && auth == "" && query == "" && method == "GET"
		c, err := v.Authenticate(r)
		if (oneHeader || oneCookie) && err != nil {
			t.Fatalf("a valid token in one place refused: %v", err)
		}
		if rest, _ := io.ReadAll(r.Body); string(rest) != body {
			t.Fatalf("the handler would read %d bytes, not the %d sent", len(rest), len(body))
		}
		if err != nil {
			var e *middleware.Error
			if !errors.As(err, &e) || !(errors.Is(err, middleware.ErrNoCredentials) || errors.Is(err, middleware.ErrInvalidRequest) ||
				errors.Is(err, middleware.ErrInvalidToken)) {
				t.Fatalf("error %T %v", err, err)
			}
			if strings.Contains(e.Description, tok) {
				t.Fatal("the description repeats the token")
			}
			return
		}
		if c == nil || c.Subject != authtest.DefaultSubject {
			t.Fatalf("accepted without the claims: %+v", c)
		}
	})
}

// AuthenticateAuthorization: the Authorization values of another transport.
func TestAuthenticateAuthorization(t *testing.T) {
	p, v := providerValidator(t, nil)
	tok, _ := p.Mint(authtest.Token{})
	bound, _ := p.Mint(authtest.Token{Claims: map[string]any{"cnf": map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}})
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		vals []string
		want error
	}{
		{"bearer_accepted", []string{"Bearer " + tok}, nil},
		{"lowercase_scheme_accepted", []string{"bearer " + tok}, nil},
		{"none_no_credentials", nil, middleware.ErrNoCredentials},
		{"dpop_scheme_no_credentials", []string{"DPoP " + tok}, middleware.ErrNoCredentials},
		{"two_values_invalid_request", []string{"Bearer " + tok, "Bearer " + tok}, middleware.ErrInvalidRequest},
		{"not_token68_invalid_request", []string{`Bearer a"b`}, middleware.ErrInvalidRequest},
		{"bound_token_refused", []string{"Bearer " + bound}, middleware.ErrBoundToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.AuthenticateAuthorization(ctx, tc.vals)
			if tc.want == nil {
				if err != nil || c.Subject != authtest.DefaultSubject {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

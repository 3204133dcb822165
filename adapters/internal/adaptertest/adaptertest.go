// Package adaptertest holds the fixture and the table of cases that the
// net/http and gin adapters' tests share, so both are held to one spec
// (RFC 6750 §3, RFC 9728 §5.1). It does not import gin.
package adaptertest

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/keyset"

	"github.com/clientcasa/oauthguard/adapters/httpauth"
	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
)

// Metadata is the resource_metadata URL the fixture's Renderer announces.
const Metadata = "https://api.example.test/.well-known/oauth-protected-resource"

// Renderer is the Renderer both adapters are built with in the tests.
var Renderer = middleware.Renderer{Realm: "api", ResourceMetadata: Metadata, RetryAfter: 7 * time.Second}

// Routes every adapter test router serves, each behind the guards named:
//
//	GET /me                   Authenticate
//	GET /optional             Optional
//	POST /invoices            Authenticate, RequireAll("write:invoices")
//	GET /orgs/{org}/clients   Authenticate, RequireAll("read:clients"), RequireOrganization(org)
//	GET /unguarded-scope      RequireAll("read:clients") without Authenticate
//	GET /unguarded-org        RequireOrganization(org_acme) without Authenticate
//	GET /tier                 Authenticate, Require(TierGold)
//	GET /roles                Authenticate, Require(BillingRole)
//	GET /trusted              Authenticate, Require(TrustedClient)
//	OPTIONS /me               Authenticate (a CORS handler would answer it)
const (
	Me             = "/me"
	Optional       = "/optional"
	Invoices       = "/invoices"
	AcmeClients    = "/orgs/org_acme/clients"
	GlobexClients  = "/orgs/org_globex/clients"
	UnguardedScope = "/unguarded-scope"
	UnguardedOrg   = "/unguarded-org"
	Tier           = "/tier"
	Roles          = "/roles"
	Trusted        = "/trusted"
)

// The claim rules of the /tier, /roles and /trusted routes.
var (
	TierGold      = mustRule(middleware.ClaimEquals("tier", "gold"))
	BillingRole   = mustRule(middleware.ClaimIncludes("roles", "billing"))
	TrustedClient = mustRule(middleware.ClaimCheck("the access token's client may not call this route",
		func(c *middleware.Claims) bool { return c.ClientID == "cli_trusted" }))
)

func mustRule(r middleware.Rule, err error) middleware.Rule {
	if err != nil {
		panic(err)
	}
	return r
}

// Cookie is the token cookie of the Browser target.
const Cookie = "access_token"

// Target selects the guard a case's request goes to.
type Target int

const (
	// Main: Fixture.Validator, the defaults (the Authorization header only).
	Main Target = iota
	// Down: Fixture.Down, whose keys never arrived.
	Down
	// Browser: Fixture.Browser (tokens also from the Cookie cookie, the
	// form body and the query) with CORS preflights passed.
	Browser
)

// Targets are every Target.
var Targets = []Target{Main, Down, Browser}

// Fixture is an in-memory authorization server and two validators over it.
type Fixture struct {
	// Provider mints the tokens; its keys reach Validator as a static JWKS.
	Provider *authtest.Provider
	// Validator accepts Provider's tokens.
	Validator *middleware.Validator
	// Down's key source never obtained keys (its JWKS answers 500), so every
	// token meets 503.
	Down *middleware.Validator
	// Browser is Validator that also reads tokens from the Cookie cookie,
	// the form body and the access_token query parameter.
	Browser *middleware.Validator
}

// Options are the guard options of target on, with onError as OnError.
func (f *Fixture) Options(on Target, onError func(*http.Request, error)) middleware.Options {
	o := middleware.Options{Validator: f.Validator, Renderer: Renderer, OnError: onError}
	switch on {
	case Down:
		o.Validator = f.Down
	case Browser:
		o.Validator, o.PassPreflight = f.Browser, true
	}
	return o
}

// Routers builds an adapter's router for every Target.
func (f *Fixture) Routers(t testing.TB, build RouterFunc) map[Target]http.Handler {
	t.Helper()
	out := map[Target]http.Handler{}
	for _, on := range Targets {
		out[on] = build(t, f.Options(on, nil))
	}
	return out
}

// New builds a Fixture. The Down validator fetches from a loopback httptest
// server; nothing else leaves the process.
func New(t testing.TB) *Fixture {
	t.Helper()
	p, err := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.test", Algs: []string{"EdDSA", "ES256"}})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	// Opaque tokens are introspected in process by the same provider.
	v, err := middleware.New(middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()}, Keys: p.KeySet(),
		Introspector: p, IntrospectionTTL: -1})
	if err != nil {
		t.Fatal(err)
	}

	as, err := authtest.Start(authtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(as.Close)
	as.SetFault(authtest.Fault500)
	down, err := jwks.New(jwks.Config{JWKSURL: as.JWKSURL(), Logger: quiet,
		UnknownKIDWait: 10 * time.Millisecond, RetryMin: time.Hour, RetryMax: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(down.Close)
	dv, err := middleware.New(middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()}, Keys: down})
	if err != nil {
		t.Fatal(err)
	}
	bv, err := middleware.New(middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()}, Keys: p.KeySet(),
		Introspector: p, IntrospectionTTL: -1,
		TokenSources: middleware.TokenSources{Cookie: Cookie, Form: true, Query: true}})
	if err != nil {
		t.Fatal(err)
	}
	return &Fixture{Provider: p, Validator: v, Down: dv, Browser: bv}
}

// Mint mints a token with the default claims changed by claims (nil removes
// a claim) and header.
func (f *Fixture) Mint(t testing.TB, alg string, claims, header map[string]any) string {
	t.Helper()
	s, err := f.Provider.Mint(authtest.Token{Alg: alg, Claims: claims, Header: header})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Hello is the handler behind every guard: it answers 200 with the subject
// of the claims in the context, or "anonymous".
func Hello(w http.ResponseWriter, r *http.Request) {
	body := "anonymous\n"
	if c, ok := middleware.FromContext(r.Context()); ok {
		body = "hello " + c.Subject + " of " + c.OrganizationID + "\n"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, body)
}

// HTTPRouter serves the routes through httpauth guards made with o.
func HTTPRouter(t testing.TB, o middleware.Options) http.Handler {
	t.Helper()
	g, err := httpauth.New(o)
	if err != nil {
		t.Fatal(err)
	}
	write, err := g.RequireAll("write:invoices")
	if err != nil {
		t.Fatal(err)
	}
	read, err := g.RequireAny("read:clients")
	if err != nil {
		t.Fatal(err)
	}
	hello := http.HandlerFunc(Hello)
	acme := func(*http.Request) string { return "org_acme" }
	mux := http.NewServeMux()
	mux.Handle("GET "+Me, g.Authenticate(hello))
	mux.Handle("GET "+Optional, g.Optional(hello))
	mux.Handle("POST "+Invoices, g.Authenticate(write(hello)))
	mux.Handle("GET /orgs/{org}/clients", g.Authenticate(read(g.RequireOrganization(httpauth.PathValue("org"))(hello))))
	mux.Handle("GET "+UnguardedScope, read(hello))
	mux.Handle("GET "+UnguardedOrg, g.RequireOrganization(acme)(hello))
	mux.Handle("GET "+Tier, g.Authenticate(g.Require(TierGold)(hello)))
	mux.Handle("GET "+Roles, g.Authenticate(g.Require(BillingRole)(hello)))
	mux.Handle("GET "+Trusted, g.Authenticate(g.Require(TrustedClient)(hello)))
	mux.Handle("OPTIONS "+Me, g.Authenticate(g.Require(TierGold)(hello)))
	return mux
}

// Case is one request and the answer the spec demands.
type Case struct {
	Name   string
	Method string // zero: GET
	Path   string
	// Auth lists the Authorization header values to send (none when empty).
	Auth []string
	// DPoP, when set, gives the DPoP header values of each request (proofs
	// are one-time: each request needs fresh ones).
	DPoP func() []string
	// On is the guard the request goes to.
	On Target
	// Cookie, when set, is sent as the Cookie cookie; Form, when set, is
	// the body, sent as application/x-www-form-urlencoded; Header adds
	// request headers.
	Cookie, Form string
	Header       map[string]string

	Status int
	// Code is the body's error member; for a 400, 401 or insufficient_scope
	// 403 also the challenge's error parameter ("unauthorized": bare challenge).
	Code string
	// Scope is the challenge's scope parameter of a 403 insufficient_scope.
	Scope string
	// Scheme is the challenge's scheme when not Bearer ("DPoP").
	Scheme string
	// Body is the exact body of a 200.
	Body string
	// Private demands "Cache-Control: private" on the 200 (a token from
	// the query, RFC 6750 §2.3).
	Private bool
}

// Request builds c's request.
func (c Case) Request() *http.Request {
	m := c.Method
	if m == "" {
		m = http.MethodGet
	}
	var body io.Reader
	if c.Form != "" {
		body = strings.NewReader(c.Form)
	}
	r := httptest.NewRequest(m, c.Path, body)
	if c.Form != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.Cookie != "" {
		r.AddCookie(&http.Cookie{Name: Cookie, Value: c.Cookie})
	}
	for k, v := range c.Header {
		r.Header.Set(k, v)
	}
	for _, a := range c.Auth {
		r.Header.Add("Authorization", a)
	}
	if c.DPoP != nil {
		for _, p := range c.DPoP() {
			r.Header.Add("DPoP", p)
		}
	}
	return r
}

// Cases is the table both adapters must pass. The names are the spec.
func (f *Fixture) Cases(t testing.TB) []Case {
	t.Helper()
	rw := map[string]any{"scope": "read:clients write:invoices"}
	valid := f.Mint(t, "EdDSA", rw, nil)
	bearer := func(tok string) []string { return []string{"Bearer " + tok} }
	// Signed by a key of another provider under a kid this provider publishes.
	other, err := authtest.NewProvider(authtest.Options{Issuer: f.Provider.Issuer(), Algs: []string{"EdDSA"}})
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Mint(authtest.Token{KID: f.Provider.KIDs("EdDSA")[0], Claims: rw})
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-2 * time.Hour)
	hello := "hello " + authtest.DefaultSubject + " of org_acme\n"
	opaque, err := f.Provider.MintOpaque(authtest.Token{Scopes: []string{"read:clients", "write:invoices"}})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := f.Provider.MintOpaque(authtest.Token{})
	if err != nil {
		t.Fatal(err)
	}
	f.Provider.Revoke(revoked)
	// A DPoP-bound token, and proofs of its key for each request.
	key, err := authtest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	bound := f.Mint(t, "EdDSA", map[string]any{"scope": "read:clients write:invoices", "cnf": map[string]any{"jkt": key.Thumbprint()}}, nil)
	boundReader := f.Mint(t, "EdDSA", map[string]any{"scope": "read:clients", "cnf": map[string]any{"jkt": key.Thumbprint()}}, nil)
	dpopAuth := []string{"DPoP " + bound}
	proofsFor := func(tok, path, method string, n int) func() []string {
		return func() []string {
			var out []string
			for range n {
				p, err := key.Proof(method, "http://example.com"+path, tok)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, p)
			}
			return out
		}
	}
	proofs := func(path, method string, n int) func() []string { return proofsFor(bound, path, method, n) }
	used, err := key.Proof("GET", "http://example.com"+Me, bound)
	if err != nil {
		t.Fatal(err)
	}
	replayed := func() []string { return []string{used} }
	// Use it once, so that the case's request is a replay.
	once := httptest.NewRequest("GET", Me, nil)
	once.Header.Set("Authorization", "DPoP "+bound)
	once.Header.Set("DPoP", used)
	if _, err := f.Validator.Authenticate(once); err != nil {
		t.Fatalf("first use of the proof: %v", err)
	}

	return []Case{
		// RFC 6750 §3.1: no credentials, or another scheme, is a bare challenge.
		{Name: "no_header_bare_challenge", Path: Me, Status: 401, Code: "unauthorized"},
		{Name: "basic_scheme_bare_challenge", Path: Me, Auth: []string{"Basic eHl6"}, Status: 401, Code: "unauthorized"},
		// Malformed Bearer credentials (RFC 6750 §2.1 allows exactly one token68).
		{Name: "bearer_without_token_invalid_request", Path: Me, Auth: []string{"Bearer"}, Status: 400, Code: "invalid_request"},
		{Name: "bearer_two_tokens_invalid_request", Path: Me, Auth: []string{"Bearer a b"}, Status: 400, Code: "invalid_request"},
		{Name: "two_authorization_headers_invalid_request", Path: Me, Auth: []string{"Bearer " + valid, "Bearer " + valid}, Status: 400, Code: "invalid_request"},
		{Name: "non_token68_chars_invalid_request", Path: Me, Auth: []string{`Bearer a"b`}, Status: 400, Code: "invalid_request"},
		// The scheme is case-insensitive (RFC 7235 §2.1).
		{Name: "lowercase_scheme_accepted", Path: Me, Auth: []string{"bearer " + valid}, Status: 200, Body: hello},
		{Name: "valid_token_accepted", Path: Me, Auth: bearer(valid), Status: 200, Body: hello},
		// Every bad token is 401 invalid_token.
		{Name: "expired_invalid_token", Path: Me, Auth: bearer(f.Mint(t, "EdDSA", map[string]any{"exp": past.Unix(), "iat": past.Add(-time.Hour).Unix()}, nil)), Status: 401, Code: "invalid_token"},
		{Name: "bad_signature_invalid_token", Path: Me, Auth: bearer(forged), Status: 401, Code: "invalid_token"},
		{Name: "wrong_audience_invalid_token", Path: Me, Auth: bearer(f.Mint(t, "EdDSA", map[string]any{"aud": "https://other.example.test"}, nil)), Status: 401, Code: "invalid_token"},
		{Name: "wrong_issuer_invalid_token", Path: Me, Auth: bearer(f.Mint(t, "EdDSA", map[string]any{"iss": "https://evil.example.test"}, nil)), Status: 401, Code: "invalid_token"},
		{Name: "unknown_kid_invalid_token", Path: Me, Auth: bearer(f.mintKID(t, "unknown-kid")), Status: 401, Code: "invalid_token"},
		{Name: "missing_organization_invalid_token", Path: Me, Auth: bearer(f.Mint(t, "EdDSA", map[string]any{"organizationId": nil}, nil)), Status: 401, Code: "invalid_token"},
		{Name: "garbage_token_invalid_token", Path: Me, Auth: []string{"Bearer not.a.jwt"}, Status: 401, Code: "invalid_token"},
		// Opaque tokens, by introspection (RFC 7662).
		{Name: "opaque_token_accepted", Path: Me, Auth: bearer(opaque), Status: 200, Body: hello},
		{Name: "opaque_token_scopes_from_introspection", Method: "POST", Path: Invoices, Auth: bearer(opaque), Status: 200, Body: hello},
		{Name: "revoked_opaque_token_invalid_token", Path: Me, Auth: bearer(revoked), Status: 401, Code: "invalid_token"},
		// DPoP (RFC 9449), allowed by default: a bound token with its proof.
		{Name: "dpop_bound_token_with_proof_accepted", Path: Me, Auth: dpopAuth, DPoP: proofs(Me, "GET", 1), Status: 200, Body: hello},
		{Name: "dpop_bound_token_with_proof_for_post", Method: "POST", Path: Invoices, Auth: dpopAuth, DPoP: proofs(Invoices, "POST", 1), Status: 200, Body: hello},
		{Name: "dpop_bound_token_as_bearer_invalid_token", Path: Me, Auth: bearer(bound), Status: 401, Code: "invalid_token"},
		{Name: "dpop_scheme_unbound_token_invalid_token", Path: Me, Auth: []string{"DPoP " + valid}, DPoP: proofs(Me, "GET", 1), Status: 401, Code: "invalid_token", Scheme: "DPoP"},
		{Name: "dpop_without_proof_invalid_dpop_proof", Path: Me, Auth: dpopAuth, Status: 401, Code: "invalid_dpop_proof", Scheme: "DPoP"},
		{Name: "dpop_two_proofs_invalid_dpop_proof", Path: Me, Auth: dpopAuth, DPoP: proofs(Me, "GET", 2), Status: 401, Code: "invalid_dpop_proof", Scheme: "DPoP"},
		{Name: "dpop_proof_for_other_method_invalid_dpop_proof", Path: Me, Auth: dpopAuth, DPoP: proofs(Me, "POST", 1), Status: 401, Code: "invalid_dpop_proof", Scheme: "DPoP"},
		{Name: "dpop_proof_for_other_url_invalid_dpop_proof", Path: Me, Auth: dpopAuth, DPoP: proofs(Optional, "GET", 1), Status: 401, Code: "invalid_dpop_proof", Scheme: "DPoP"},
		{Name: "dpop_replayed_proof_invalid_dpop_proof", Path: Me, Auth: dpopAuth, DPoP: replayed, Status: 401, Code: "invalid_dpop_proof", Scheme: "DPoP"},
		{Name: "dpop_proof_with_bearer_scheme_invalid_dpop_proof", Path: Me, Auth: bearer(valid), DPoP: proofs(Me, "GET", 1), Status: 401, Code: "invalid_dpop_proof", Scheme: "DPoP"},
		{Name: "dpop_scope_missing_insufficient_scope", Method: "POST", Path: Invoices, Auth: []string{"DPoP " + boundReader}, DPoP: proofsFor(boundReader, Invoices, "POST", 1), Status: 403, Code: "insufficient_scope", Scope: "write:invoices", Scheme: "DPoP"},
		{Name: "unknown_opaque_token_invalid_token", Path: Me, Auth: []string{"Bearer no-such-opaque-token"}, Status: 401, Code: "invalid_token"},
		// Optional: anonymous only without any Authorization header.
		{Name: "optional_no_header_anonymous", Path: Optional, Status: 200, Body: "anonymous\n"},
		{Name: "optional_valid_token_claims", Path: Optional, Auth: bearer(valid), Status: 200, Body: hello},
		{Name: "optional_bad_token_rejected", Path: Optional, Auth: bearer(forged), Status: 401, Code: "invalid_token"},
		{Name: "optional_malformed_rejected", Path: Optional, Auth: []string{"Bearer"}, Status: 400, Code: "invalid_request"},
		{Name: "optional_other_scheme_rejected", Path: Optional, Auth: []string{"Basic eHl6"}, Status: 401, Code: "unauthorized"},
		// Scopes (RFC 6750 §3.1 insufficient_scope names the scope needed).
		{Name: "scope_present_accepted", Method: "POST", Path: Invoices, Auth: bearer(valid), Status: 200, Body: hello},
		{Name: "scope_missing_insufficient_scope", Method: "POST", Path: Invoices, Auth: bearer(f.Mint(t, "ES256", map[string]any{"scope": "read:clients"}, nil)), Status: 403, Code: "insufficient_scope", Scope: "write:invoices"},
		{Name: "no_scope_claim_insufficient_scope", Method: "POST", Path: Invoices, Auth: bearer(f.Mint(t, "ES256", nil, nil)), Status: 403, Code: "insufficient_scope", Scope: "write:invoices"},
		{Name: "scope_needs_token_first", Method: "POST", Path: Invoices, Status: 401, Code: "unauthorized"},
		// Organization, checked after the scope.
		{Name: "same_organization_accepted", Path: AcmeClients, Auth: bearer(valid), Status: 200, Body: hello},
		{Name: "other_organization_forbidden", Path: GlobexClients, Auth: bearer(valid), Status: 403, Code: "forbidden"},
		{Name: "scope_checked_before_organization", Path: GlobexClients, Auth: bearer(f.Mint(t, "EdDSA", nil, nil)), Status: 403, Code: "insufficient_scope", Scope: "read:clients"},
		// Guards without Authenticate in front fail closed like a missing token.
		{Name: "scope_guard_without_claims_unauthorized", Path: UnguardedScope, Auth: bearer(valid), Status: 401, Code: "unauthorized"},
		{Name: "org_guard_without_claims_unauthorized", Path: UnguardedOrg, Auth: bearer(valid), Status: 401, Code: "unauthorized"},
		// No signing keys ever fetched: 503 with Retry-After, never 401.
		{Name: "keys_unavailable_503", Path: Me, Auth: bearer(valid), On: Down, Status: 503, Code: "temporarily_unavailable"},
		{Name: "keys_unavailable_no_token_still_401", Path: Me, On: Down, Status: 401, Code: "unauthorized"},
		// Claim rules: 403 forbidden with a description naming the claim.
		{Name: "claim_equals_accepted", Path: Tier, Auth: bearer(f.Mint(t, "EdDSA", map[string]any{"tier": "gold"}, nil)), Status: 200, Body: hello},
		{Name: "claim_equals_other_value_forbidden", Path: Tier, Auth: bearer(f.Mint(t, "EdDSA", map[string]any{"tier": "silver"}, nil)), Status: 403, Code: "forbidden"},
		{Name: "claim_equals_missing_forbidden", Path: Tier, Auth: bearer(valid), Status: 403, Code: "forbidden"},
		{Name: "claim_includes_accepted", Path: Roles, Auth: bearer(f.Mint(t, "EdDSA", map[string]any{"roles": []string{"support", "billing"}}, nil)), Status: 200, Body: hello},
		{Name: "claim_includes_lacking_forbidden", Path: Roles, Auth: bearer(f.Mint(t, "EdDSA", map[string]any{"roles": []string{"support"}}, nil)), Status: 403, Code: "forbidden"},
		{Name: "claim_check_accepted", Path: Trusted, Auth: bearer(f.Mint(t, "EdDSA", map[string]any{"client_id": "cli_trusted"}, nil)), Status: 200, Body: hello},
		{Name: "claim_check_refused_forbidden", Path: Trusted, Auth: bearer(valid), Status: 403, Code: "forbidden"},
		{Name: "claim_rule_needs_token_first", Path: Tier, Status: 401, Code: "unauthorized"},
		// Tokens from elsewhere than the header, opted in (RFC 6750 §2.2-2.3).
		{Name: "cookie_token_accepted", Path: Me, Cookie: valid, On: Browser, Status: 200, Body: hello},
		{Name: "query_token_accepted_private", Path: Me + "?access_token=" + valid, On: Browser, Status: 200, Body: hello, Private: true},
		{Name: "form_token_accepted", Method: "POST", Path: Invoices, Form: "access_token=" + valid + "&amount=5", On: Browser, Status: 200, Body: hello},
		{Name: "header_and_cookie_invalid_request", Path: Me, Auth: bearer(valid), Cookie: valid, On: Browser, Status: 400, Code: "invalid_request"},
		{Name: "cookie_and_query_invalid_request", Path: Me + "?access_token=" + valid, Cookie: valid, On: Browser, Status: 400, Code: "invalid_request"},
		{Name: "bad_cookie_token_invalid_token", Path: Me, Cookie: "not.a.jwt", On: Browser, Status: 401, Code: "invalid_token"},
		{Name: "optional_cookie_token_claims", Path: Optional, Cookie: valid, On: Browser, Status: 200, Body: hello},
		{Name: "default_ignores_cookie", Path: Me, Cookie: valid, Status: 401, Code: "unauthorized"},
		{Name: "default_ignores_query", Path: Me + "?access_token=" + valid, Status: 401, Code: "unauthorized"},
		// CORS preflights: through when opted in, else like any request.
		{Name: "preflight_passed_when_opted_in", Method: "OPTIONS", Path: Me, Header: map[string]string{"Origin": "https://app.example.test", "Access-Control-Request-Method": "POST"},
			On: Browser, Status: 200, Body: "anonymous\n"},
		{Name: "preflight_needs_credentials_by_default", Method: "OPTIONS", Path: Me, Header: map[string]string{"Origin": "https://app.example.test", "Access-Control-Request-Method": "POST"},
			Status: 401, Code: "unauthorized"},
		{Name: "options_without_request_method_not_a_preflight", Method: "OPTIONS", Path: Me, On: Browser, Status: 401, Code: "unauthorized"},
	}
}

// mintKID mints a valid token whose kid the JWKS does not hold.
func (f *Fixture) mintKID(t testing.TB, kid string) string {
	t.Helper()
	s, err := f.Provider.Mint(authtest.Token{Alg: "EdDSA", KID: kid})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Check asserts that rec is the answer c demands.
func Check(t testing.TB, c Case, rec *httptest.ResponseRecorder) {
	t.Helper()
	h := rec.Header()
	if rec.Code != c.Status {
		t.Fatalf("status %d, want %d (body %q)", rec.Code, c.Status, rec.Body)
	}
	if c.Status == http.StatusOK {
		if got := rec.Body.String(); got != c.Body {
			t.Errorf("body %q, want %q", got, c.Body)
		}
		if v := h.Values("WWW-Authenticate"); len(v) != 0 {
			t.Errorf("WWW-Authenticate %q on a 200", v)
		}
		if got := h.Get("Cache-Control"); c.Private != (got == "private") {
			t.Errorf("Cache-Control %q (private wanted: %v)", got, c.Private)
		}
		return
	}

	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" {
		t.Errorf("X-Content-Type-Options %q, Cache-Control %q; want nosniff, no-store", h.Get("X-Content-Type-Options"), h.Get("Cache-Control"))
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", rec.Body, err)
	}
	if body["error"] != c.Code {
		t.Errorf("body error %v, want %q", body["error"], c.Code)
	}
	if d, _ := body["error_description"].(string); d == "" {
		t.Errorf("body %q has no error_description", rec.Body)
	}

	ch := h.Values("WWW-Authenticate")
	switch {
	case c.Code == "unauthorized":
		// Both schemes are accepted (DPoP allowed, the default): both
		// challenges, Bearer first (RFC 6750 §3.1, RFC 9449 §7.1).
		want := []string{`Bearer realm="api", resource_metadata="` + Metadata + `"`,
			`DPoP algs="` + strings.Join(keyset.Algorithms(), " ") + `", resource_metadata="` + Metadata + `"`}
		if !slices.Equal(ch, want) {
			t.Errorf("WWW-Authenticate %q, want exactly %q", ch, want)
		}
	case c.Scheme == "DPoP":
		prefix := `DPoP algs="` + strings.Join(keyset.Algorithms(), " ") + `", error="` + c.Code + `", error_description="`
		if len(ch) != 1 || !strings.HasPrefix(ch[0], prefix) || !strings.HasSuffix(ch[0], `, resource_metadata="`+Metadata+`"`) {
			t.Errorf("WWW-Authenticate %q, want one DPoP challenge with error=%q and resource_metadata", ch, c.Code)
		}
		if c.Scope != "" && !strings.Contains(ch[0], `, scope="`+c.Scope+`"`) {
			t.Errorf("WWW-Authenticate %q lacks scope=%q", ch[0], c.Scope)
		}
	case c.Status == 400 || c.Status == 401 || c.Code == "insufficient_scope":
		if len(ch) != 1 || !strings.HasPrefix(ch[0], `Bearer realm="api", error="`+c.Code+`", error_description="`) ||
			!strings.HasSuffix(ch[0], `, resource_metadata="`+Metadata+`"`) {
			t.Errorf("WWW-Authenticate %q, want error=%q and resource_metadata", ch, c.Code)
		}
		if c.Scope != "" && !strings.Contains(ch[0], `, scope="`+c.Scope+`"`) {
			t.Errorf("WWW-Authenticate %q lacks scope=%q", ch[0], c.Scope)
		}
	default: // 403 forbidden, 503: no challenge (RFC 6750 §3 covers 400, 401 and insufficient_scope).
		if len(ch) != 0 {
			t.Errorf("WWW-Authenticate %q on a %d", ch, c.Status)
		}
	}

	if got, want := h.Get("Retry-After"), map[bool]string{true: "7"}[c.Status == 503]; got != want {
		t.Errorf("Retry-After %q, want %q", got, want)
	}
	for _, leak := range []string{"jwks", "kid", "key set", "500", "127.0.0.1"} {
		if strings.Contains(strings.ToLower(rec.Body.String()), leak) {
			t.Errorf("body %q leaks %q", rec.Body, leak)
		}
	}
}

// RouterFunc builds an adapter's test router (the routes above) with guards
// made with o.
type RouterFunc func(t testing.TB, o middleware.Options) http.Handler

// CheckOnError asserts that an adapter calls OnError once, with a
// *middleware.Error of the answered status, for every rejected request of the
// table, and never for an accepted one.
func CheckOnError(t *testing.T, router RouterFunc) {
	t.Helper()
	f := New(t)
	var got []error
	routers := map[Target]http.Handler{}
	for _, on := range Targets {
		routers[on] = router(t, f.Options(on, func(r *http.Request, err error) { got = append(got, err) }))
	}
	for _, c := range f.Cases(t) {
		got = nil
		routers[c.On].ServeHTTP(httptest.NewRecorder(), c.Request())
		var e *middleware.Error
		switch {
		case c.Status == http.StatusOK && len(got) != 0:
			t.Errorf("%s: OnError called for an accepted request: %v", c.Name, got)
		case c.Status != http.StatusOK && (len(got) != 1 || !errors.As(got[0], &e) || e.Status != c.Status):
			t.Errorf("%s: OnError got %v, want one *middleware.Error with status %d", c.Name, got, c.Status)
		}
	}
}

// InvalidRequirements are scope requirements every adapter must refuse at
// set-up with an error wrapping scopes.ErrInvalidScope.
func InvalidRequirements() map[string]scopes.Requirement {
	return map[string]scopes.Requirement{
		"quote":   scopes.All(`read"clients`),
		"space":   scopes.Any("read clients"),
		"empty":   scopes.All(""),
		"newline": scopes.All("read\n"),
	}
}

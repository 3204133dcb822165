package example_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/dpop"
)

const audience = "https://api.example.test"

// row is one request of the contract and the answer it must get.
type row struct {
	name string
	request
	status int
	// code is the error member of the JSON body of an error. For an
	// authentication error it is also the challenge's error parameter;
	// "unauthorized" demands the bare challenge.
	code string
	// scope is the challenge's scope parameter of a 403 insufficient_scope.
	scope string
	// app marks an error of the application itself: no challenge.
	app bool
	// inspect, when set, looks at a response further.
	inspect func(t *testing.T, r response)
}

// allow checks a 405's Allow header (RFC 9110 §15.5.6: the methods the
// path serves).
func allow(want string) func(*testing.T, response) {
	return func(t *testing.T, r response) {
		t.Helper()
		if got := r.header.Get("Allow"); got != want {
			t.Errorf("Allow %q, want %q", got, want)
		}
	}
}

// rows is the contract, for tokens of as and the audience audience.
func rows(t *testing.T, as *authtest.Server) []row {
	tok := func(claims map[string]any) string { return mint(t, as.Provider, authtest.Token{Claims: claims}) }
	acmeRead := tok(map[string]any{"scope": "read:clients", "sub": "user_alice"})
	acmeWrite := tok(map[string]any{"scope": "read:clients write:invoices", "sub": "user_bob"})
	acmeNone := tok(map[string]any{"sub": "user_dan"})
	globexRead := tok(map[string]any{"scope": "read:clients", "organizationId": "org_globex"})
	past := time.Now().Add(-3 * time.Hour)
	other, err := authtest.NewProvider(authtest.Options{Issuer: as.Issuer(), Algs: []string{"EdDSA"}})
	if err != nil {
		t.Fatal(err)
	}
	forged := mint(t, other, authtest.Token{KID: as.KIDs("EdDSA")[0], Claims: map[string]any{"scope": "read:clients"}})
	header := func(alg string) string {
		h, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
		return b64(h)
	}
	payload := b64([]byte(fmt.Sprintf(`{"iss":%q,"aud":%q,"exp":%d,"organizationId":"org_acme"}`,
		as.Issuer(), audience, time.Now().Add(time.Hour).Unix())))

	clientsOf := func(org string, n int) func(t *testing.T, r response) {
		return func(t *testing.T, r response) {
			var body struct {
				Data []map[string]any `json:"data"`
			}
			if err := json.Unmarshal(r.body, &body); err != nil || body.Data == nil {
				t.Fatalf("body %q is not {\"data\": [...]}: %v", r.body, err)
			}
			if len(body.Data) != n {
				t.Errorf("%d clients, want %d: %s", len(body.Data), n, r.body)
			}
			for _, c := range body.Data {
				if c["organizationId"] != org || c["id"] == "" || c["name"] == "" || len(c) != 3 {
					t.Errorf("client %v: want id, name and organizationId %q", c, org)
				}
			}
		}
	}
	me := func(sub string, scopes ...string) func(t *testing.T, r response) {
		return func(t *testing.T, r response) {
			m := jsonOf(t, r)
			got, ok := m["scopes"].([]any)
			if m["sub"] != sub || m["organizationId"] != "org_acme" || !ok || len(got) != len(scopes) {
				t.Fatalf("body %s, want sub %q, organizationId org_acme, scopes %q", r.body, sub, scopes)
			}
			for i, s := range scopes {
				if got[i] != s {
					t.Errorf("scopes %v, want %q", got, scopes)
				}
			}
		}
	}
	invoice := func(client string, amount float64) func(t *testing.T, r response) {
		return func(t *testing.T, r response) {
			m := jsonOf(t, r)
			if id, _ := m["id"].(string); id == "" || m["clientId"] != client || m["amount"] != amount || m["organizationId"] != "org_acme" {
				t.Errorf("invoice %s, want id, clientId %q, amount %v, organizationId org_acme", r.body, client, amount)
			}
		}
	}
	inv := func(body string) request {
		return request{method: "POST", path: "/api/v1/invoices", auth: bearer(acmeWrite), body: body}
	}
	get := func(path, token string) request { return request{path: path, auth: bearer(token)} }
	big := `{"clientId":"cli_acme_1","amount":1,"pad":"` + strings.Repeat("x", 64<<10) + `"}`

	return []row{
		{name: "healthz", request: request{path: "/healthz"}, status: 200, inspect: func(t *testing.T, r response) {
			if m := jsonOf(t, r); m["status"] != "ok" {
				t.Errorf("body %s, want status ok", r.body)
			}
		}},
		{name: "readyz", request: request{path: "/readyz"}, status: 200},
		{name: "protected_resource_metadata", request: request{path: "/.well-known/oauth-protected-resource"}, status: 200,
			inspect: func(t *testing.T, r response) {
				var md struct {
					Resource string   `json:"resource"`
					AS       []string `json:"authorization_servers"`
					Scopes   []string `json:"scopes_supported"`
					Methods  []string `json:"bearer_methods_supported"`
				}
				jsonOf(t, r)
				_ = json.Unmarshal(r.body, &md)
				if md.Resource != audience || !slices.Equal(md.AS, []string{as.Issuer()}) ||
					!slices.Equal(md.Scopes, []string{"read:clients", "write:invoices"}) || !slices.Equal(md.Methods, []string{"header"}) {
					t.Errorf("metadata %s", r.body)
				}
			}},

		// GET /api/v1/me: any valid token.
		{name: "me_valid", request: get("/api/v1/me", acmeRead), status: 200, inspect: me("user_alice", "read:clients")},
		{name: "me_no_scopes_is_empty_array", request: get("/api/v1/me", acmeNone), status: 200, inspect: func(t *testing.T, r response) {
			me("user_dan")(t, r)
			if !strings.Contains(string(r.body), `"scopes":[]`) {
				t.Errorf("body %s, want \"scopes\":[]", r.body)
			}
		}},
		{name: "me_lowercase_scheme", request: request{path: "/api/v1/me", auth: []string{"bearer " + acmeRead}}, status: 200},
		{name: "me_aud_array_containing_audience", request: get("/api/v1/me", tok(map[string]any{"aud": []string{"https://other.example", audience}})), status: 200},
		{name: "me_typ_jwt", request: get("/api/v1/me", mint(t, as.Provider, authtest.Token{Header: map[string]any{"typ": "JWT"}})), status: 200},
		{name: "me_no_typ", request: get("/api/v1/me", mint(t, as.Provider, authtest.Token{Header: map[string]any{"typ": nil}})), status: 200},
		{name: "me_rs256", request: get("/api/v1/me", mint(t, as.Provider, authtest.Token{Alg: "RS256"})), status: 200},
		{name: "me_es256", request: get("/api/v1/me", mint(t, as.Provider, authtest.Token{Alg: "ES256"})), status: 200},

		// Authentication errors (RFC 6750 §3).
		{name: "no_credentials", request: request{path: "/api/v1/me"}, status: 401, code: "unauthorized"},
		{name: "basic_scheme", request: request{path: "/api/v1/me", auth: []string{"Basic dXNlcjpwYXNz"}}, status: 401, code: "unauthorized"},
		{name: "bearer_without_token", request: request{path: "/api/v1/me", auth: []string{"Bearer"}}, status: 400, code: "invalid_request"},
		{name: "bearer_two_tokens", request: request{path: "/api/v1/me", auth: []string{"Bearer a b"}}, status: 400, code: "invalid_request"},
		{name: "two_authorization_headers", request: request{path: "/api/v1/me", auth: []string{"Bearer " + acmeRead, "Bearer " + acmeRead}}, status: 400, code: "invalid_request"},
		{name: "token_outside_token68", request: request{path: "/api/v1/me", auth: []string{`Bearer abc"def`}}, status: 400, code: "invalid_request"},
		{name: "expired", request: get("/api/v1/me", tok(map[string]any{"exp": past.Unix(), "iat": past.Add(-time.Hour).Unix()})), status: 401, code: "invalid_token"},
		{name: "bad_signature", request: get("/api/v1/me", forged), status: 401, code: "invalid_token"},
		{name: "wrong_audience", request: get("/api/v1/me", tok(map[string]any{"aud": "https://other.example"})), status: 401, code: "invalid_token"},
		{name: "wrong_issuer", request: get("/api/v1/me", tok(map[string]any{"iss": "https://evil.example"})), status: 401, code: "invalid_token"},
		{name: "unknown_kid", request: get("/api/v1/me", mint(t, as.Provider, authtest.Token{KID: "no-such-kid"})), status: 401, code: "invalid_token"},
		{name: "missing_organization", request: get("/api/v1/me", tok(map[string]any{"organizationId": nil})), status: 401, code: "invalid_token"},
		{name: "empty_organization", request: get("/api/v1/me", tok(map[string]any{"organizationId": ""})), status: 401, code: "invalid_token"},
		{name: "missing_exp", request: get("/api/v1/me", tok(map[string]any{"exp": nil})), status: 401, code: "invalid_token"},
		{name: "alg_none", request: get("/api/v1/me", header("none")+"."+payload+"."), status: 401, code: "invalid_token"},
		{name: "alg_hs256", request: get("/api/v1/me", header("HS256")+"."+payload+".c2lnbmF0dXJl"), status: 401, code: "invalid_token"},
		{name: "garbage_token", request: get("/api/v1/me", "not.a.jwt"), status: 401, code: "invalid_token"},

		// GET /api/v1/clients: read:clients, the token's organization only.
		{name: "clients_acme", request: get("/api/v1/clients", acmeRead), status: 200, inspect: clientsOf("org_acme", 3)},
		{name: "clients_globex", request: get("/api/v1/clients", globexRead), status: 200, inspect: clientsOf("org_globex", 3)},
		{name: "clients_page_size", request: get("/api/v1/clients?pageSize=2", acmeRead), status: 200, inspect: clientsOf("org_acme", 2)},
		{name: "clients_page_size_large_capped", request: get("/api/v1/clients?pageSize=1000000", acmeRead), status: 200, inspect: clientsOf("org_acme", 3)},
		{name: "clients_page_size_huge_capped", request: get("/api/v1/clients?pageSize=99999999999999999999999", acmeRead), status: 200, inspect: clientsOf("org_acme", 3)},
		{name: "clients_page_size_zero", request: get("/api/v1/clients?pageSize=0", acmeRead), status: 400, code: "invalid_request", app: true},
		{name: "clients_page_size_negative", request: get("/api/v1/clients?pageSize=-1", acmeRead), status: 400, code: "invalid_request", app: true},
		{name: "clients_page_size_word", request: get("/api/v1/clients?pageSize=ten", acmeRead), status: 400, code: "invalid_request", app: true},
		{name: "clients_page_size_fraction", request: get("/api/v1/clients?pageSize=1.5", acmeRead), status: 400, code: "invalid_request", app: true},
		{name: "clients_page_size_empty", request: get("/api/v1/clients?pageSize=", acmeRead), status: 400, code: "invalid_request", app: true},
		{name: "clients_missing_scope", request: get("/api/v1/clients", acmeNone), status: 403, code: "insufficient_scope", scope: "read:clients"},
		{name: "clients_no_credentials", request: request{path: "/api/v1/clients"}, status: 401, code: "unauthorized"},

		// POST /api/v1/invoices: write:invoices.
		{name: "invoice_created", request: inv(`{"clientId":"cli_acme_2","amount":1234}`), status: 201, inspect: invoice("cli_acme_2", 1234)},
		{name: "invoice_missing_scope", request: request{path: "/api/v1/invoices", auth: bearer(acmeRead), body: `{"clientId":"cli_acme_2","amount":1234}`}, status: 403, code: "insufficient_scope", scope: "write:invoices"},
		{name: "invoice_client_of_other_org", request: inv(`{"clientId":"cli_globex_1","amount":1234}`), status: 404, code: "not_found", app: true},
		{name: "invoice_unknown_client", request: inv(`{"clientId":"cli_nope","amount":1234}`), status: 404, code: "not_found", app: true},
		{name: "invoice_malformed_json", request: inv(`{"clientId":`), status: 400, code: "invalid_request", app: true},
		{name: "invoice_not_an_object", request: inv(`[1,2]`), status: 400, code: "invalid_request", app: true},
		{name: "invoice_two_objects", request: inv(`{"clientId":"cli_acme_1","amount":1}{}`), status: 400, code: "invalid_request", app: true},
		{name: "invoice_zero_amount", request: inv(`{"clientId":"cli_acme_1","amount":0}`), status: 400, code: "invalid_request", app: true},
		{name: "invoice_negative_amount", request: inv(`{"clientId":"cli_acme_1","amount":-5}`), status: 400, code: "invalid_request", app: true},
		{name: "invoice_fractional_amount", request: inv(`{"clientId":"cli_acme_1","amount":12.5}`), status: 400, code: "invalid_request", app: true},
		{name: "invoice_string_amount", request: inv(`{"clientId":"cli_acme_1","amount":"12"}`), status: 400, code: "invalid_request", app: true},
		{name: "invoice_missing_client", request: inv(`{"amount":12}`), status: 400, code: "invalid_request", app: true},
		{name: "invoice_body_too_large", request: inv(big), status: 413, code: "invalid_request", app: true},
		{name: "invoice_no_credentials", request: request{path: "/api/v1/invoices", body: `{"clientId":"cli_acme_1","amount":1}`}, status: 401, code: "unauthorized"},

		// GET /api/v1/orgs/{orgId}/clients: authenticate, then scope, then organization.
		{name: "org_clients_same_org", request: get("/api/v1/orgs/org_acme/clients", acmeRead), status: 200, inspect: clientsOf("org_acme", 3)},
		{name: "org_clients_page_size", request: get("/api/v1/orgs/org_acme/clients?pageSize=1", acmeRead), status: 200, inspect: clientsOf("org_acme", 1)},
		{name: "org_clients_other_org_forbidden", request: get("/api/v1/orgs/org_globex/clients", acmeRead), status: 403, code: "forbidden"},
		{name: "org_clients_unknown_org_forbidden", request: get("/api/v1/orgs/org_nope/clients", acmeRead), status: 403, code: "forbidden"},
		{name: "org_clients_scope_before_org", request: get("/api/v1/orgs/org_globex/clients", acmeNone), status: 403, code: "insufficient_scope", scope: "read:clients"},
		{name: "org_clients_authenticate_first", request: request{path: "/api/v1/orgs/org_globex/clients"}, status: 401, code: "unauthorized"},
		{name: "org_clients_bad_token_first", request: get("/api/v1/orgs/org_globex/clients", forged), status: 401, code: "invalid_token"},

		// The application's own errors are JSON too.
		{name: "unknown_route", request: request{path: "/nope"}, status: 404, code: "not_found", app: true},
		{name: "unknown_api_route", request: get("/api/v1/nope", acmeRead), status: 404, code: "not_found", app: true},
		{name: "wrong_method_me", request: request{method: "DELETE", path: "/api/v1/me"}, status: 405, code: "method_not_allowed", app: true, inspect: allow("GET, HEAD")},
		{name: "wrong_method_invoices", request: request{method: "GET", path: "/api/v1/invoices"}, status: 405, code: "method_not_allowed", app: true, inspect: allow("POST")},
		{name: "wrong_method_healthz", request: request{method: "POST", path: "/healthz", body: "{}"}, status: 405, code: "method_not_allowed", app: true, inspect: allow("GET, HEAD")},
		{name: "wrong_method_org_clients", request: request{method: "PUT", path: "/api/v1/orgs/org_acme/clients", body: "{}"}, status: 405, code: "method_not_allowed", app: true, inspect: allow("GET, HEAD")},
		// The body must be JSON.
		{name: "invoice_text_plain_415", request: request{method: "POST", path: "/api/v1/invoices", auth: bearer(acmeWrite),
			body: `{"clientId":"cli_acme_1","amount":1}`, contentType: "text/plain"}, status: 415, code: "unsupported_media_type", app: true},
		{name: "invoice_no_content_type_415", request: request{method: "POST", path: "/api/v1/invoices", auth: bearer(acmeWrite),
			body: `{"clientId":"cli_acme_1","amount":1}`, contentType: "-"}, status: 415, code: "unsupported_media_type", app: true},
		{name: "invoice_json_with_charset", request: request{method: "POST", path: "/api/v1/invoices", auth: bearer(acmeWrite),
			body: `{"clientId":"cli_acme_1","amount":1}`, contentType: "application/json; charset=utf-8"}, status: 201, inspect: invoice("cli_acme_1", 1)},
		{name: "invoice_415_after_scope", request: request{method: "POST", path: "/api/v1/invoices", auth: bearer(acmeRead),
			body: "x", contentType: "text/plain"}, status: 403, code: "insufficient_scope", scope: "write:invoices"},
		// HEAD is answered as GET, without a body, by both.
		{name: "head_healthz", request: request{method: "HEAD", path: "/healthz"}, status: 200, inspect: noBody},
		{name: "head_me", request: request{method: "HEAD", path: "/api/v1/me", auth: bearer(acmeRead)}, status: 200, inspect: noBody},
		{name: "head_clients", request: request{method: "HEAD", path: "/api/v1/clients", auth: bearer(acmeRead)}, status: 200, inspect: noBody},
		{name: "head_metadata", request: request{method: "HEAD", path: "/.well-known/oauth-protected-resource"}, status: 200, inspect: noBody},
	}
}

// noBody demands an empty body (a HEAD answer).
func noBody(t *testing.T, r response) {
	t.Helper()
	if len(r.body) != 0 {
		t.Errorf("HEAD answered with a %d-byte body", len(r.body))
	}
}

// check asserts that r is the answer rw demands from the server at base.
func (rw row) check(t *testing.T, base string, r response) {
	t.Helper()
	if r.status != rw.status {
		t.Fatalf("status %d, want %d; body %s", r.status, rw.status, r.body)
	}
	for _, a := range rw.auth {
		if tok := strings.TrimPrefix(strings.TrimPrefix(a, "Bearer "), "bearer "); len(tok) > 8 && strings.Contains(string(r.body), tok) {
			t.Errorf("the body repeats the token")
		}
	}
	if rw.inspect != nil {
		rw.inspect(t, r)
	}
	ch := r.header.Values("WWW-Authenticate")
	if r.status < 400 {
		if len(ch) != 0 {
			t.Errorf("WWW-Authenticate %q on a %d", ch, r.status)
		}
		return
	}

	if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("error answer without the hardening headers: X-Content-Type-Options %q, Cache-Control %q",
			r.header.Get("X-Content-Type-Options"), r.header.Get("Cache-Control"))
	}
	m := jsonOf(t, r)
	if m["error"] != rw.code {
		t.Errorf("body error %v, want %q (body %s)", m["error"], rw.code, r.body)
	}
	if d, _ := m["error_description"].(string); d == "" {
		t.Errorf("body %s has no error_description", r.body)
	}
	for k := range m {
		if k != "error" && k != "error_description" && k != "scope" {
			t.Errorf("body %s has member %q", r.body, k)
		}
	}
	for _, leak := range []string{"jwks", "kid", "127.0.0.1", "panic", "goroutine"} {
		if strings.Contains(strings.ToLower(string(r.body)), leak) {
			t.Errorf("body %s leaks %q", r.body, leak)
		}
	}

	meta := `resource_metadata="` + base + `/.well-known/oauth-protected-resource"`
	challenged := !rw.app && (r.status == 400 || r.status == 401 || rw.code == "insufficient_scope")
	switch {
	case !challenged:
		if len(ch) != 0 {
			t.Errorf("WWW-Authenticate %q on a %d %s", ch, r.status, rw.code)
		}
	case rw.code == "unauthorized":
		// DPoP is allowed by default: both schemes are offered, Bearer
		// first (RFC 9449 §7.1).
		want := []string{`Bearer realm="api", ` + meta, `DPoP algs="` + strings.Join(dpop.DefaultAlgorithms(), " ") + `", ` + meta}
		if !slices.Equal(ch, want) {
			t.Errorf("WWW-Authenticate %q, want exactly %q", ch, want)
		}
	default:
		if len(ch) != 1 || !strings.HasPrefix(ch[0], `Bearer realm="api", error="`+rw.code+`", error_description="`) ||
			!strings.Contains(ch[0], meta) {
			t.Errorf("WWW-Authenticate %q, want error=%q and %s", ch, rw.code, meta)
		}
		if rw.scope != "" && !strings.Contains(ch[0], `scope="`+rw.scope+`"`) {
			t.Errorf("WWW-Authenticate %q, want scope=%q", ch, rw.scope)
		}
	}
	if r.status == http.StatusServiceUnavailable && !rw.app {
		if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 {
			t.Errorf("Retry-After %q, want a positive number of seconds", r.header.Get("Retry-After"))
		}
	}
}

// TestContract runs every row against both programs configured with an
// issuer and a JWKS URL, then demands that both answered alike: the same
// status, the same bytes of body and of WWW-Authenticate, Content-Type and
// Retry-After (the listen address aside).
func TestContract(t *testing.T) {
	as := authServer(t, authtest.Options{Audience: audience})
	table := rows(t, as)
	answers := map[string][]response{}
	var bases = map[string]string{}
	var mu sync.Mutex // the binaries' subtests run in parallel
	t.Run("each", func(t *testing.T) {
		forEachBinary(t, func(t *testing.T, bin string) {
			p := start(t, bin, nil, "-addr", "127.0.0.1:0", "-issuer", as.Issuer(), "-jwks-url", as.JWKSURL(), "-audience", audience)
			p.waitReady(t)
			got := make([]response, len(table))
			for i, rw := range table {
				t.Run(rw.name, func(t *testing.T) {
					rq := rw.request
					rq.path = p.URL + rq.path
					got[i] = do(t, rq)
					rw.check(t, p.URL, got[i])
				})
			}
			mu.Lock()
			answers[bin], bases[bin] = got, p.URL
			mu.Unlock()
		})
	})
	if t.Failed() || len(answers) != len(binaries) {
		return
	}
	norm := func(bin, s string) string { return strings.ReplaceAll(s, bases[bin], "BASE") }
	a, b := binaries[0], binaries[1]
	for i, rw := range table {
		x, y := answers[a][i], answers[b][i]
		if x.status != y.status {
			t.Errorf("%s: status %s %d, %s %d", rw.name, a, x.status, b, y.status)
		}
		if norm(a, string(x.body)) != norm(b, string(y.body)) {
			t.Errorf("%s: body\n%s %s\n%s %s", rw.name, a, x.body, b, y.body)
		}
		for _, h := range []string{"WWW-Authenticate", "Content-Type", "Retry-After", "Cache-Control"} {
			if norm(a, x.header.Get(h)) != norm(b, y.header.Get(h)) {
				t.Errorf("%s: %s %s %q, %s %q", rw.name, h, a, x.header.Get(h), b, y.header.Get(h))
			}
		}
	}
}

// TestDiscoveryFromEnvironment configures the programs through the
// environment only (the -addr flag overriding ADDR): the JWKS URL is
// discovered from the issuer's metadata.
func TestDiscoveryFromEnvironment(t *testing.T) {
	as := authServer(t, authtest.Options{Audience: audience})
	tok := mint(t, as.Provider, authtest.Token{})
	forEachBinary(t, func(t *testing.T, bin string) {
		p := start(t, bin, []string{"ADDR=127.0.0.1:1", "ISSUER=" + as.Issuer(), "AUDIENCE=" + audience}, "-addr", "127.0.0.1:0")
		p.waitReady(t)
		if r := do(t, request{path: p.URL + "/api/v1/me", auth: bearer(tok)}); r.status != 200 {
			t.Fatalf("status %d, body %s", r.status, r.body)
		}
	})
}

// TestPathIssuer uses a Better-Auth-style issuer with a path
// (https://host/api/auth): discovery finds its JWKS, and a token whose iss
// lacks the path is refused.
func TestPathIssuer(t *testing.T) {
	as := authServer(t, authtest.Options{Audience: audience, IssuerPath: "/api/auth"})
	good := mint(t, as.Provider, authtest.Token{})
	rootIss := mint(t, as.Provider, authtest.Token{Claims: map[string]any{"iss": as.URL()}})
	forEachBinary(t, func(t *testing.T, bin string) {
		p := start(t, bin, nil, "-addr", "127.0.0.1:0", "-issuer", as.Issuer(), "-audience", audience)
		p.waitReady(t)
		if r := do(t, request{path: p.URL + "/api/v1/me", auth: bearer(good)}); r.status != 200 {
			t.Errorf("path issuer token: status %d, body %s", r.status, r.body)
		}
		rw := row{request: request{auth: bearer(rootIss)}, status: 401, code: "invalid_token"}
		rw.check(t, p.URL, do(t, request{path: p.URL + "/api/v1/me", auth: bearer(rootIss)}))
		md := jsonOf(t, do(t, request{path: p.URL + "/.well-known/oauth-protected-resource"}))
		if as, _ := md["authorization_servers"].([]any); len(as) != 1 || !strings.HasSuffix(fmt.Sprint(as[0]), "/api/auth") {
			t.Errorf("authorization_servers %v, want the issuer with its path", md["authorization_servers"])
		}
	})
}

// TestKeysNeverFetched: the JWKS answers 500 from the start, so a request
// with a token gets 503 with Retry-After, while health stays 200 and a
// request without a token still gets 401.
func TestKeysNeverFetched(t *testing.T) {
	as := authServer(t, authtest.Options{Audience: audience})
	as.SetFault(authtest.Fault500)
	tok := mint(t, as.Provider, authtest.Token{})
	forEachBinary(t, func(t *testing.T, bin string) {
		p := start(t, bin, nil, "-addr", "127.0.0.1:0", "-issuer", as.Issuer(), "-jwks-url", as.JWKSURL(), "-audience", audience)
		for _, rw := range []row{
			{name: "token_503", request: request{path: "/api/v1/me", auth: bearer(tok)}, status: 503, code: "temporarily_unavailable"},
			{name: "scoped_route_503", request: request{path: "/api/v1/clients", auth: bearer(tok)}, status: 503, code: "temporarily_unavailable"},
			{name: "no_token_still_401", request: request{path: "/api/v1/me"}, status: 401, code: "unauthorized"},
			{name: "healthz_200", request: request{path: "/healthz"}, status: 200},
			{name: "readyz_503", request: request{path: "/readyz"}, status: 503, code: "temporarily_unavailable", app: true},
		} {
			t.Run(rw.name, func(t *testing.T) {
				rq := rw.request
				rq.path = p.URL + rq.path
				rw.check(t, p.URL, do(t, rq))
			})
		}
	})
}

// TestDevMode runs the programs without an issuer and pastes the curl
// commands they print: each must get the status its comment announces, and
// the samples must cover a reader and a writer of org_acme, a reader of
// org_globex and an expired token.
func TestDevMode(t *testing.T) {
	forEachBinary(t, func(t *testing.T, bin string) {
		p := start(t, bin, nil, "-addr", "127.0.0.1:0")
		samples := parseCurls(t, p.out.String())
		if len(samples) < 4 {
			t.Fatalf("found %d curl commands in:\n%s", len(samples), p.out)
		}
		var statuses []int
		for _, s := range samples {
			if !strings.HasPrefix(s.path, p.URL+"/") {
				t.Errorf("curl URL %q is not on %s", s.path, p.URL)
			}
			r := do(t, s.request)
			if r.status != s.want {
				t.Errorf("%s %s: status %d, the banner says %d; body %s", s.method, s.path, r.status, s.want, r.body)
			}
			statuses = append(statuses, r.status)
		}
		for _, want := range []int{200, 201, 401} {
			if !slices.Contains(statuses, want) {
				t.Errorf("no sample answered %d: %v", want, statuses)
			}
		}
		orgs := map[string]bool{}
		for _, s := range samples {
			var c struct {
				Org   string `json:"organizationId"`
				Scope string `json:"scope"`
			}
			parts := strings.Split(strings.TrimPrefix(s.auth[0], "Bearer "), ".")
			if len(parts) == 3 && decodeSegment(parts[1], &c) == nil {
				orgs[c.Org+" "+c.Scope] = true
			}
		}
		for _, want := range []string{"org_acme read:clients", "org_globex read:clients"} {
			if !orgs[want] {
				t.Errorf("no sample token for %q: %v", want, orgs)
			}
		}

		// The server is its own issuer: metadata and JWKS on its listener.
		md := jsonOf(t, do(t, request{path: p.URL + "/.well-known/oauth-authorization-server"}))
		if md["issuer"] != p.URL || md["jwks_uri"] != p.URL+"/jwks" {
			t.Errorf("authorization server metadata %v, want issuer %s", md, p.URL)
		}
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		if r := do(t, request{path: p.URL + "/jwks"}); json.Unmarshal(r.body, &set) != nil || len(set.Keys) == 0 {
			t.Errorf("dev JWKS %s has no keys", r.body)
		}
		if oidc := jsonOf(t, do(t, request{path: p.URL + "/.well-known/openid-configuration"})); oidc["issuer"] != p.URL {
			t.Errorf("openid-configuration %v", oidc)
		}
		prm := jsonOf(t, do(t, request{path: p.URL + "/.well-known/oauth-protected-resource"}))
		if prm["resource"] != audience || fmt.Sprint(prm["authorization_servers"]) != "["+p.URL+"]" {
			t.Errorf("protected resource metadata %v", prm)
		}
		// The printed DPoP example works as printed.
		m := regexp.MustCompile(`(?m)^go run ./example/dpopclient (\S+)$`).FindStringSubmatch(p.out.String())
		if m == nil {
			t.Fatalf("no DPoP client command in:\n%s", p.out)
		}
		out, err := exec.Command(filepath.Join(binDir, "dpopclient"), m[1]).CombinedOutput()
		if err != nil || !strings.Contains(string(out), ": 200\n") {
			t.Errorf("dpopclient %s: %v\n%s", m[1], err, out)
		}
	})
}

// sample is a request parsed from a printed curl command.
type sample struct {
	request
	want int
}

var expectRE = regexp.MustCompile(`expect (\d{3})`)

// parseCurls reads the curl commands in out, each with the status the
// comment line before it expects.
func parseCurls(t *testing.T, out string) []sample {
	t.Helper()
	var samples []sample
	want := 0
	for _, line := range strings.Split(out, "\n") {
		if m := expectRE.FindStringSubmatch(line); m != nil && strings.HasPrefix(line, "#") {
			want, _ = strconv.Atoi(m[1])
			continue
		}
		if !strings.HasPrefix(line, "curl ") {
			continue
		}
		words, err := shellWords(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		s := sample{want: want}
		for i := 1; i < len(words); i++ {
			switch w := words[i]; {
			case w == "-X" && i+1 < len(words):
				i++
				s.method = words[i]
			case w == "-H" && i+1 < len(words):
				i++
				if v, ok := strings.CutPrefix(words[i], "Authorization: "); ok {
					s.auth = append(s.auth, v)
				}
			case (w == "-d" || w == "--data") && i+1 < len(words):
				i++
				s.body = words[i]
			case strings.HasPrefix(w, "http://"):
				s.path = w
			}
		}
		if s.path == "" || len(s.auth) != 1 || s.want == 0 {
			t.Fatalf("cannot use %q (expected status %d)", line, s.want)
		}
		samples = append(samples, s)
	}
	return samples
}

// shellWords splits a command line with single-quoted words, as the banner
// prints them.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in, has := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			in, has = !in, true
		case r == ' ' && !in:
			if has {
				words = append(words, cur.String())
			}
			cur.Reset()
			has = false
		default:
			cur.WriteRune(r)
			has = true
		}
	}
	if in {
		return nil, fmt.Errorf("unterminated quote")
	}
	if has {
		words = append(words, cur.String())
	}
	return words, nil
}

// TestBadConfiguration: each program exits non-zero with a message, and
// never reports ready, on configuration it cannot serve safely.
func TestBadConfiguration(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		args []string
	}{
		{"unknown_flag", nil, []string{"-bogus"}},
		{"unparsable_issuer", nil, []string{"-issuer", "://nope", "-audience", audience}},
		{"relative_issuer", nil, []string{"-issuer", "auth.example.com", "-audience", audience}},
		{"http_issuer_not_loopback", nil, []string{"-issuer", "http://auth.example.com", "-audience", audience}},
		{"http_jwks_url_not_loopback", nil, []string{"-issuer", "https://auth.example.com", "-jwks-url", "http://keys.example.com/jwks", "-audience", audience}},
		{"jwks_url_without_issuer", nil, []string{"-jwks-url", "https://auth.example.com/jwks", "-audience", audience}},
		{"missing_audience", nil, []string{"-issuer", "https://auth.example.com"}},
		{"missing_audience_env", []string{"ISSUER=https://auth.example.com"}, nil},
		{"bad_listen_address", nil, []string{"-addr", "not-an-address"}},
		{"stray_argument", nil, []string{"serve"}},
		{"introspection_without_secret", nil, []string{"-issuer", "https://auth.example.com", "-audience", audience, "-introspection-client-id", "api"}},
		{"introspection_auth_unknown", []string{"INTROSPECTION_CLIENT_SECRET=s"}, []string{"-issuer", "https://auth.example.com", "-audience", audience,
			"-introspection-client-id", "api", "-introspection-auth", "private_key_jwt"}},
		{"revocation_check_not_a_duration", []string{"INTROSPECTION_CLIENT_SECRET=s"}, []string{"-issuer", "https://auth.example.com", "-audience", audience,
			"-introspection-client-id", "api", "-revocation-check", "on"}},
		{"dpop_unknown_mode", nil, []string{"-dpop", "sometimes"}},
		{"external_url_http_not_loopback", nil, []string{"-external-url", "http://api.example.com"}},
		{"revocation_check_without_client", nil, []string{"-issuer", "https://auth.example.com", "-audience", audience, "-revocation-check", "5s"}},
		{"introspection_url_http", []string{"INTROSPECTION_CLIENT_SECRET=s"}, []string{"-issuer", "https://auth.example.com", "-audience", audience,
			"-introspection-client-id", "api", "-introspection-url", "http://auth.example.com/introspect"}},
	}
	forEachBinary(t, func(t *testing.T, bin string) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				args := append([]string{"-addr", "127.0.0.1:0"}, c.args...)
				p := launch(t, bin, c.env, args...)
				err := p.waitExit(t)
				out := p.out.String()
				switch {
				case err == nil:
					t.Errorf("exit status 0, want non-zero; output:\n%s", out)
				case readyLine.MatchString(out):
					t.Errorf("reported ready before failing:\n%s", out)
				case strings.TrimSpace(out) == "":
					t.Errorf("failed without a message")
				}
			})
		}
	})
}

// TestGracefulShutdown: SIGINT stops the program with status 0, and it
// reported ready exactly once.
func TestGracefulShutdown(t *testing.T) {
	forEachBinary(t, func(t *testing.T, bin string) {
		p := start(t, bin, nil, "-addr", "127.0.0.1:0")
		if r := do(t, request{path: p.URL + "/healthz"}); r.status != 200 {
			t.Fatalf("healthz %d", r.status)
		}
		if err := p.cmd.Process.Signal(interrupt); err != nil {
			t.Skipf("cannot signal: %v", err)
		}
		if err := p.waitExit(t); err != nil {
			t.Errorf("exit after SIGINT: %v, want status 0", err)
		}
		if n := len(readyLine.FindAllString(p.out.String(), -1)); n != 1 {
			t.Errorf("%d ready lines, want 1", n)
		}
	})
}

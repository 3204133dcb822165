//go:build unix

package example_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"

	"github.com/clientcasa/oauthguard/internal/authservers"
)

// realLeeway is the clock skew the example programs tolerate in these tests
// (LEEWAY), so that an expired token is refused a few seconds after its exp
// rather than after the default 30 s.
const realLeeway = 5 * time.Second

// wantAlgs are the signing algs each real authorization server offers; every
// one of them must be accepted.
var wantAlgs = map[authservers.Kind][]string{
	authservers.OIDCProvider: {"RS256", "PS256", "ES256", "EdDSA", "Ed25519"},
	authservers.BetterAuth:   {"EdDSA", "RS256", "ES256"},
}

// TestRealAuthorizationServers runs both example programs against real
// authorization servers (internal/authservers: oidc-provider and Better
// Auth, each started once here) with nothing but -issuer and -audience, so
// the JWKS is found by discovery from the issuer alone.
//
// The phases run in order for each server, because the programs' key
// source refreshes on an unknown kid at most once per 30 s:
//
//  1. api: everything whose tokens carry kids the programs already hold,
//     in parallel (both test servers mint a key for every alg at start, and
//     the discovery subtest checks that the programs hold all of them).
//  2. expired: a 1-second token, refused after exp plus the leeway; not in
//     parallel, as it mostly waits.
//  3. rotation: the server's keys are rotated; the first token with a new
//     kid spends the budget and must be accepted without a restart. Had a
//     token with an unknown kid come within 30 s before, it would not be.
//  4. other_instance: tokens of a second server of the same kind (another
//     issuer, other keys) are refused.
//
// Node.js and npm must be installed: the servers are started (and npm ci
// run) by internal/authservers, and a missing node fails the test.
func TestRealAuthorizationServers(t *testing.T) {
	if binDir == "" {
		t.Skip("builds and runs the example programs; skipped with -short")
	}
	for _, kind := range []authservers.Kind{authservers.OIDCProvider, authservers.BetterAuth} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			testRealServer(t, kind)
		})
	}
}

// realSetup is one authorization server and the programs that trust it.
type realSetup struct {
	kind  authservers.Kind
	as    *authservers.Server
	other *authservers.Server // a second instance: another issuer, other keys
	procs map[string]*proc    // by binary name
	// algTokens are the Full client's tokens, one per alg.
	algTokens map[string]string
	// jwksKeys is the number of keys the server published when the programs
	// started.
	jwksKeys int
}

func testRealServer(t *testing.T, kind authservers.Kind) {
	s := &realSetup{kind: kind, procs: map[string]*proc{}, algTokens: map[string]string{}}
	servers := startAuthServers(t, kind, 2)
	s.as, s.other = servers[0], servers[1]
	if s.as.Issuer == s.other.Issuer {
		t.Fatalf("both instances have issuer %s", s.as.Issuer)
	}
	if got, want := slices.Sorted(slices.Values(s.as.Algs)), slices.Sorted(slices.Values(wantAlgs[kind])); !slices.Equal(got, want) {
		t.Fatalf("%s offers algs %v, want %v", kind, s.as.Algs, wantAlgs[kind])
	}

	full := s.as.Clients.Full
	for _, alg := range s.as.Algs {
		tok := ccToken(t, s.as, full, authservers.AlgResource(alg), full.Scope)
		if h, _ := parseJWT(t, tok); h["alg"] != alg {
			t.Fatalf("token for %s has header %v", authservers.AlgResource(alg), h)
		}
		s.algTokens[alg] = tok
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	getJSON(t, s.as.JWKSURI, &set)
	s.jwksKeys = len(set.Keys)

	for _, bin := range binaries {
		// Only the issuer and the audience: no -jwks-url.
		p := start(t, bin, []string{"ADDR=127.0.0.1:0", "LEEWAY=" + realLeeway.String()},
			"-issuer", s.as.Issuer, "-audience", s.as.Audience)
		s.procs[bin] = p
	}
	for _, bin := range binaries {
		s.procs[bin].waitReady(t)
	}

	t.Run("api", func(t *testing.T) {
		for _, bin := range binaries {
			t.Run(bin, func(t *testing.T) {
				t.Parallel()
				p := s.procs[bin]
				for _, c := range []struct {
					name string
					f    func(*testing.T, *proc)
				}{
					{"discovery", s.discovery},
					{"algs", s.algs},
					{"scopes", s.scopes},
					{"tenancy", s.tenancy},
					{"wrong_audience", s.wrongAudience},
					{"auth_code_pkce", s.authCode},
					{"dpop_bound_as_bearer", s.dpopAsBearer},
					{"dpop", s.dpop},
				} {
					t.Run(c.name, func(t *testing.T) {
						t.Parallel()
						c.f(t, p)
					})
				}
			})
		}
	})
	t.Run("introspection", s.introspection)
	t.Run("dpop_opaque", s.dpopOpaque)
	// Not a parallel subtest: it mostly waits, and would hold one of the
	// -parallel (GOMAXPROCS) slots the parallel subtests share.
	t.Run("expired", s.expired)
	if t.Failed() {
		return
	}
	t.Run("rotation", s.rotation)
	t.Run("other_instance", s.otherInstance)
	t.Run("two_issuers", s.twoIssuers)
	t.Run("grpc", s.grpcAPI)
}

// twoIssuers runs the programs with both instances as trusted issuers
// (-issuer A,B): every alg's tokens of each pass, each verified with its own
// issuer's keys. oidc-provider names its keys alike on every start, so the
// two JWKS publish the same kids for different keys: with one key set for
// both, half of these tokens would fail their signature.
func (s *realSetup) twoIssuers(t *testing.T) {
	var tokens []string
	for _, as := range []*authservers.Server{s.as, s.other} {
		for _, alg := range as.Algs {
			tokens = append(tokens, ccToken(t, as, as.Clients.Full, authservers.AlgResource(alg), as.Clients.Full.Scope))
		}
	}
	for _, bin := range binaries {
		t.Run(bin, func(t *testing.T) {
			p := start(t, bin, []string{"LEEWAY=" + realLeeway.String()}, "-addr", "127.0.0.1:0",
				"-issuer", s.as.Issuer+","+s.other.Issuer, "-audience", audience)
			p.waitReady(t)
			for i, tok := range tokens {
				if r := do(t, request{path: p.URL + "/api/v1/me", auth: bearer(tok)}); r.status != 200 {
					h, c := parseJWT(t, tok)
					t.Errorf("token %d (iss %v, kid %v): status %d, body %s", i, c["iss"], h["kid"], r.status, r.body)
				}
			}
		})
	}
}

// startAuthServers starts n servers of kind concurrently and stops them when
// the test ends, showing their logs if it failed.
func startAuthServers(t *testing.T, kind authservers.Kind, n int) []*authservers.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	servers := make([]*authservers.Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { servers[i], errs[i] = authservers.Start(ctx, kind, authservers.Options{Audience: audience}) })
	}
	wg.Wait()
	for i, as := range servers {
		if as == nil {
			continue
		}
		t.Cleanup(func() {
			as.Stop()
			if t.Failed() {
				t.Logf("%s #%d (%s) log tail:\n%s", kind, i+1, as.Issuer, lastBytes(as.Logs(), 4096))
			}
		})
	}
	for _, err := range errs {
		if err != nil {
			t.Fatalf("starting %s (the end-to-end tests need Node.js 20 or later and npm on PATH): %v", kind, err)
		}
	}
	return servers
}

// discovery: the keys found from the issuer alone are the server's, and a
// token for the audience (signed with the server's default alg) is accepted.
func (s *realSetup) discovery(t *testing.T, p *proc) {
	ready := jsonOf(t, do(t, request{path: p.URL + "/readyz"}))
	if ready["status"] != "ready" || ready["keys"] != float64(s.jwksKeys) {
		t.Errorf("/readyz %v, want ready with the server's %d keys", ready, s.jwksKeys)
	}
	md := jsonOf(t, do(t, request{path: p.URL + "/.well-known/oauth-protected-resource"}))
	if md["resource"] != audience || fmt.Sprint(md["authorization_servers"]) != "["+s.as.Issuer+"]" {
		t.Errorf("protected resource metadata %v, want resource %s and authorization server %s", md, audience, s.as.Issuer)
	}
	full := s.as.Clients.Full
	tok := ccToken(t, s.as, full, audience, full.Scope)
	if _, c := parseJWT(t, tok); c["iss"] != s.as.Issuer || c["aud"] != audience {
		t.Fatalf("audience token has iss %v, aud %v", c["iss"], c["aud"])
	}
	checkMe(t, p, tok, full.ID, full.Organization, full.Scope)
}

// algs: a client credentials token signed with each alg is accepted.
func (s *realSetup) algs(t *testing.T, p *proc) {
	full := s.as.Clients.Full
	for _, alg := range s.as.Algs {
		t.Run(alg, func(t *testing.T) {
			checkMe(t, p, s.algTokens[alg], full.ID, full.Organization, full.Scope)
		})
	}
}

// scopes: read:clients lists clients but cannot write invoices (403
// insufficient_scope naming write:invoices); a client with both can.
func (s *realSetup) scopes(t *testing.T, p *proc) {
	reader, full := s.as.Clients.Reader, s.as.Clients.Full
	readTok := ccToken(t, s.as, reader, audience, authservers.ScopeRead)
	checkMe(t, p, readTok, reader.ID, reader.Organization, authservers.ScopeRead)

	r := do(t, request{path: p.URL + "/api/v1/clients", auth: bearer(readTok)})
	row{request: request{auth: bearer(readTok)}, status: 200}.check(t, p.URL, r)
	if list := clientList(t, r); len(list) == 0 {
		t.Errorf("reader sees no clients")
	} else {
		checkOrg(t, list, reader.Organization)
	}

	body := `{"clientId":"cli_acme_1","amount":4200}`
	r = do(t, request{path: p.URL + "/api/v1/invoices", auth: bearer(readTok), body: body})
	row{request: request{auth: bearer(readTok)}, status: 403, code: "insufficient_scope", scope: authservers.ScopeWrite}.check(t, p.URL, r)
	if ch := r.header.Get("WWW-Authenticate"); !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="write:invoices"`) {
		t.Errorf("WWW-Authenticate %q, want error=\"insufficient_scope\" and scope=\"write:invoices\"", ch)
	}

	writeTok := ccToken(t, s.as, full, audience, full.Scope)
	r = do(t, request{path: p.URL + "/api/v1/invoices", auth: bearer(writeTok), body: body})
	row{request: request{auth: bearer(writeTok)}, status: 201}.check(t, p.URL, r)
	inv := jsonOf(t, r)
	if id, _ := inv["id"].(string); id == "" || inv["clientId"] != "cli_acme_1" || inv["amount"] != float64(4200) || inv["organizationId"] != full.Organization {
		t.Errorf("invoice %s, want clientId cli_acme_1, amount 4200, organizationId %s", r.body, full.Organization)
	}
}

// tenancy: each organization's token sees its own clients only, is
// forbidden the other's path, and cannot invoice the other's client.
func (s *realSetup) tenancy(t *testing.T, p *proc) {
	type tenant struct {
		client authservers.Client
		token  string
		ids    []string
	}
	acme, globex := &tenant{client: s.as.Clients.Full}, &tenant{client: s.as.Clients.Globex}
	if acme.client.Organization == globex.client.Organization {
		t.Fatalf("both clients are in %s", acme.client.Organization)
	}
	for _, tn := range []*tenant{acme, globex} {
		tn.token = ccToken(t, s.as, tn.client, audience, tn.client.Scope)
		if _, c := parseJWT(t, tn.token); c["organizationId"] != tn.client.Organization {
			t.Fatalf("%s token has organizationId %v", tn.client.ID, c["organizationId"])
		}
		r := do(t, request{path: p.URL + "/api/v1/clients", auth: bearer(tn.token)})
		row{request: request{auth: bearer(tn.token)}, status: 200}.check(t, p.URL, r)
		list := clientList(t, r)
		if len(list) == 0 {
			t.Fatalf("%s sees no clients: %s", tn.client.Organization, r.body)
		}
		checkOrg(t, list, tn.client.Organization)
		for _, c := range list {
			tn.ids = append(tn.ids, fmt.Sprint(c["id"]))
		}
		own := do(t, request{path: p.URL + "/api/v1/orgs/" + tn.client.Organization + "/clients", auth: bearer(tn.token)})
		row{request: request{auth: bearer(tn.token)}, status: 200}.check(t, p.URL, own)
		checkOrg(t, clientList(t, own), tn.client.Organization)
	}
	for _, id := range acme.ids {
		if slices.Contains(globex.ids, id) {
			t.Errorf("client %s is listed for both organizations", id)
		}
	}

	for _, c := range []struct{ from, to *tenant }{{acme, globex}, {globex, acme}} {
		name := c.from.client.Organization + "_to_" + c.to.client.Organization
		t.Run(name, func(t *testing.T) {
			auth := bearer(c.from.token)
			r := do(t, request{path: p.URL + "/api/v1/orgs/" + c.to.client.Organization + "/clients", auth: auth})
			row{request: request{auth: auth}, status: 403, code: "forbidden"}.check(t, p.URL, r)

			other := fmt.Sprintf(`{"clientId":%q,"amount":100}`, c.to.ids[0])
			r = do(t, request{path: p.URL + "/api/v1/invoices", auth: auth, body: other})
			row{request: request{auth: auth}, status: 404, code: "not_found", app: true}.check(t, p.URL, r)

			// The same request for its own client succeeds: the 404 is the
			// organization, not the token.
			own := fmt.Sprintf(`{"clientId":%q,"amount":100}`, c.from.ids[0])
			r = do(t, request{path: p.URL + "/api/v1/invoices", auth: auth, body: own})
			row{request: request{auth: auth}, status: 201}.check(t, p.URL, r)
			if inv := jsonOf(t, r); inv["organizationId"] != c.from.client.Organization {
				t.Errorf("invoice %s, want organizationId %s", r.body, c.from.client.Organization)
			}
		})
	}
}

// wrongAudience: a token the server issued for another resource is refused.
func (s *realSetup) wrongAudience(t *testing.T, p *proc) {
	full := s.as.Clients.Full
	tok := ccToken(t, s.as, full, authservers.OtherAudience, full.Scope)
	if _, c := parseJWT(t, tok); !audContains(c["aud"], authservers.OtherAudience) || audContains(c["aud"], audience) {
		t.Fatalf("token for %s has aud %v", authservers.OtherAudience, c["aud"])
	}
	refused(t, p, tok, "not meant for this resource")
}

// expired: a 1-second token is accepted at first and within the leeway
// after its exp, and refused by both programs once exp plus the leeway has
// passed. The programs run with their own clock, so this test waits for the
// real one (about 7 s).
func (s *realSetup) expired(t *testing.T) {
	full := s.as.Clients.Full
	tok := ccToken(t, s.as, full, authservers.TTLResource(1), full.Scope)
	_, c := parseJWT(t, tok)
	exp, _ := c["exp"].(float64)
	iat, _ := c["iat"].(float64)
	if exp-iat != 1 || c["aud"] != audience {
		t.Fatalf("TTL token has iat %v, exp %v, aud %v", c["iat"], c["exp"], c["aud"])
	}
	expiry := time.Unix(int64(exp), 0)
	accepted := func(when string) {
		t.Helper()
		for _, bin := range binaries {
			if r := do(t, request{path: s.procs[bin].URL + "/api/v1/me", auth: bearer(tok)}); r.status != 200 {
				t.Fatalf("%s, %s: status %d, body %s", when, bin, r.status, r.body)
			}
		}
	}
	accepted("fresh token")
	waitUntil(t, expiry.Add(2*time.Second))
	accepted(fmt.Sprintf("2 s after exp, within the %s leeway", realLeeway))
	waitUntil(t, expiry.Add(realLeeway+time.Second))
	for _, bin := range binaries {
		refused(t, s.procs[bin], tok, "expired")
	}
}

// authCode: alice's token from the authorization code flow with PKCE lists
// org_acme's clients a page at a time, and so does the token the refresh
// grant gives for it; bob's lists org_globex's.
func (s *realSetup) authCode(t *testing.T, p *proc) {
	scope := authservers.ScopeRead + " " + authservers.ScopeWrite
	users := map[string]authservers.User{}
	for _, u := range s.as.Users {
		users[u.Login] = u
	}
	alice, bob := users["alice"], users["bob"]
	if alice.Organization != "org_acme" || bob.Organization != "org_globex" {
		t.Fatalf("users %+v, want alice in org_acme and bob in org_globex", s.as.Users)
	}
	page := func(t *testing.T, tok, org string) {
		t.Helper()
		r := do(t, request{path: p.URL + "/api/v1/clients?pageSize=5", auth: bearer(tok)})
		row{request: request{auth: bearer(tok)}, status: 200}.check(t, p.URL, r)
		list := clientList(t, r)
		if len(list) == 0 || len(list) > 5 {
			t.Errorf("%d clients with pageSize=5, want 1 to 5: %s", len(list), r.body)
		}
		checkOrg(t, list, org)
	}

	tr, err := s.as.AuthCodePKCE(t.Context(), alice.Login, scope, audience)
	if err != nil {
		t.Fatal(err)
	}
	_, c := parseJWT(t, tr.AccessToken)
	if !audContains(c["aud"], audience) || c["sub"] == "" || c["sub"] == s.as.Clients.Full.ID {
		t.Fatalf("alice's token has aud %v, sub %v: want the audience and a user", c["aud"], c["sub"])
	}
	if s.kind == authservers.OIDCProvider && c["sub"] != alice.Login {
		t.Errorf("alice's token has sub %v", c["sub"])
	}
	// Better Auth also lists offline_access in the token's scope.
	granted, _ := c["scope"].(string)
	if f := strings.Fields(granted); !slices.Contains(f, authservers.ScopeRead) || !slices.Contains(f, authservers.ScopeWrite) {
		t.Fatalf("alice's token has scope %q, want %q", granted, scope)
	}
	checkMe(t, p, tr.AccessToken, fmt.Sprint(c["sub"]), alice.Organization, granted)
	page(t, tr.AccessToken, alice.Organization)
	// A page smaller than the organization's clients is cut to its size.
	r := do(t, request{path: p.URL + "/api/v1/clients?pageSize=2", auth: bearer(tr.AccessToken)})
	if list := clientList(t, r); r.status != 200 || len(list) != 2 {
		t.Errorf("pageSize=2: status %d, %d clients, want 200 and 2: %s", r.status, len(list), r.body)
	}

	if tr.RefreshToken == "" {
		t.Fatalf("no refresh token: %v", tr.JSON)
	}
	rt, err := s.as.Refresh(t.Context(), tr.RefreshToken, audience)
	if err != nil {
		t.Fatal(err)
	}
	if rt.AccessToken == tr.AccessToken {
		t.Fatalf("the refresh grant returned the same access token")
	}
	if _, rc := parseJWT(t, rt.AccessToken); rc["sub"] != c["sub"] || rc["jti"] == c["jti"] {
		t.Errorf("refreshed token has sub %v, jti %v; first sub %v, jti %v", rc["sub"], rc["jti"], c["sub"], c["jti"])
	}
	page(t, rt.AccessToken, alice.Organization)

	tb, err := s.as.AuthCodePKCE(t.Context(), bob.Login, authservers.ScopeRead, audience)
	if err != nil {
		t.Fatal(err)
	}
	page(t, tb.AccessToken, bob.Organization)
}

// dpopAsBearer: a token bound to a DPoP key (cnf.jkt) is refused when
// presented as a bearer token, since the bearer scheme proves no possession.
func (s *realSetup) dpopAsBearer(t *testing.T, p *proc) {
	key, err := authtest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	full := s.as.Clients.Full
	tr, err := s.as.DPoPClientCredentials(t.Context(), key, full.ID, full.Secret, audience, full.Scope)
	if err != nil {
		t.Fatal(err)
	}
	_, c := parseJWT(t, tr.AccessToken)
	cnf, _ := c["cnf"].(map[string]any)
	if !strings.EqualFold(tr.TokenType, "DPoP") || cnf["jkt"] != key.Thumbprint() || c["aud"] != audience {
		t.Fatalf("token_type %q, cnf %v, aud %v: want a DPoP token bound to %s", tr.TokenType, c["cnf"], c["aud"], key.Thumbprint())
	}
	refused(t, p, tr.AccessToken, "DPoP-bound")
}

// rotation: after the server rotates its keys, tokens signed with the new
// kids are accepted by the running programs (one unknown-kid refresh each),
// and a token signed before the rotation still is.
func (s *realSetup) rotation(t *testing.T) {
	full := s.as.Clients.Full
	before := ccToken(t, s.as, full, audience, full.Scope)
	oldKid := kidOf(t, before)
	rot, err := s.as.Rotate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rot.Retired, oldKid) {
		t.Errorf("rotation %+v does not retire %s", rot, oldKid)
	}
	tokens := map[string]string{}
	for _, alg := range s.as.Algs {
		tok := ccToken(t, s.as, full, authservers.AlgResource(alg), full.Scope)
		if kid := kidOf(t, tok); kid != rot.Kids[alg] || slices.Contains(rot.Retired, kid) {
			t.Fatalf("%s token after rotation has kid %s, want %s (rotation %+v)", alg, kid, rot.Kids[alg], rot)
		}
		tokens[alg] = tok
	}
	for _, bin := range binaries {
		t.Run(bin, func(t *testing.T) {
			t.Parallel()
			p := s.procs[bin]
			// The default alg's token triggers the refresh; the other algs
			// then find their new kids in the same refreshed set.
			first := tokens[s.as.Algs[0]]
			// The first request waits for the refresh it triggers for at
			// most 1 s (jwks UnknownKIDWait). On a loaded machine the fetch
			// may take longer; it completes anyway and later requests find
			// the kid without another refresh (none is allowed for 30 s),
			// so a few more tries within 15 s keep this deterministic.
			deadline := time.Now().Add(15 * time.Second)
			for try := 1; ; try++ {
				r := do(t, request{path: p.URL + "/api/v1/me", auth: bearer(first)})
				if r.status == 200 {
					if try > 1 {
						t.Logf("the new kid was accepted at try %d", try)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("a token with the new kid %s: status %d, body %s", kidOf(t, first), r.status, r.body)
				}
				waitUntil(t, time.Now().Add(200*time.Millisecond))
			}
			for _, alg := range s.as.Algs {
				checkMe(t, p, tokens[alg], full.ID, full.Organization, full.Scope)
			}
			checkMe(t, p, before, full.ID, full.Organization, full.Scope)
			if ready := jsonOf(t, do(t, request{path: p.URL + "/readyz"})); ready["keys"] == nil || ready["keys"].(float64) <= float64(s.jwksKeys) {
				t.Errorf("/readyz %v after rotation, want more than the %d keys before", ready, s.jwksKeys)
			}
		})
	}
}

// otherInstance: tokens of a second server of the same kind, for every alg,
// are refused: its issuer and its keys are not the trusted ones. The issuer
// decides first, before any key is looked up: oidc-provider names its keys
// rsa-1, ec-1, ed-1 on every start, so the programs hold keys with those
// kids, and a key set shared by issuers would have to fail on the signature.
func (s *realSetup) otherInstance(t *testing.T) {
	const reason = "issuer is not accepted"
	full := s.other.Clients.Full
	tokens := map[string]string{}
	for _, alg := range s.other.Algs {
		tok := ccToken(t, s.other, full, authservers.AlgResource(alg), full.Scope)
		if _, c := parseJWT(t, tok); c["iss"] != s.other.Issuer || c["aud"] != audience || c["organizationId"] != full.Organization {
			t.Fatalf("second instance's token has iss %v, aud %v, organizationId %v", c["iss"], c["aud"], c["organizationId"])
		}
		tokens[alg] = tok
	}
	for _, bin := range binaries {
		t.Run(bin, func(t *testing.T) {
			t.Parallel()
			p := s.procs[bin]
			for _, alg := range s.other.Algs {
				refused(t, p, tokens[alg], reason)
			}
		})
	}
}

// refused demands 401 invalid_token from GET /api/v1/me with tok, with an
// error_description naming one of the reasons given (the reason is the
// point of the test; the response's shape is checked as in TestContract).
func refused(t *testing.T, p *proc, tok string, reasons ...string) {
	t.Helper()
	r := do(t, request{path: p.URL + "/api/v1/me", auth: bearer(tok)})
	row{request: request{auth: bearer(tok)}, status: 401, code: "invalid_token"}.check(t, p.URL, r)
	var body struct {
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(r.body, &body)
	for _, reason := range reasons {
		if strings.Contains(body.Description, reason) {
			return
		}
	}
	t.Errorf("error_description %q, want one about %q", body.Description, reasons)
}

// ccToken gets a client credentials access token for c.
func ccToken(t *testing.T, as *authservers.Server, c authservers.Client, resource, scope string) string {
	t.Helper()
	tr, err := as.ClientCredentials(t.Context(), c.ID, c.Secret, resource, scope)
	if err != nil {
		t.Fatalf("%s: client credentials for %s (resource %q, scope %q): %v", as.Kind, c.ID, resource, scope, err)
	}
	return tr.AccessToken
}

// parseJWT decodes a JWT's header and claims without verifying it.
func parseJWT(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("access token %.40q... is not a compact JWS", tok)
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		t.Fatalf("JWT header: %v", err)
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		t.Fatalf("JWT claims: %v", err)
	}
	return header, claims
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, _ := parseJWT(t, tok)
	kid, _ := h["kid"].(string)
	if kid == "" {
		t.Fatalf("token header %v has no kid", h)
	}
	return kid
}

// audContains reports whether aud, a string or an array, holds want.
func audContains(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		return slices.Contains(a, any(want))
	}
	return false
}

// checkMe demands 200 from GET /api/v1/me with tok and the given subject,
// organization and scopes (in any order).
func checkMe(t *testing.T, p *proc, tok, sub, org, scope string) {
	t.Helper()
	r := do(t, request{path: p.URL + "/api/v1/me", auth: bearer(tok)})
	if r.status != 200 {
		t.Fatalf("GET /api/v1/me: status %d, body %s", r.status, r.body)
	}
	var me struct {
		Sub    string   `json:"sub"`
		Org    string   `json:"organizationId"`
		Scopes []string `json:"scopes"`
	}
	jsonOf(t, r)
	if err := json.Unmarshal(r.body, &me); err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(scope)
	slices.Sort(want)
	slices.Sort(me.Scopes)
	if me.Sub != sub || me.Org != org || !slices.Equal(me.Scopes, want) {
		t.Errorf("GET /api/v1/me: %s, want sub %q, organizationId %q, scopes %q", r.body, sub, org, want)
	}
}

// clientList decodes {"data": [...]}.
func clientList(t *testing.T, r response) []map[string]any {
	t.Helper()
	var body struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.Data == nil {
		t.Fatalf("body %q is not {\"data\": [...]}: %v", r.body, err)
	}
	return body.Data
}

func checkOrg(t *testing.T, list []map[string]any, org string) {
	t.Helper()
	for _, c := range list {
		if c["organizationId"] != org {
			t.Errorf("client %v listed for a token of %s", c, org)
		}
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	r := do(t, request{path: url})
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, r.status)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// waitUntil blocks until the wall clock reaches when, or the test's context
// ends.
func waitUntil(t *testing.T, when time.Time) {
	t.Helper()
	timer := time.NewTimer(time.Until(when))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-t.Context().Done():
		t.Fatal("test ended while waiting")
	}
}

func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

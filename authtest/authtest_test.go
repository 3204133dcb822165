package authtest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
)

func introspectHTTP(t *testing.T, as *authtest.Server, form url.Values, basic *authtest.Client) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", as.IntrospectionURL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic.ID), url.QueryEscape(basic.Secret))
	}
	resp, err := as.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestIntrospectionEndpoint(t *testing.T) {
	clk := authtest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	as, err := authtest.Start(authtest.Options{Algs: []string{"ES256"}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	c := as.RegisteredClient()
	opaque, _ := as.MintOpaque(authtest.Token{Organization: "org_globex", Scopes: []string{"read:clients"}})
	jwt, err := as.Mint(authtest.Token{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := authtest.NewProvider(authtest.Options{Issuer: as.Issuer(), Algs: []string{"ES256"}})
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := other.Mint(authtest.Token{})

	active := func(tok string) map[string]any {
		t.Helper()
		status, m := introspectHTTP(t, as, url.Values{"token": {tok}}, &c)
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		return m
	}
	if m := active(opaque); m["active"] != true || m["organizationId"] != "org_globex" || m["scope"] != "read:clients" ||
		m["token_type"] != "Bearer" || m["iss"] != as.Issuer() {
		t.Fatalf("opaque answer %v", m)
	}
	if m := active(jwt); m["active"] != true || m["sub"] != authtest.DefaultSubject {
		t.Fatalf("JWT answer %v", m)
	}
	for name, tok := range map[string]string{"unknown": "nope", "forged_jwt": forged} {
		if m := active(tok); m["active"] != false || len(m) != 1 {
			t.Errorf("%s: %v, want only active false", name, m)
		}
	}
	// Revocation, by the endpoint or in process, and expiry.
	req, _ := http.NewRequest("POST", as.RevocationURL(), strings.NewReader(url.Values{"token": {opaque}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ID, c.Secret)
	if resp, err := as.Client().Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoke: %v %v", resp, err)
	}
	if m := active(opaque); m["active"] != false {
		t.Fatalf("revoked opaque token: %v", m)
	}
	clk.Advance(2 * time.Hour)
	if m := active(jwt); m["active"] != false {
		t.Fatalf("expired JWT: %v", m)
	}
	// Client authentication is enforced, with the registered method only.
	if status, _ := introspectHTTP(t, as, url.Values{"token": {jwt}}, &authtest.Client{ID: c.ID, Secret: "wrong"}); status != 401 {
		t.Errorf("wrong secret: %d", status)
	}
	if status, _ := introspectHTTP(t, as, url.Values{"token": {jwt}, "client_id": {c.ID}, "client_secret": {c.Secret}}, nil); status != 401 {
		t.Errorf("client_secret_post by a basic client: %d", status)
	}
	// Faults, counted.
	before := as.IntrospectionCalls()
	as.SetIntrospectionFault(authtest.Fault500)
	if status, _ := introspectHTTP(t, as, url.Values{"token": {jwt}}, &c); status != 500 {
		t.Errorf("Fault500: %d", status)
	}
	if _, err := as.Introspect(context.Background(), jwt); err == nil {
		t.Error("in-process Introspect ignored the fault")
	}
	if got := as.IntrospectionCalls() - before; got != 2 {
		t.Errorf("%d calls counted, want 2", got)
	}
}

func TestTokenEndpoint(t *testing.T) {
	as, err := authtest.Start(authtest.Options{Algs: []string{"EdDSA"}})
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	c := as.RegisteredClient()
	key, _ := authtest.NewDPoPKey("ES256")
	post := func(proof string, creds bool) (int, map[string]any) {
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"read:clients"}}
		req, _ := http.NewRequest("POST", as.TokenURL(), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if creds {
			req.SetBasicAuth(c.ID, c.Secret)
		}
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		resp, err := as.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if status, m := post("", true); status != 200 || m["token_type"] != "Bearer" || m["scope"] != "read:clients" {
		t.Fatalf("bearer token: %d %v", status, m)
	}
	proof, _ := key.Proof("POST", as.TokenURL(), "")
	status, m := post(proof, true)
	if status != 200 || m["token_type"] != "DPoP" {
		t.Fatalf("DPoP token: %d %v", status, m)
	}
	// The token is bound to the key.
	body, _ := as.Introspect(context.Background(), m["access_token"].(string))
	var answer map[string]any
	_ = json.Unmarshal(body, &answer)
	if cnf, _ := answer["cnf"].(map[string]any); cnf["jkt"] != key.Thumbprint() || answer["token_type"] != "DPoP" {
		t.Fatalf("introspection of the DPoP token: %v", answer)
	}
	if status, _ := post(proof, true); status != 400 {
		t.Fatalf("replayed proof at the token endpoint: %d", status)
	}
	if status, _ := post("", false); status != 401 {
		t.Fatalf("without client credentials: %d", status)
	}
}

package example_test

import (
	"strings"
	"testing"

	"github.com/clientcasa/oauthguard/authtest"
)

// TestDPoPContract checks -dpop and -external-url of both programs, against
// a fake authorization server over HTTP: DPoP-bound tokens with fresh
// proofs pass; as Bearer, replayed, or for another URL they do not; -dpop
// required refuses bearer tokens and says so in a DPoP challenge; -dpop
// disabled treats the DPoP scheme as unknown; RFC 9728 metadata says what is
// configured.
func TestDPoPContract(t *testing.T) {
	forEachBinary(t, func(t *testing.T, bin string) {
		as := authServer(t, authtest.Options{Audience: audience})
		key, err := authtest.NewDPoPKey("ES256")
		if err != nil {
			t.Fatal(err)
		}
		bound := mint(t, as.Provider, authtest.Token{DPoP: key, Scopes: []string{"read:clients"}})
		plain := mint(t, as.Provider, authtest.Token{Scopes: []string{"read:clients"}})
		base := []string{"-addr", "127.0.0.1:0", "-issuer", as.Issuer(), "-audience", audience}
		call := func(p *proc, url, scheme, tok string, proofs ...string) response {
			t.Helper()
			return doDPoP(t, url, scheme+" "+tok, proofs)
		}
		proof := func(url, tok string) string {
			pr, err := key.Proof("GET", url, tok)
			if err != nil {
				t.Fatal(err)
			}
			return pr
		}
		metadata := func(p *proc) map[string]any {
			return jsonOf(t, do(t, request{path: p.URL + "/.well-known/oauth-protected-resource"}))
		}

		t.Run("allowed_by_default", func(t *testing.T) {
			p := start(t, bin, nil, base...)
			p.waitReady(t)
			url := p.URL + "/api/v1/clients"
			pr := proof(url, bound)
			if r := call(p, url, "DPoP", bound, pr); r.status != 200 {
				t.Fatalf("DPoP token with proof: %d %s", r.status, r.body)
			}
			if r := call(p, url, "DPoP", bound, pr); r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), `DPoP algs="`) ||
				!strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_dpop_proof"`) {
				t.Fatalf("replayed proof: %d %q", r.status, r.header.Get("WWW-Authenticate"))
			}
			if r := call(p, url, "Bearer", bound); r.status != 401 {
				t.Fatalf("DPoP token as Bearer: %d %s", r.status, r.body)
			}
			if r := call(p, url, "DPoP", bound, proof(p.URL+"/api/v1/me", bound)); r.status != 401 {
				t.Fatalf("proof for another URL: %d %s", r.status, r.body)
			}
			if r := call(p, url, "Bearer", plain); r.status != 200 {
				t.Fatalf("bearer token: %d %s", r.status, r.body)
			}
			r := do(t, request{path: url})
			if ch := r.header.Values("WWW-Authenticate"); r.status != 401 || len(ch) != 2 || !strings.HasPrefix(ch[0], "Bearer ") || !strings.HasPrefix(ch[1], "DPoP ") {
				t.Fatalf("no credentials: %d %q, want a Bearer and a DPoP challenge", r.status, ch)
			}
			if md := metadata(p); md["dpop_signing_alg_values_supported"] == nil || md["dpop_bound_access_tokens_required"] != nil {
				t.Fatalf("metadata %v", md)
			}
		})
		t.Run("required", func(t *testing.T) {
			p := start(t, bin, []string{"DPOP=required"}, base...)
			p.waitReady(t)
			url := p.URL + "/api/v1/clients"
			if r := call(p, url, "DPoP", bound, proof(url, bound)); r.status != 200 {
				t.Fatalf("DPoP token with proof: %d %s", r.status, r.body)
			}
			r := call(p, url, "Bearer", plain)
			if ch := r.header.Values("WWW-Authenticate"); r.status != 401 || len(ch) != 1 || !strings.HasPrefix(ch[0], "DPoP ") {
				t.Fatalf("bearer token when required: %d %q", r.status, ch)
			}
			if md := metadata(p); md["dpop_bound_access_tokens_required"] != true {
				t.Fatalf("metadata %v", md)
			}
		})
		t.Run("disabled", func(t *testing.T) {
			p := start(t, bin, nil, append(base, "-dpop", "disabled")...)
			p.waitReady(t)
			url := p.URL + "/api/v1/clients"
			r := call(p, url, "DPoP", bound, proof(url, bound))
			if ch := r.header.Values("WWW-Authenticate"); r.status != 401 || len(ch) != 1 || !strings.HasPrefix(ch[0], "Bearer realm=") ||
				strings.Contains(ch[0], "error=") {
				t.Fatalf("DPoP scheme when disabled: %d %q, want a bare Bearer challenge", r.status, ch)
			}
			if md := metadata(p); md["dpop_signing_alg_values_supported"] != nil {
				t.Fatalf("metadata %v", md)
			}
		})
		t.Run("external_url", func(t *testing.T) {
			p := start(t, bin, nil, append(base, "-external-url", "https://api.example.com")...)
			p.waitReady(t)
			local := p.URL + "/api/v1/clients"
			if r := call(p, local, "DPoP", bound, proof("https://api.example.com/api/v1/clients", bound)); r.status != 200 {
				t.Fatalf("proof for the external URL: %d %s", r.status, r.body)
			}
			if r := call(p, local, "DPoP", bound, proof(local, bound)); r.status != 401 {
				t.Fatalf("proof for the internal URL: %d %s", r.status, r.body)
			}
		})
	})
}

// doDPoP is GET url with one Authorization value and the DPoP proofs.
func doDPoP(t *testing.T, url, auth string, proofs []string) response {
	t.Helper()
	req := request{path: url, auth: []string{auth}}
	return doWith(t, req, func(h map[string][]string) { h["Dpop"] = append(h["Dpop"], proofs...) })
}

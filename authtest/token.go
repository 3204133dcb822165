package authtest

import (
	"net/http"
	"strings"
	"sync"

	"github.com/clientcasa/oauthguard/dpop"
)

// TokenURL returns the URL of the token endpoint ({issuer}/token).
func (p *Provider) TokenURL() string { return p.opts.Issuer + "/token" }

// dpopVerifier checks the proofs of token requests; made on first use.
type lazyVerifier struct {
	once sync.Once
	v    *dpop.Verifier
	err  error
}

// serveToken is POST {issuer}/token: the client_credentials grant (RFC
// 6749 §4.4) for the registered client, with scope and resource
// parameters. With a DPoP proof (RFC 9449 §5) the token is bound to its key
// and its token_type is DPoP.
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	if !p.clientRequest(w, r) {
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	t := Token{Subject: p.client.ID, Claims: map[string]any{"client_id": p.client.ID}}
	if s := strings.Fields(r.PostForm.Get("scope")); len(s) > 0 {
		t.Scopes = s
	}
	if res := r.PostForm.Get("resource"); res != "" {
		t.Claims["aud"] = res
	}
	tokenType := "Bearer"
	if proofs := r.Header.Values("DPoP"); len(proofs) > 0 {
		p.proofs.once.Do(func() { p.proofs.v, p.proofs.err = dpop.New(dpop.Config{Now: p.opts.Now}) })
		if p.proofs.err != nil || len(proofs) != 1 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_dpop_proof"})
			return
		}
		jkt, err := p.proofs.v.Verify(r.Context(), proofs[0], dpop.Request{Method: http.MethodPost, URL: p.TokenURL()})
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_dpop_proof", "error_description": err.Error()})
			return
		}
		t.Claims["cnf"] = map[string]any{"jkt": jkt}
		tokenType = "DPoP"
	}
	tok, err := p.Mint(t)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	out := map[string]any{"access_token": tok, "token_type": tokenType, "expires_in": int(DefaultLifetime.Seconds())}
	if len(t.Scopes) > 0 {
		out["scope"] = strings.Join(t.Scopes, " ")
	}
	writeJSON(w, http.StatusOK, out)
}

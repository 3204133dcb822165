package authtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/clientcasa/oauthguard/keyset"
	"github.com/golang-jwt/jwt/v5"
)

// IntrospectionURL returns the URL of the introspection endpoint
// ({issuer}/introspect), also announced in the metadata.
func (p *Provider) IntrospectionURL() string { return p.opts.Issuer + "/introspect" }

// RevocationURL returns the URL of the revocation endpoint ({issuer}/revoke).
func (p *Provider) RevocationURL() string { return p.opts.Issuer + "/revoke" }

// RegisteredClient returns the client the endpoints accept.
func (p *Provider) RegisteredClient() Client { return p.client }

// MintOpaque mints an opaque access token (43 random characters) that only
// introspection can resolve, with the claims Mint would give t (its header
// fields are ignored). Remove aud with Claims: {"aud": nil} to act like
// Better Auth's tokens requested without a resource.
func (p *Provider) MintOpaque(t Token) (string, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	// Stored as they will be served: JSON values, numbers as json.Number.
	doc, err := json.Marshal(p.claims(t))
	if err != nil {
		return "", err
	}
	claims := jwt.MapClaims{}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return "", err
	}
	p.mu.Lock()
	p.opaque[tok] = claims
	p.mu.Unlock()
	return tok, nil
}

// Revoke revokes token, an opaque token or a JWT this provider minted
// (by its jti): introspection says active false from then on. It reports
// whether the token was known.
func (p *Provider) Revoke(token string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.opaque[token]; ok {
		p.revoked[token] = true
		return true
	}
	var claims jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err == nil {
		if jti, _ := claims["jti"].(string); jti != "" {
			p.revoked[jti] = true
			return true
		}
	}
	return false
}

// SetIntrospectionFault makes the introspection endpoint (and Introspect)
// misbehave until SetIntrospectionFault(FaultNone): Fault500 and
// FaultNotFound answer that status, FaultGarbage a body that is not JSON,
// FaultHang never answers.
func (p *Provider) SetIntrospectionFault(f Fault) {
	p.mu.Lock()
	p.introFault = f
	p.mu.Unlock()
}

// IntrospectionCalls counts the introspection requests answered so far,
// over HTTP and in process, faults included.
func (p *Provider) IntrospectionCalls() int64 { return p.introCalls.Load() }

// errFault is the error Introspect returns for a fault.
var errFault = errors.New("authtest: introspection fault")

// Introspect answers for token in process, as the introspection endpoint
// would, so that a Provider is a middleware.Introspector without any HTTP:
// {"active":false} for an unknown, revoked or expired token, else its
// claims with "active":true and "token_type":"Bearer". A JWT must verify
// with one of the provider's keys.
func (p *Provider) Introspect(ctx context.Context, token string) ([]byte, error) {
	p.introCalls.Add(1)
	p.mu.Lock()
	fault := p.introFault
	p.mu.Unlock()
	switch fault {
	case Fault500, FaultNotFound, FaultGarbage:
		return nil, errFault
	case FaultHang:
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.closing:
			return nil, errFault
		}
	}
	return json.Marshal(p.answer(token))
}

// answer is the introspection response for token.
func (p *Provider) answer(token string) map[string]any {
	inactive := map[string]any{"active": false}
	p.mu.Lock()
	claims, opaque := p.opaque[token]
	revoked := p.revoked[token]
	p.mu.Unlock()
	if !opaque {
		var mc jwt.MapClaims
		_, err := jwt.NewParser(jwt.WithValidMethods(keyset.Algorithms()), jwt.WithoutClaimsValidation()).
			ParseWithClaims(token, &mc, keyset.Keyfunc(p.KeySet()))
		if err != nil {
			return inactive
		}
		claims = mc
		jti, _ := mc["jti"].(string)
		p.mu.Lock()
		revoked = jti != "" && p.revoked[jti]
		p.mu.Unlock()
	}
	if revoked {
		return inactive
	}
	if exp, err := claims.GetExpirationTime(); err != nil || (exp != nil && !p.opts.Now().Before(exp.Time)) {
		return inactive
	}
	out := map[string]any{"active": true, "token_type": "Bearer"}
	if _, bound := claims["cnf"]; bound {
		out["token_type"] = "DPoP"
	}
	for k, v := range claims {
		out[k] = v
	}
	return out
}

// authenticate checks the client credentials of an endpoint request with
// the one method the client is registered for.
func (p *Provider) authenticate(r *http.Request) bool {
	c := p.client
	var id, secret string
	switch c.Method {
	case "client_secret_basic":
		u, pw, ok := r.BasicAuth()
		if !ok || r.PostForm.Has("client_secret") {
			return false
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(u)
		secret, err2 = url.QueryUnescape(pw)
		if err1 != nil || err2 != nil {
			return false
		}
	case "client_secret_post":
		if r.Header.Get("Authorization") != "" {
			return false
		}
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	return subtle.ConstantTimeCompare([]byte(id), []byte(c.ID)) == 1 &&
		subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) == 1
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// clientRequest reads the form of a client's POST (at most 64 KiB) and
// authenticates the registered client, answering invalid_request or
// invalid_client when it cannot; it reports whether the request goes on.
func (p *Provider) clientRequest(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return false
	}
	if !p.authenticate(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return false
	}
	return true
}

// serveIntrospection is POST {issuer}/introspect (RFC 7662 §2).
func (p *Provider) serveIntrospection(w http.ResponseWriter, r *http.Request) {
	if !p.clientRequest(w, r) {
		return
	}
	p.mu.Lock()
	fault := p.introFault
	p.mu.Unlock()
	switch fault {
	case Fault500:
		p.introCalls.Add(1)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case FaultNotFound:
		p.introCalls.Add(1)
		http.NotFound(w, r)
		return
	case FaultGarbage:
		p.introCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("<html>definitely not an introspection response"))
		return
	}
	body, err := p.Introspect(r.Context(), r.PostForm.Get("token"))
	if err != nil {
		http.Error(w, "introspection failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// serveRevocation is POST {issuer}/revoke (RFC 7009 §2): 200 whether or
// not the token was known.
func (p *Provider) serveRevocation(w http.ResponseWriter, r *http.Request) {
	if !p.clientRequest(w, r) {
		return
	}
	if r.PostForm.Get("token") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	p.Revoke(r.PostForm.Get("token"))
	w.WriteHeader(http.StatusOK)
}

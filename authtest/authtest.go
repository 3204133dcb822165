package authtest

import (
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/golang-jwt/jwt/v5"
)

// Default claim values of minted tokens.
const (
	DefaultAudience     = "https://api.example.test"
	DefaultSubject      = "user_123"
	DefaultOrganization = "org_acme"
	DefaultLifetime     = time.Hour
)

// Options configure a [Provider].
type Options struct {
	// Issuer is the issuer identifier, e.g. "http://127.0.0.1:8080" or, for a
	// Better-Auth-like issuer with a path, "http://127.0.0.1:8080/api/auth".
	// Start sets it from the test server's URL and IssuerPath.
	Issuer string
	// IssuerPath is appended to the test server's URL by Start.
	IssuerPath string
	// Audience is the default aud of minted tokens. Zero: DefaultAudience.
	Audience string
	// Algs lists the algorithms to create one signing key each for at start.
	// Zero: RS256, ES256 and EdDSA.
	Algs []string
	// OmitJWKAlg publishes keys without the alg member, as oidc-provider does
	// for RSA and OKP keys.
	OmitJWKAlg bool
	// Now is the clock for iat and exp of minted tokens. Zero: time.Now.
	Now func() time.Time
	// Client is the one OAuth client the provider registers: the token,
	// introspection and revocation endpoints accept it, with the one method
	// it is registered for, as real providers enforce. Zero: DefaultClient.
	Client Client
}

// Client is an OAuth client of the provider (a resource server calling its
// introspection endpoint, or a client getting tokens).
type Client struct {
	ID, Secret string
	// Method is "client_secret_basic" or "client_secret_post".
	Method string
}

// DefaultClient is the client the endpoints accept when Options.Client is
// zero.
var DefaultClient = Client{ID: "resource-server", Secret: "resource-server-secret", Method: "client_secret_basic"}

// Fault makes the JWKS endpoint misbehave.
type Fault int

// The faults SetFault can simulate.
const (
	FaultNone     Fault = iota
	Fault500            // answer 500
	FaultHang           // never answer until the request is cancelled or the provider closes
	FaultGarbage        // answer 200 with a body that is not JSON
	FaultNotFound       // answer 404
)

type signingKey struct {
	kid  string
	alg  string
	priv crypto.Signer
}

// Provider is an in-process fake authorization server: it mints tokens and
// serves its JWKS and metadata through Handler. Safe for concurrent use.
type Provider struct {
	opts    Options
	path    string
	mu      sync.Mutex
	keys    []*signingKey
	extra   []json.RawMessage
	cc      string
	fault   Fault
	fetches atomic.Int64
	closing chan struct{}
	once    sync.Once

	proofs     lazyVerifier             // the token endpoint's DPoP proofs
	opaque     map[string]jwt.MapClaims // opaque tokens minted, by token
	revoked    map[string]bool          // revoked opaque tokens and JWT jtis
	introFault Fault
	introCalls atomic.Int64
	client     Client
}

// NewProvider creates a Provider with one fresh key per Options.Algs.
func NewProvider(opts Options) (*Provider, error) {
	u, err := url.Parse(opts.Issuer)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("authtest: Options.Issuer %q is not an absolute URL", opts.Issuer)
	}
	if opts.Audience == "" {
		opts.Audience = DefaultAudience
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Algs == nil {
		opts.Algs = []string{"RS256", "ES256", "EdDSA"}
	}
	if opts.Client == (Client{}) {
		opts.Client = DefaultClient
	}
	if m := opts.Client.Method; m != "client_secret_basic" && m != "client_secret_post" {
		return nil, fmt.Errorf("authtest: Options.Client.Method %q is neither client_secret_basic nor client_secret_post", m)
	}
	p := &Provider{opts: opts, path: strings.TrimSuffix(u.Path, "/"), closing: make(chan struct{}),
		opaque: map[string]jwt.MapClaims{}, revoked: map[string]bool{}, client: opts.Client}
	for _, alg := range opts.Algs {
		if _, err := p.AddKey(alg); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Issuer returns the issuer identifier.
func (p *Provider) Issuer() string { return p.opts.Issuer }

// Audience returns the default audience of minted tokens.
func (p *Provider) Audience() string { return p.opts.Audience }

// JWKSURL returns the URL of the JWKS ({issuer}/jwks).
func (p *Provider) JWKSURL() string { return p.opts.Issuer + "/jwks" }

// newSigner generates a private key for alg.
func newSigner(alg string) (crypto.Signer, error) {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		return ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA", "Ed25519":
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("authtest: unsupported alg %q", alg)
}

// AddKey generates a key for alg with a fresh kid and publishes it. Tokens
// minted for alg are then signed with it (the newest key wins).
func (p *Provider) AddKey(alg string) (string, error) {
	priv, err := newSigner(alg)
	if err != nil {
		return "", err
	}
	kid := make([]byte, 8)
	_, _ = rand.Read(kid)
	k := &signingKey{kid: strings.ToLower(alg) + "-" + hex.EncodeToString(kid), alg: alg, priv: priv}
	p.mu.Lock()
	p.keys = append(p.keys, k)
	p.mu.Unlock()
	return k.kid, nil
}

// RemoveKey unpublishes the key kid; it reports whether it existed.
func (p *Provider) RemoveKey(kid string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, k := range p.keys {
		if k.kid == kid {
			p.keys = append(p.keys[:i:i], p.keys[i+1:]...)
			return true
		}
	}
	return false
}

// Rotate adds a new key for alg and removes the previous keys of that alg,
// returning the new kid.
func (p *Provider) Rotate(alg string) (string, error) {
	old := p.KIDs(alg)
	kid, err := p.AddKey(alg)
	if err != nil {
		return "", err
	}
	for _, o := range old {
		p.RemoveKey(o)
	}
	return kid, nil
}

// KIDs lists the published kids for alg ("" for all), oldest first.
func (p *Provider) KIDs(alg string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var kids []string
	for _, k := range p.keys {
		if alg == "" || k.alg == alg {
			kids = append(kids, k.kid)
		}
	}
	return kids
}

// PublishRaw adds raw JWK members to the served JWKS as they are, for tests
// of malformed or unusable keys. They cannot sign.
func (p *Provider) PublishRaw(jwks ...json.RawMessage) {
	p.mu.Lock()
	p.extra = append(p.extra, jwks...)
	p.mu.Unlock()
}

// SetFault makes the JWKS endpoint misbehave until SetFault(FaultNone).
func (p *Provider) SetFault(f Fault) {
	p.mu.Lock()
	p.fault = f
	p.mu.Unlock()
}

// SetCacheControl sets the Cache-Control header of JWKS responses.
func (p *Provider) SetCacheControl(v string) {
	p.mu.Lock()
	p.cc = v
	p.mu.Unlock()
}

// JWKSFetches counts the JWKS requests served so far (faults included).
func (p *Provider) JWKSFetches() int64 { return p.fetches.Load() }

// JWKS returns the public JWKS document currently published.
func (p *Provider) JWKS() ([]byte, error) {
	p.mu.Lock()
	keys, extra := append([]*signingKey(nil), p.keys...), append([]json.RawMessage(nil), p.extra...)
	p.mu.Unlock()
	out := make([]json.RawMessage, 0, len(keys)+len(extra))
	for _, k := range keys {
		jwk, err := jwkset.NewJWKFromKey(k.priv.Public(), jwkset.JWKOptions{
			Metadata: jwkset.JWKMetadataOptions{KID: k.kid, USE: jwkset.UseSig}})
		if err != nil {
			return nil, err
		}
		m := jwk.Marshal()
		m.ALG = jwkset.ALG(k.alg)
		if p.opts.OmitJWKAlg {
			m.ALG = ""
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return json.Marshal(map[string]any{"keys": append(out, extra...)})
}

// KeySet returns the public keys currently published as a static
// keyset.Source, for a validator in a test that needs no JWKS endpoint:
// middleware.Config{Keys: p.KeySet(), ...}. Keys added or removed later are
// not in it; call KeySet again.
func (p *Provider) KeySet() *keyset.Set {
	p.mu.Lock()
	keys := make([]keyset.Key, 0, len(p.keys))
	for _, k := range p.keys {
		alg := k.alg
		if p.opts.OmitJWKAlg {
			alg = ""
		}
		keys = append(keys, keyset.Key{ID: k.kid, Algorithm: alg, Public: k.priv.Public()})
	}
	p.mu.Unlock()
	s, err := keyset.NewSet(keys...)
	if err != nil { // not reached: every key was generated here for its alg
		panic("authtest: " + err.Error())
	}
	return s
}

// Metadata returns the authorization server metadata document (RFC 8414):
// only the members a resource server needs, since the fake issues tokens
// through Mint rather than through OAuth endpoints.
func (p *Provider) Metadata() map[string]any {
	return map[string]any{
		"issuer":                                p.opts.Issuer,
		"jwks_uri":                              p.JWKSURL(),
		"token_endpoint":                        p.TokenURL(),
		"introspection_endpoint":                p.IntrospectionURL(),
		"revocation_endpoint":                   p.RevocationURL(),
		"id_token_signing_alg_values_supported": p.opts.Algs,
		"introspection_endpoint_auth_methods_supported": []string{p.client.Method},
	}
}

// Handler serves, relative to the issuer's path P: the JWKS at P/jwks, the
// metadata at /.well-known/oauth-authorization-server/P (RFC 8414
// path-insert), P/.well-known/oauth-authorization-server (path-append) and
// P/.well-known/openid-configuration, a client-credentials token endpoint
// (with DPoP) at P/token, token introspection (RFC 7662) at P/introspect and
// revocation (RFC 7009) at P/revoke.
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	meta := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p.Metadata())
	}
	mux.HandleFunc("GET /.well-known/oauth-authorization-server"+p.path, meta)
	if p.path != "" {
		mux.HandleFunc("GET "+p.path+"/.well-known/oauth-authorization-server", meta)
	}
	mux.HandleFunc("GET "+p.path+"/.well-known/openid-configuration", meta)
	mux.HandleFunc("GET "+p.path+"/jwks", p.serveJWKS)
	mux.HandleFunc("POST "+p.path+"/token", p.serveToken)
	mux.HandleFunc("POST "+p.path+"/introspect", p.serveIntrospection)
	mux.HandleFunc("POST "+p.path+"/revoke", p.serveRevocation)
	return mux
}

func (p *Provider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	p.fetches.Add(1)
	p.mu.Lock()
	fault, cc := p.fault, p.cc
	p.mu.Unlock()
	switch fault {
	case Fault500:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case FaultNotFound:
		http.NotFound(w, r)
		return
	case FaultHang:
		select {
		case <-r.Context().Done():
		case <-p.closing:
		}
		return
	case FaultGarbage:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("<html>definitely not a JWKS"))
		return
	}
	doc, err := p.JWKS()
	if err != nil {
		http.Error(w, "jwks unavailable", http.StatusInternalServerError)
		return
	}
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(doc)
}

// Close releases requests held by FaultHang.
func (p *Provider) Close() { p.once.Do(func() { close(p.closing) }) }

// Token describes a token to mint. Zero fields take the defaults.
type Token struct {
	// Subject is the sub claim. Zero: DefaultSubject.
	Subject string
	// Organization is the organizationId claim. Zero: DefaultOrganization.
	Organization string
	// Scopes become the space-delimited scope claim. Zero: no scope claim.
	Scopes []string
	// Alg selects the signing key: the newest key of this alg. Zero: the alg
	// of the first key.
	Alg string
	// KID overrides the kid header (the key is still chosen by Alg).
	KID string
	// OmitKID mints the token without a kid header.
	OmitKID bool
	// DPoP, when set, binds the token to the key (cnf.jkt, RFC 9449): it is
	// accepted only with Authorization: DPoP and a proof by that key.
	DPoP *DPoPKey
	// Header members set or, with a nil value, removed (typ defaults to
	// "at+jwt").
	Header map[string]any
	// Claims set or, with a nil value, removed, after the fields above.
	// Defaults: iss, aud, sub, iat (now), exp (now + 1 h), jti and
	// organizationId.
	Claims map[string]any
}

// Mint signs a token.
func (p *Provider) Mint(t Token) (string, error) {
	p.mu.Lock()
	var key *signingKey
	for _, k := range p.keys {
		if (t.Alg == "" && key == nil) || k.alg == t.Alg {
			key = k
		}
	}
	p.mu.Unlock()
	if key == nil {
		return "", fmt.Errorf("authtest: no key for alg %q", t.Alg)
	}
	method, _ := keyset.Method(key.alg)
	claims := p.claims(t)
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["typ"] = "at+jwt"
	tok.Header["kid"] = cmp.Or(t.KID, key.kid)
	if t.OmitKID {
		delete(tok.Header, "kid")
	}
	for k, v := range t.Header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	return tok.SignedString(key.priv)
}

// claims are the claims of a token to mint: the defaults, the fields of t,
// then t.Claims.
func (p *Provider) claims(t Token) jwt.MapClaims {
	now := p.opts.Now()
	jti := make([]byte, 12)
	_, _ = rand.Read(jti)
	claims := jwt.MapClaims{
		"iss":            p.opts.Issuer,
		"aud":            p.opts.Audience,
		"sub":            cmp.Or(t.Subject, DefaultSubject),
		"iat":            now.Unix(),
		"exp":            now.Add(DefaultLifetime).Unix(),
		"jti":            hex.EncodeToString(jti),
		"organizationId": cmp.Or(t.Organization, DefaultOrganization),
	}
	if len(t.Scopes) > 0 {
		claims["scope"] = strings.Join(t.Scopes, " ")
	}
	if t.DPoP != nil {
		claims["cnf"] = map[string]any{"jkt": t.DPoP.Thumbprint()}
	}
	for k, v := range t.Claims {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	return claims
}

// Server is a Provider listening on a loopback httptest server.
type Server struct {
	*Provider
	srv *httptest.Server
}

// Start starts a Provider on 127.0.0.1; its issuer is the server URL plus
// opts.IssuerPath. Close it when done.
func Start(opts Options) (*Server, error) {
	s := &Server{}
	var h atomic.Pointer[http.Handler]
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hp := h.Load(); hp != nil {
			(*hp).ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	}))
	opts.Issuer = s.srv.URL + strings.TrimSuffix(opts.IssuerPath, "/")
	p, err := NewProvider(opts)
	if err != nil {
		s.srv.Close()
		return nil, err
	}
	s.Provider = p
	handler := p.Handler()
	h.Store(&handler)
	return s, nil
}

// URL returns the server's base URL (the issuer without its path).
func (s *Server) URL() string { return s.srv.URL }

// Client returns an http.Client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close releases hanging requests and stops the server.
func (s *Server) Close() {
	s.Provider.Close()
	s.srv.Close()
}

// SignRaw signs header and payload, taken as they are (any bytes, valid JSON
// or not), with the key kid, and returns the compact serialization. It is for
// tests of malformed, duplicated or otherwise hostile token contents.
func (p *Provider) SignRaw(kid string, header, payload []byte) (string, error) {
	p.mu.Lock()
	var key *signingKey
	for _, k := range p.keys {
		if k.kid == kid {
			key = k
		}
	}
	p.mu.Unlock()
	if key == nil {
		return "", fmt.Errorf("authtest: no key %q", kid)
	}
	method, _ := keyset.Method(key.alg)
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sig, err := method.Sign(input, key.priv)
	if err != nil {
		return "", err
	}
	return input + "." + enc.EncodeToString(sig), nil
}

package middleware_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/dpop"
	"github.com/clientcasa/oauthguard/middleware"
)

// dpopFixture is a provider, a validator of its tokens with mod applied,
// and a client key.
type dpopFixture struct {
	p   *authtest.Provider
	v   *middleware.Validator
	key *authtest.DPoPKey
}

func newDPoPFixture(t *testing.T, mod func(*middleware.Config)) *dpopFixture {
	t.Helper()
	p, err := authtest.NewProvider(authtest.Options{Issuer: introIssuer, Algs: []string{"EdDSA"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := middleware.Config{Issuers: []string{introIssuer}, Audiences: []string{authtest.DefaultAudience}, Keys: p.KeySet(), Introspector: p}
	if mod != nil {
		mod(&cfg)
	}
	v, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	key, err := authtest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	return &dpopFixture{p: p, v: v, key: key}
}

// request is GET url with Authorization scheme and token and the proofs.
func (f *dpopFixture) request(t *testing.T, url, scheme, tok string, proofs ...string) *http.Request {
	t.Helper()
	r := httptest.NewRequest("GET", url, nil)
	r.Header.Set("Authorization", scheme+" "+tok)
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	return r
}

func (f *dpopFixture) proof(t *testing.T, url, tok string) string {
	t.Helper()
	p, err := f.key.Proof("GET", url, tok)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDPoPModes(t *testing.T) {
	const url = "http://api.example.test/api/v1/me"
	for _, tc := range []struct {
		name   string
		mode   middleware.DPoPMode
		bound  bool   // the token is DPoP-bound
		scheme string // Authorization scheme
		proof  bool
		want   error // nil: accepted
	}{
		{"allowed_bearer_token_accepted", middleware.DPoPAllowed, false, "Bearer", false, nil},
		{"allowed_bound_token_with_proof_accepted", middleware.DPoPAllowed, true, "DPoP", true, nil},
		{"allowed_bound_token_as_bearer_refused", middleware.DPoPAllowed, true, "Bearer", false, middleware.ErrBoundToken},
		{"allowed_bound_token_without_proof_refused", middleware.DPoPAllowed, true, "DPoP", false, middleware.ErrInvalidDPoPProof},
		{"allowed_unbound_token_with_dpop_scheme_refused", middleware.DPoPAllowed, false, "DPoP", true, middleware.ErrNotBound},
		{"required_bearer_token_refused", middleware.DPoPRequired, false, "Bearer", false, middleware.ErrNotBound},
		{"required_bound_token_with_proof_accepted", middleware.DPoPRequired, true, "DPoP", true, nil},
		{"disabled_bearer_token_accepted", middleware.DPoPDisabled, false, "Bearer", false, nil},
		// As before DPoP support: the scheme is unknown, the bound token refused.
		{"disabled_dpop_scheme_is_no_credentials", middleware.DPoPDisabled, true, "DPoP", true, middleware.ErrNoCredentials},
		{"disabled_bound_token_as_bearer_refused", middleware.DPoPDisabled, true, "Bearer", false, middleware.ErrBoundToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newDPoPFixture(t, func(c *middleware.Config) { c.DPoP.Mode = tc.mode })
			tok := authtest.Token{}
			if tc.bound {
				tok.DPoP = f.key
			}
			raw, err := f.p.Mint(tok)
			if err != nil {
				t.Fatal(err)
			}
			var proofs []string
			if tc.proof {
				proofs = append(proofs, f.proof(t, url, raw))
			}
			c, err := f.v.Authenticate(f.request(t, url, tc.scheme, raw, proofs...))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if tc.bound && c.Confirmation.JWKThumbprint != f.key.Thumbprint() {
					t.Fatalf("Confirmation %+v", c.Confirmation)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// Every DPoP request checks its proof, though the token comes from the
// verified-token cache; and Validate, which has no request, refuses bound
// tokens.
func TestDPoPProofCheckedOnCacheHits(t *testing.T) {
	const url = "http://api.example.test/api/v1/me"
	f := newDPoPFixture(t, nil)
	raw, _ := f.p.Mint(authtest.Token{DPoP: f.key})
	proof := f.proof(t, url, raw)
	if _, err := f.v.Authenticate(f.request(t, url, "DPoP", raw, proof)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Authenticate(f.request(t, url, "DPoP", raw, proof)); !errors.Is(err, middleware.ErrInvalidDPoPProof) ||
		!strings.Contains(err.Error(), "replay") {
		t.Fatalf("replayed proof on a cache hit: %v", err)
	}
	if _, err := f.v.Authenticate(f.request(t, url, "DPoP", raw, f.proof(t, url, raw))); err != nil {
		t.Fatalf("fresh proof on a cache hit: %v", err)
	}
	if st := f.v.Stats(); st.CacheEntries != 1 {
		t.Fatalf("the bound token is not cached: %+v", st)
	}
	if _, err := f.v.Validate(context.Background(), raw); !errors.Is(err, middleware.ErrBoundToken) {
		t.Fatalf("Validate of a bound token: %v", err)
	}
}

// An opaque DPoP token: its introspection answer carries cnf.jkt, and the
// same proof checks apply.
func TestDPoPOpaqueTokenThroughIntrospection(t *testing.T) {
	const url = "http://api.example.test/api/v1/me"
	f := newDPoPFixture(t, nil)
	raw, _ := f.p.MintOpaque(authtest.Token{DPoP: f.key})
	c, err := f.v.Authenticate(f.request(t, url, "DPoP", raw, f.proof(t, url, raw)))
	if err != nil || !c.Introspected || c.Confirmation.JWKThumbprint != f.key.Thumbprint() {
		t.Fatalf("opaque DPoP token: %v %+v", err, c)
	}
	if _, err := f.v.Authenticate(f.request(t, url, "Bearer", raw)); !errors.Is(err, middleware.ErrBoundToken) {
		t.Fatalf("opaque DPoP token as Bearer: %v", err)
	}
	other, _ := authtest.NewDPoPKey("ES256")
	p2, _ := other.Proof("GET", url, raw)
	if _, err := f.v.Authenticate(f.request(t, url, "DPoP", raw, p2)); !errors.Is(err, middleware.ErrInvalidDPoPProof) {
		t.Fatalf("opaque DPoP token, proof of another key: %v", err)
	}
}

// htu behind a proxy: the external URL when configured, the forwarded
// headers only when trusted, never by default.
func TestDPoPRequestURL(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dpop    middleware.DPoP
		headers map[string]string
		tls     bool
		htu     string
		ok      bool
	}{
		{"default_host_and_scheme", middleware.DPoP{}, nil, false, "http://internal:8080/api/v1/me", true},
		{"default_tls_is_https", middleware.DPoP{}, nil, true, "https://internal:8080/api/v1/me", true},
		{"forwarded_ignored_by_default", middleware.DPoP{}, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"},
			false, "https://api.example.com/api/v1/me", false},
		{"external_url_used", middleware.DPoP{ExternalURL: "https://api.example.com"}, nil, false, "https://api.example.com/api/v1/me", true},
		{"external_url_with_prefix", middleware.DPoP{ExternalURL: "https://example.com/svc/"}, nil, false, "https://example.com/svc/api/v1/me", true},
		{"external_url_refuses_internal_host", middleware.DPoP{ExternalURL: "https://api.example.com"}, nil, false, "http://internal:8080/api/v1/me", false},
		{"x_forwarded_trusted", middleware.DPoP{TrustForwardedHeaders: true}, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"},
			false, "https://api.example.com/api/v1/me", true},
		{"forwarded_rfc7239_trusted", middleware.DPoP{TrustForwardedHeaders: true}, map[string]string{"Forwarded": `for=1.2.3.4;proto=https;host="api.example.com", for=5.6.7.8`},
			false, "https://api.example.com/api/v1/me", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newDPoPFixture(t, func(c *middleware.Config) { c.DPoP = tc.dpop })
			raw, _ := f.p.Mint(authtest.Token{DPoP: f.key})
			r := f.request(t, "http://internal:8080/api/v1/me", "DPoP", raw, f.proof(t, tc.htu, raw))
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			_, err := f.v.Authenticate(r)
			if tc.ok != (err == nil) {
				t.Fatalf("htu %s: %v", tc.htu, err)
			}
		})
	}
	for _, bad := range []middleware.DPoP{{ExternalURL: "api.example.com"}, {ExternalURL: "https://api.example.com/?x"},
		{ExternalURL: "https://api.example.com", TrustForwardedHeaders: true}, {Mode: 7}, {Proofs: dpop.Config{Algorithms: []string{"HS256"}}}} {
		if _, err := middleware.New(middleware.Config{Issuers: []string{"https://as.test"}, Audiences: []string{"a"},
			Keys: newDPoPFixture(t, nil).p.KeySet(), DPoP: bad}); err == nil {
			t.Errorf("DPoP config %+v accepted", bad)
		}
	}
}

// With server nonces, a proof without one gets use_dpop_nonce and a nonce in
// DPoP-Nonce; the retry with it passes.
func TestDPoPNonceFlow(t *testing.T) {
	const url = "http://api.example.test/api/v1/me"
	nonces, err := dpop.NewHMACNonces([]byte(strings.Repeat("n", 32)), time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newDPoPFixture(t, func(c *middleware.Config) { c.DPoP.Proofs.Nonces = nonces })
	raw, _ := f.p.Mint(authtest.Token{DPoP: f.key})
	_, err = f.v.Authenticate(f.request(t, url, "DPoP", raw, f.proof(t, url, raw)))
	if !errors.Is(err, middleware.ErrUseDPoPNonce) {
		t.Fatalf("without nonce: %v", err)
	}
	g, _ := middleware.NewGuard(middleware.Options{Validator: f.v})
	w := httptest.NewRecorder()
	g.Reject(w, f.request(t, url, "DPoP", raw), err)
	nonce := w.Header().Get("DPoP-Nonce")
	if w.Code != 401 || nonce == "" || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), `DPoP algs="`) ||
		!strings.Contains(w.Header().Get("WWW-Authenticate"), `error="use_dpop_nonce"`) {
		t.Fatalf("use_dpop_nonce response: %d %v", w.Code, w.Header())
	}
	p, _ := f.key.ProofWith(authtest.DPoPProof{Method: "GET", URL: url, AccessToken: raw, Nonce: nonce})
	if _, err := f.v.Authenticate(f.request(t, url, "DPoP", raw, p)); err != nil {
		t.Fatalf("with the nonce: %v", err)
	}
}

// mTLS-bound tokens (RFC 8705) over a real loopback TLS server with a
// generated CA and client certificates: the matching certificate passes,
// another or none does not.
func TestMTLSBoundTokens(t *testing.T) {
	ca, caKey := certificate(t, nil, nil, "test CA", true)
	alice, aliceKey := certificate(t, ca, caKey, "alice", false)
	mallory, malloryKey := certificate(t, ca, caKey, "mallory", false)
	server, serverKey := certificate(t, ca, caKey, "127.0.0.1", false)

	f := newDPoPFixture(t, nil)
	g, err := middleware.NewGuard(middleware.Options{Validator: f.v})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := g.Authenticate(w, r); ok {
			_, _ = io.WriteString(w, "ok")
		}
	}))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool,
		Certificates: []tls.Certificate{{Certificate: [][]byte{server.Raw}, PrivateKey: serverKey}}}
	srv.StartTLS()
	defer srv.Close()

	tok, _ := f.p.Mint(authtest.Token{Claims: map[string]any{"cnf": map[string]any{"x5t#S256": middleware.CertificateThumbprint(alice)}}})
	call := func(cert *x509.Certificate, key *ecdsa.PrivateKey) int {
		cfg := &tls.Config{RootCAs: pool}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}}
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := call(alice, aliceKey); got != 200 {
		t.Errorf("matching certificate: %d, want 200", got)
	}
	if got := call(mallory, malloryKey); got != 401 {
		t.Errorf("another certificate: %d, want 401", got)
	}
	if got := call(nil, nil); got != 401 {
		t.Errorf("no certificate: %d, want 401", got)
	}
	// Without TLS at all.
	if _, err := f.v.Authenticate(f.request(t, "http://api.example.test/", "Bearer", tok)); !errors.Is(err, middleware.ErrBoundToken) {
		t.Errorf("plain http: %v", err)
	}
}

// certificate makes a certificate for name signed by parent (self-signed when
// nil), with a fresh P-256 key.
func certificate(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, name string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign|x509.KeyUsageDigitalSignature
	}
	if name == "127.0.0.1" {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

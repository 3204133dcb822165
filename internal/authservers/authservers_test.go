//go:build unix

package authservers

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
)

var kinds = []Kind{OIDCProvider, BetterAuth}

// One server per kind for the whole package, started on first use and
// stopped by TestMain.
var shared struct {
	sync.Mutex
	servers map[Kind]*Server
	errs    map[Kind]error
}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Lock()
	for _, s := range shared.servers {
		s.Stop()
	}
	shared.Unlock()
	os.Exit(code)
}

func server(t *testing.T, kind Kind) *Server {
	t.Helper()
	skipShort(t)
	shared.Lock()
	defer shared.Unlock()
	if shared.servers == nil {
		shared.servers, shared.errs = map[Kind]*Server{}, map[Kind]error{}
	}
	if s, ok := shared.servers[kind]; ok {
		return s
	}
	if err, ok := shared.errs[kind]; ok {
		t.Fatalf("start %s failed earlier: %v", kind, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	begin := time.Now()
	s, err := Start(ctx, kind, Options{})
	if err != nil {
		shared.errs[kind] = err
		t.Fatalf("Start(%s): %v", kind, err)
	}
	t.Logf("%s READY %s in %s (including any npm ci)", kind, s.Issuer, time.Since(begin).Round(time.Millisecond))
	shared.servers[kind] = s
	return s
}

func forEachKind(t *testing.T, f func(t *testing.T, s *Server)) {
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			s := server(t, kind)
			f(t, s)
			if t.Failed() {
				t.Logf("%s stderr tail:\n%s", kind, s.Logs())
			}
		})
	}
}

// ctxFor bounds one test's requests; generous, because CI machines can be
// heavily loaded.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestReadyIssuer(t *testing.T) {
	want := map[Kind]*regexp.Regexp{
		OIDCProvider: regexp.MustCompile(`^http://127\.0\.0\.1:[1-9][0-9]*$`),
		BetterAuth:   regexp.MustCompile(`^http://127\.0\.0\.1:[1-9][0-9]*/api/auth$`),
	}
	forEachKind(t, func(t *testing.T, s *Server) {
		if !want[s.Kind].MatchString(s.Issuer) {
			t.Errorf("Issuer = %q, want match %s", s.Issuer, want[s.Kind])
		}
		if s.Audience != DefaultAudience {
			t.Errorf("Audience = %q, want %q", s.Audience, DefaultAudience)
		}
	})
}

func TestMetadata(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *Server) {
		ctx := ctxFor(t)
		wantURL := map[Kind]string{
			OIDCProvider: s.Issuer + "/.well-known/oauth-authorization-server",
			BetterAuth:   s.Issuer + "/.well-known/oauth-authorization-server", // path-append
		}[s.Kind]
		if s.MetadataURL != wantURL {
			t.Errorf("MetadataURL = %q, want %q", s.MetadataURL, wantURL)
		}
		for _, u := range []string{s.MetadataURL, s.RFC8414MetadataURL} {
			var md map[string]any
			if err := s.getJSON(ctx, u, &md); err != nil {
				t.Fatalf("GET %s: %v", u, err)
			}
			if md["issuer"] != s.Issuer {
				t.Errorf("%s: issuer = %v, want %q", u, md["issuer"], s.Issuer)
			}
			jwksURI, _ := md["jwks_uri"].(string)
			if !strings.HasPrefix(jwksURI, s.Issuer+"/") {
				t.Errorf("%s: jwks_uri = %q, want under the issuer", u, jwksURI)
			}
			methods, _ := md["code_challenge_methods_supported"].([]any)
			if !slices.Contains(methods, any("S256")) {
				t.Errorf("%s: code_challenge_methods_supported = %v, want S256", u, methods)
			}
		}
		if _, err := fetchJWKS(ctx, s); err != nil {
			t.Fatal(err)
		}
	})
}

func TestClientCredentialsEveryAlg(t *testing.T) {
	wantAlgs := map[Kind][]string{
		OIDCProvider: {"RS256", "PS256", "ES256", "EdDSA", "Ed25519"},
		BetterAuth:   {"EdDSA", "RS256", "ES256"},
	}
	forEachKind(t, func(t *testing.T, s *Server) {
		if !slices.Equal(s.Algs, wantAlgs[s.Kind]) {
			t.Fatalf("Algs = %v, want %v", s.Algs, wantAlgs[s.Kind])
		}
		ctx := ctxFor(t)
		jwks, err := fetchJWKS(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		c := s.Clients.Full
		resources := map[string]string{s.Audience: s.Algs[0]} // the default resource
		for _, alg := range s.Algs {
			resources[AlgResource(alg)] = alg
		}
		for resource, alg := range resources {
			t.Run(resource, func(t *testing.T) {
				tok, err := s.ClientCredentials(ctx, c.ID, c.Secret, resource, c.Scope)
				if err != nil {
					t.Fatal(err)
				}
				if tok.TokenType != "Bearer" {
					t.Errorf("token_type = %q, want Bearer", tok.TokenType)
				}
				header, payload := verify(t, jwks, tok.AccessToken)
				if header["alg"] != alg || header["typ"] != "at+jwt" {
					t.Errorf("header = %v, want alg %s typ at+jwt", header, alg)
				}
				checkClaims(t, s, payload, s.Audience, c.Organization, c.Scope)
				if payload["sub"] != c.ID || payload["client_id"] != c.ID {
					t.Errorf("sub = %v, client_id = %v, want %s", payload["sub"], payload["client_id"], c.ID)
				}
			})
		}
	})
}

func TestClientsAndOrganizations(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *Server) {
		ctx := ctxFor(t)
		jwks, err := fetchJWKS(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range s.Clients.All() {
			tok, err := s.ClientCredentials(ctx, c.ID, c.Secret, s.Audience, c.Scope)
			if err != nil {
				t.Fatalf("%s: %v", c.ID, err)
			}
			_, payload := verify(t, jwks, tok.AccessToken)
			checkClaims(t, s, payload, s.Audience, c.Organization, c.Scope)
		}
	})
}

func TestOtherAudienceAndShortTTL(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *Server) {
		ctx := ctxFor(t)
		jwks, err := fetchJWKS(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		c := s.Clients.Full
		tok, err := s.ClientCredentials(ctx, c.ID, c.Secret, OtherAudience, c.Scope)
		if err != nil {
			t.Fatal(err)
		}
		_, payload := verify(t, jwks, tok.AccessToken)
		if got := audiences(payload); !slices.Equal(got, []string{OtherAudience}) {
			t.Errorf("aud = %v, want [%s]", got, OtherAudience)
		}

		tok, err = s.ClientCredentials(ctx, c.ID, c.Secret, TTLResource(5), c.Scope)
		if err != nil {
			t.Fatal(err)
		}
		_, payload = verify(t, jwks, tok.AccessToken)
		checkClaims(t, s, payload, s.Audience, c.Organization, c.Scope)
		exp, iat := payload["exp"].(float64), payload["iat"].(float64)
		if exp-iat != 5 || tok.ExpiresIn != 5 {
			t.Errorf("exp-iat = %v, expires_in = %d, want 5", exp-iat, tok.ExpiresIn)
		}
	})
}

func TestTokenErrors(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *Server) {
		ctx := ctxFor(t)
		c := s.Clients.Full
		var te *TokenError
		_, err := s.ClientCredentials(ctx, c.ID, "wrong-secret", s.Audience, c.Scope)
		if !errors.As(err, &te) || te.StatusCode != 401 || te.Code != "invalid_client" {
			t.Errorf("wrong secret: err = %v, want 401 invalid_client", err)
		}
		_, err = s.ClientCredentials(ctx, c.ID, c.Secret, "https://unknown.example.test", c.Scope)
		if !errors.As(err, &te) || te.StatusCode != 400 || te.Code != "invalid_target" {
			t.Errorf("unknown resource: err = %v, want 400 invalid_target", err)
		}

		// The reader asking for more than read:clients: oidc-provider drops
		// the extra scope, Better Auth refuses the request.
		r := s.Clients.Reader
		tok, err := s.ClientCredentials(ctx, r.ID, r.Secret, s.Audience, ScopeRead+" "+ScopeWrite)
		switch s.Kind {
		case OIDCProvider:
			if err != nil {
				t.Fatal(err)
			}
			if _, payload := decode(t, tok.AccessToken); payload["scope"] != ScopeRead {
				t.Errorf("reader scope = %v, want %s", payload["scope"], ScopeRead)
			}
		case BetterAuth:
			if !errors.As(err, &te) || te.StatusCode != 400 || te.Code != "invalid_scope" {
				t.Errorf("reader asking for write: err = %v, want 400 invalid_scope", err)
			}
		}
	})
}

func TestAuthCodePKCEAndRefresh(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *Server) {
		ctx := ctxFor(t)
		jwks, err := fetchJWKS(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		full := ScopeRead + " " + ScopeWrite
		for _, u := range s.Users {
			t.Run(u.Login, func(t *testing.T) {
				tok, err := s.AuthCodePKCE(ctx, u.Login, full, s.Audience)
				if err != nil {
					t.Fatal(err)
				}
				if tok.RefreshToken == "" {
					t.Fatalf("no refresh token: %v", tok.JSON)
				}
				header, payload := verify(t, jwks, tok.AccessToken)
				if header["typ"] != "at+jwt" {
					t.Errorf("typ = %v, want at+jwt", header["typ"])
				}
				checkClaims(t, s, payload, s.Audience, u.Organization, "")
				checkScopeHas(t, payload, ScopeRead, ScopeWrite)
				if s.Kind == OIDCProvider && payload["sub"] != u.Login {
					t.Errorf("sub = %v, want %s", payload["sub"], u.Login)
				}
				if payload["sub"] == s.Clients.Full.ID || payload["sub"] == "" {
					t.Errorf("sub = %v, want the user", payload["sub"])
				}

				again, err := s.Refresh(ctx, tok.RefreshToken, "")
				if err != nil {
					t.Fatal(err)
				}
				_, refreshed := verify(t, jwks, again.AccessToken)
				checkClaims(t, s, refreshed, s.Audience, u.Organization, "")
				checkScopeHas(t, refreshed, ScopeRead, ScopeWrite)
				if refreshed["jti"] == payload["jti"] || refreshed["sub"] != payload["sub"] {
					t.Errorf("refreshed jti %v (old %v), sub %v (old %v): want a new jti, same sub",
						refreshed["jti"], payload["jti"], refreshed["sub"], payload["sub"])
				}
			})
		}
	})
}

func TestDPoP(t *testing.T) {
	forEachKind(t, testDPoP)
}

func testDPoP(t *testing.T, s *Server) {
	ctx := ctxFor(t)
	jwks, err := fetchJWKS(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	key, err := authtest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	c := s.Clients.Full
	tok, err := s.DPoPClientCredentials(ctx, key, c.ID, c.Secret, AlgResource("ES256"), c.Scope)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "DPoP" {
		t.Errorf("token_type = %q, want DPoP", tok.TokenType)
	}
	_, payload := verify(t, jwks, tok.AccessToken)
	checkClaims(t, s, payload, s.Audience, c.Organization, c.Scope)
	cnf, _ := payload["cnf"].(map[string]any)
	if cnf["jkt"] != key.Thumbprint() {
		t.Errorf("cnf = %v, want jkt %s", payload["cnf"], key.Thumbprint())
	}
	// The proof for a resource request carries ath and verifies with the
	// embedded key.
	proof, err := key.Proof("GET", "https://api.example.test/clients", tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	ph, pp := verifyWith(t, proof, func(h map[string]any) (any, error) { return parseJWK(h["jwk"]) })
	sum := sha256.Sum256([]byte(tok.AccessToken))
	if ph["typ"] != "dpop+jwt" || pp["htm"] != "GET" || pp["ath"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Errorf("proof header %v payload %v", ph, pp)
	}
}

// TestSecondInstanceAndRotation starts a second server of each kind with
// another audience and default alg: it has its own issuer, and it is the one
// rotated, so the shared servers keep their keys.
func TestSecondInstanceAndRotation(t *testing.T) {
	defaultAlg := map[Kind]string{OIDCProvider: "ES256", BetterAuth: "RS256"}
	const audience = "https://second.example.test"
	forEachKind(t, func(t *testing.T, first *Server) {
		ctx := ctxFor(t)
		s, err := Start(ctx, first.Kind, Options{Audience: audience, Env: map[string]string{"AT_ALG": defaultAlg[first.Kind]}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
		if s.Issuer == first.Issuer {
			t.Fatalf("second instance has the same issuer %s", s.Issuer)
		}
		if s.Audience != audience || s.Algs[0] != defaultAlg[s.Kind] {
			t.Fatalf("Audience = %q, Algs = %v; want %q, %s first", s.Audience, s.Algs, audience, defaultAlg[s.Kind])
		}
		c := s.Clients.Full
		tok, err := s.ClientCredentials(ctx, c.ID, c.Secret, audience, c.Scope)
		if err != nil {
			t.Fatal(err)
		}
		header, payload := decode(t, tok.AccessToken)
		if header["alg"] != defaultAlg[s.Kind] {
			t.Errorf("alg for the audience = %v, want %s", header["alg"], defaultAlg[s.Kind])
		}
		checkClaims(t, s, payload, audience, c.Organization, c.Scope)
		before, beforeTokens := map[string]string{}, map[string]string{}
		for _, alg := range s.Algs {
			tok, err := s.ClientCredentials(ctx, c.ID, c.Secret, AlgResource(alg), c.Scope)
			if err != nil {
				t.Fatal(err)
			}
			header, _ := decode(t, tok.AccessToken)
			before[alg], _ = header["kid"].(string)
			beforeTokens[alg] = tok.AccessToken
		}

		rot, err := s.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		jwks, err := fetchJWKS(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, alg := range s.Algs {
			tok, err := s.ClientCredentials(ctx, c.ID, c.Secret, AlgResource(alg), c.Scope)
			if err != nil {
				t.Fatal(err)
			}
			header, payload := verify(t, jwks, tok.AccessToken)
			checkClaims(t, s, payload, audience, c.Organization, c.Scope)
			kid, _ := header["kid"].(string)
			if kid == before[alg] || kid != rot.Kids[alg] {
				t.Errorf("%s: kid after rotation = %q, before %q, rotation said %q", alg, kid, before[alg], rot.Kids[alg])
			}
			if payload["iss"] != s.Issuer {
				t.Errorf("iss = %v after rotation, want %s", payload["iss"], s.Issuer)
			}
			// The retired key stays published: earlier tokens still verify.
			verify(t, jwks, beforeTokens[alg])
			if !slices.Contains(rot.Retired, before[alg]) {
				t.Errorf("%s: Retired = %v, want it to list %q", alg, rot.Retired, before[alg])
			}
		}

		// Stop is idempotent and really ends the server.
		s.Stop()
		s.Stop()
		if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(s.baseURL(), "http://"), time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after Stop", s.baseURL())
		}
	})
}

// skipShort skips t under -short: it runs node.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real authorization servers (Node.js); skipped with -short")
	}
}

func TestStartFailureReportsStderr(t *testing.T) {
	skipShort(t)
	ctx := ctxFor(t)
	// An invalid port makes node fail at listen, before READY.
	_, err := Start(ctx, OIDCProvider, Options{Env: map[string]string{"PORT": "70000"}})
	if err == nil || !strings.Contains(err.Error(), "exited before READY") || !strings.Contains(err.Error(), "stderr tail") {
		t.Fatalf("err = %v, want an early-exit error with the stderr tail", err)
	}
}

// --- claims -----------------------------------------------------------------

func checkClaims(t *testing.T, s *Server, payload map[string]any, audience, org, scope string) {
	t.Helper()
	if payload["iss"] != s.Issuer {
		t.Errorf("iss = %v, want %s", payload["iss"], s.Issuer)
	}
	if !slices.Contains(audiences(payload), audience) {
		t.Errorf("aud = %v, want it to contain %s", payload["aud"], audience)
	}
	if payload["organizationId"] != org {
		t.Errorf("organizationId = %v, want %s", payload["organizationId"], org)
	}
	if scope != "" && payload["scope"] != scope {
		t.Errorf("scope = %v, want %q", payload["scope"], scope)
	}
	exp, _ := payload["exp"].(float64)
	if now := float64(time.Now().Unix()); exp < now {
		t.Errorf("exp = %v, already past (now %v)", exp, now)
	}
}

func checkScopeHas(t *testing.T, payload map[string]any, want ...string) {
	t.Helper()
	scope, _ := payload["scope"].(string)
	for _, w := range want {
		if !slices.Contains(strings.Fields(scope), w) {
			t.Errorf("scope = %q, want it to contain %s", scope, w)
		}
	}
}

// audiences returns aud as a list: a string (oidc-provider) or an array
// (Better Auth when openid was requested).
func audiences(payload map[string]any) []string {
	switch aud := payload["aud"].(type) {
	case string:
		return []string{aud}
	case []any:
		var out []string
		for _, a := range aud {
			if s, ok := a.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// --- stdlib-only JWS verification (test code) --------------------------------

type jwkSet map[string]map[string]any // kid -> JWK

func fetchJWKS(ctx context.Context, s *Server) (jwkSet, error) {
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := s.getJSON(ctx, s.JWKSURI, &doc); err != nil {
		return nil, err
	}
	if len(doc.Keys) == 0 {
		return nil, fmt.Errorf("empty JWKS at %s", s.JWKSURI)
	}
	set := jwkSet{}
	for _, k := range doc.Keys {
		kid, _ := k["kid"].(string)
		if kid == "" {
			return nil, fmt.Errorf("JWK without kid at %s", s.JWKSURI)
		}
		if _, ok := k["d"]; ok {
			return nil, fmt.Errorf("JWKS at %s publishes a private key (%s)", s.JWKSURI, kid)
		}
		set[kid] = k
	}
	return set, nil
}

func decode(t *testing.T, jws string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS (%d parts): %.40s…", len(parts), jws)
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("JWS part %d: %v", i, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatalf("JWS part %d: %v", i, err)
		}
	}
	return header, payload
}

// verify checks the JWS signature with the JWKS key named by its kid.
func verify(t *testing.T, set jwkSet, jws string) (header, payload map[string]any) {
	t.Helper()
	return verifyWith(t, jws, func(h map[string]any) (any, error) {
		kid, _ := h["kid"].(string)
		jwk, ok := set[kid]
		if !ok {
			return nil, fmt.Errorf("kid %q not in JWKS", kid)
		}
		if a, ok := jwk["alg"].(string); ok && a != h["alg"] {
			// Keys published without alg serve several algs (RSA: RS256 and
			// PS256; Ed25519: EdDSA and Ed25519); a published alg must match.
			return nil, fmt.Errorf("JWK %s has alg %s, token says %v", kid, a, h["alg"])
		}
		return parseJWK(jwk)
	})
}

func verifyWith(t *testing.T, jws string, keyFor func(header map[string]any) (any, error)) (header, payload map[string]any) {
	t.Helper()
	header, payload = decode(t, jws)
	key, err := keyFor(header)
	if err != nil {
		t.Fatalf("key for %v: %v", header, err)
	}
	i := strings.LastIndexByte(jws, '.')
	signingInput := []byte(jws[:i])
	sig, err := base64.RawURLEncoding.DecodeString(jws[i+1:])
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	digest := sha256.Sum256(signingInput)
	ok := false
	switch alg, _ := header["alg"].(string); alg {
	case "RS256":
		pub, isRSA := key.(*rsa.PublicKey)
		ok = isRSA && rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
	case "PS256":
		pub, isRSA := key.(*rsa.PublicKey)
		ok = isRSA && rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case "ES256":
		pub, isEC := key.(*ecdsa.PublicKey)
		ok = isEC && len(sig) == 64 && pub.Curve == elliptic.P256() &&
			ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	case "EdDSA", "Ed25519":
		pub, isEd := key.(ed25519.PublicKey)
		ok = isEd && ed25519.Verify(pub, signingInput, sig)
	default:
		t.Fatalf("unexpected alg %q", alg)
	}
	if !ok {
		t.Fatalf("signature does not verify: header %v", header)
	}
	return header, payload
}

func parseJWK(v any) (any, error) {
	jwk, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("JWK is %T", v)
	}
	field := func(name string) ([]byte, error) {
		s, _ := jwk[name].(string)
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("JWK member %s: %q", name, s)
		}
		return b, nil
	}
	switch jwk["kty"] {
	case "RSA":
		n, err := field("n")
		if err != nil {
			return nil, err
		}
		e, err := field("e")
		if err != nil {
			return nil, err
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	case "EC":
		if jwk["crv"] != "P-256" {
			return nil, fmt.Errorf("EC curve %v", jwk["crv"])
		}
		x, err := field("x")
		if err != nil {
			return nil, err
		}
		y, err := field("y")
		if err != nil {
			return nil, err
		}
		if len(x) != 32 || len(y) != 32 {
			return nil, errors.New("P-256 coordinates must be 32 bytes")
		}
		return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	case "OKP":
		if jwk["crv"] != "Ed25519" {
			return nil, fmt.Errorf("OKP curve %v", jwk["crv"])
		}
		x, err := field("x")
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("Ed25519 key must be 32 bytes")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("kty %v", jwk["kty"])
}

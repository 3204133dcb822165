// Package bench measures oauthguard beside the signature-verification floor
// and beside three widely used Go JWT stacks: golang-jwt/jwt v5 with
// MicahParks/keyfunc v3, auth0/go-jwt-middleware v2, and lestrrat-go/jwx v3.
//
// It is a separate module so that the library's go.mod never lists the peers.
// Every implementation here validates the same tokens against the same JWKS
// document with the same checks (see [Fixture]); the benchmarks are in
// peers_test.go and the loopback load generator in cmd/loadgen. run.sh runs
// both; README.md holds the figures.
package bench

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	auth0jwks "github.com/auth0/go-jwt-middleware/v2/jwks"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
	"github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"
)

// Algs are the algorithms compared, one signing key each. They are also the
// allow-list every implementation is configured with.
var Algs = []string{"RS256", "ES256", "EdDSA"}

// The shared expectations of every implementation.
const (
	// Issuer is the exact iss accepted (a Better-Auth-like issuer with a path).
	Issuer = "https://auth.example.test/api/auth"
	// Audience is the aud that must be contained in the token's aud.
	Audience = authtest.DefaultAudience
	// Scope is the realistic scope claim of the benchmark tokens.
	Scope = "openid profile email offline_access read:clients write:invoices"
	// Leeway is the clock skew tolerated for exp, nbf and iat (ours' default).
	Leeway = middleware.DefaultLeeway
	// Lifetime of the benchmark tokens: long enough for a whole -count=6 run.
	Lifetime = 24 * time.Hour
)

// Result is what an accepted token yields, the same for every implementation:
// who, for which organization, with which scopes.
type Result struct {
	Subject        string
	OrganizationID string
	Scopes         scopes.Set
}

// ValidateFunc is one implementation's validation of a compact JWS.
type ValidateFunc func(ctx context.Context, token string) (Result, error)

// Fixture holds one provider's static JWKS document and one realistic token
// per alg. Every implementation is built from the document alone: no network.
type Fixture struct {
	Provider *authtest.Provider
	// JWKS is the document authtest publishes, given as is to every
	// implementation.
	JWKS []byte
	// Tokens holds one token per alg of Algs.
	Tokens map[string]string
	// Keys is a static oauthguard key source over JWKS.
	Keys *keyset.Set
}

// Claims returns the realistic claim set of the benchmark tokens (authtest
// adds iss, aud, iat, jti and organizationId), with extra applied on top
// (a nil value removes a claim).
func Claims(now time.Time, extra map[string]any) map[string]any {
	c := map[string]any{
		"sub":       "user_9f8e7d6c5b4a",
		"client_id": "client_0a1b2c3d4e5f",
		"scope":     Scope,
		"exp":       now.Add(Lifetime).Unix(),
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// NewFixture creates a provider with one fresh key per alg of Algs and mints
// one realistic token per alg.
func NewFixture() (*Fixture, error) {
	p, err := authtest.NewProvider(authtest.Options{Issuer: Issuer, Algs: Algs})
	if err != nil {
		return nil, err
	}
	doc, err := p.JWKS()
	if err != nil {
		return nil, err
	}
	src, _, err := jwks.Parse(doc)
	if err != nil {
		return nil, err
	}
	f := &Fixture{Provider: p, JWKS: doc, Tokens: map[string]string{}, Keys: src}
	for _, alg := range Algs {
		tok, err := p.Mint(authtest.Token{Alg: alg, Claims: Claims(time.Now(), nil)})
		if err != nil {
			return nil, err
		}
		f.Tokens[alg] = tok
	}
	return f, nil
}

// Quiet is a logger that drops everything.
func Quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// OursConfig is the oauthguard configuration with the shared checks over
// keys; cacheBytes is Config.CacheBytes (-1: no cache, 0: default cache).
// organizationId and exp are required by default.
func OursConfig(keys keyset.Source, cacheBytes int64) middleware.Config {
	return middleware.Config{
		Issuers:    []string{Issuer},
		Audiences:  []string{Audience},
		Keys:       keys,
		Algorithms: Algs,
		Leeway:     Leeway,
		CacheBytes: cacheBytes,
	}
}

// Ours returns an oauthguard validator over the fixture's static key source.
func (f *Fixture) Ours(cacheBytes int64) (*middleware.Validator, error) {
	return middleware.New(OursConfig(f.Keys, cacheBytes))
}

// OursFunc adapts v to a ValidateFunc.
func OursFunc(v *middleware.Validator) ValidateFunc {
	return func(ctx context.Context, token string) (Result, error) {
		c, err := v.Validate(ctx, token)
		if err != nil {
			return Result{}, err
		}
		return Result{Subject: c.Subject, OrganizationID: c.OrganizationID, Scopes: c.Scopes}, nil
	}
}

var (
	errNoOrganization = errors.New("organizationId missing, empty or not a string")
	errNoExpiry       = errors.New("exp missing")
	errScopeNotString = errors.New("scope is not a string")
)

// GolangJWT returns golang-jwt/jwt v5 over a keyfunc v3 Keyfunc built from the
// JWKS document, with the parser options that express the shared checks and
// the organization and scope checks on the MapClaims. The parser is built
// once, as a careful caller would.
func (f *Fixture) GolangJWT() (ValidateFunc, error) {
	k, err := keyfunc.NewJWKSetJSON(json.RawMessage(f.JWKS))
	if err != nil {
		return nil, err
	}
	kf := k.Keyfunc
	parser := jwt.NewParser(
		jwt.WithValidMethods(Algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
	)
	return func(_ context.Context, token string) (Result, error) {
		claims := jwt.MapClaims{}
		if _, err := parser.ParseWithClaims(token, claims, kf); err != nil {
			return Result{}, err
		}
		org, _ := claims["organizationId"].(string)
		if org == "" {
			return Result{}, errNoOrganization
		}
		var scope string
		if s, ok := claims["scope"]; ok {
			if scope, ok = s.(string); !ok {
				return Result{}, errScopeNotString
			}
		}
		set, err := scopes.Parse(scope)
		if err != nil {
			return Result{}, err
		}
		sub, _ := claims["sub"].(string)
		return Result{Subject: sub, OrganizationID: org, Scopes: set}, nil
	}, nil
}

// Auth0Claims are the custom claims auth0's validator decodes beside its
// registered claims: exp presence (auth0 v2 accepts a token without exp), the
// organization and the scope set.
type Auth0Claims struct {
	Expiry         *float64 `json:"exp"`
	OrganizationID string   `json:"organizationId"`
	Scope          string   `json:"scope"`
	Scopes         scopes.Set
}

// Validate implements validator.CustomClaims.
func (c *Auth0Claims) Validate(context.Context) error {
	if c.Expiry == nil {
		return errNoExpiry
	}
	if c.OrganizationID == "" {
		return errNoOrganization
	}
	set, err := scopes.Parse(c.Scope)
	if err != nil {
		return err
	}
	c.Scopes = set
	return nil
}

// staticDoc is an http.RoundTripper that answers every request with the
// JWKS document without touching the network.
type staticDoc []byte

func (d staticDoc) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(d)),
		ContentLength: int64(len(d)), Request: r,
	}, nil
}

// Auth0KeyFunc returns auth0's own CachingProvider KeyFunc whose HTTP client is
// served the JWKS document from memory, primed once: in the loop it answers
// from its cache as it does in production.
func Auth0KeyFunc(doc []byte) (func(context.Context) (any, error), error) {
	iss, err := url.Parse(Issuer)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(Issuer + "/jwks")
	if err != nil {
		return nil, err
	}
	cp := auth0jwks.NewCachingProvider(iss, time.Hour,
		auth0jwks.WithCustomJWKSURI(u),
		auth0jwks.WithCustomClient(&http.Client{Transport: staticDoc(doc)}))
	if _, err := cp.KeyFunc(context.Background()); err != nil {
		return nil, err
	}
	return cp.KeyFunc, nil
}

// Auth0Validator returns auth0/go-jwt-middleware v2's validator for tokens
// signed with alg (it takes exactly one), with the shared checks.
func Auth0Validator(keyFunc func(context.Context) (any, error), alg string) (*validator.Validator, error) {
	return validator.New(keyFunc, validator.SignatureAlgorithm(alg), Issuer, []string{Audience},
		validator.WithAllowedClockSkew(Leeway),
		validator.WithCustomClaims(func() validator.CustomClaims { return &Auth0Claims{} }))
}

// Auth0Result converts what ValidateToken returns.
func Auth0Result(v any) (Result, error) {
	vc, ok := v.(*validator.ValidatedClaims)
	if !ok {
		return Result{}, fmt.Errorf("unexpected %T", v)
	}
	c := vc.CustomClaims.(*Auth0Claims)
	return Result{Subject: vc.RegisteredClaims.Subject, OrganizationID: c.OrganizationID, Scopes: c.Scopes}, nil
}

// Auth0 returns auth0's validator for alg as a ValidateFunc.
func (f *Fixture) Auth0(alg string) (ValidateFunc, error) {
	kf, err := Auth0KeyFunc(f.JWKS)
	if err != nil {
		return nil, err
	}
	v, err := Auth0Validator(kf, alg)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, token string) (Result, error) {
		out, err := v.ValidateToken(ctx, token)
		if err != nil {
			return Result{}, err
		}
		return Auth0Result(out)
	}, nil
}

// JWX returns lestrrat-go/jwx v3's jwt.Parse with the key set parsed from the
// JWKS document (the JWK's alg binds the token's alg), validation on, issuer,
// audience, skew and required exp and organizationId, then the organization
// and scope checks. The options are built once.
func (f *Fixture) JWX() (ValidateFunc, error) {
	set, err := jwk.Parse(f.JWKS)
	if err != nil {
		return nil, err
	}
	opts := []jwxjwt.ParseOption{
		jwxjwt.WithKeySet(set),
		jwxjwt.WithValidate(true),
		jwxjwt.WithIssuer(Issuer),
		jwxjwt.WithAudience(Audience),
		jwxjwt.WithAcceptableSkew(Leeway),
		jwxjwt.WithRequiredClaim("exp"),
		jwxjwt.WithRequiredClaim("organizationId"),
	}
	return func(_ context.Context, token string) (Result, error) {
		t, err := jwxjwt.ParseString(token, opts...)
		if err != nil {
			return Result{}, err
		}
		var org, scope string
		if err := t.Get("organizationId", &org); err != nil || org == "" {
			return Result{}, errNoOrganization
		}
		if t.Has("scope") {
			if err := t.Get("scope", &scope); err != nil {
				return Result{}, errScopeNotString
			}
		}
		set, err := scopes.Parse(scope)
		if err != nil {
			return Result{}, err
		}
		sub, _ := t.Subject()
		return Result{Subject: sub, OrganizationID: org, Scopes: set}, nil
	}, nil
}

// Floor returns the cost no validator can avoid for token: hash the signing
// input and verify the signature with the standard library, the signature
// already base64-decoded and the key already in hand.
func (f *Fixture) Floor(alg string) (func() bool, error) {
	token := f.Tokens[alg]
	kid := f.Provider.KIDs(alg)
	if len(kid) == 0 {
		return nil, fmt.Errorf("no key for %s", alg)
	}
	pub, err := f.Keys.Key(context.Background(), keyset.Query{KeyID: kid[len(kid)-1], Algorithm: alg})
	if err != nil {
		return nil, err
	}
	return floor(alg, pub, token)
}

func floor(alg string, pub crypto.PublicKey, token string) (func() bool, error) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return nil, errors.New("not a compact JWS")
	}
	input := []byte(token[:i])
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil {
		return nil, err
	}
	switch alg {
	case "RS256":
		k := pub.(*rsa.PublicKey)
		return func() bool {
			h := sha256.Sum256(input)
			return rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig) == nil
		}, nil
	case "ES256":
		// r and s are converted per call, as a validator must per token
		// (and as middleware/bench_test.go's floor does).
		k := pub.(*ecdsa.PublicKey)
		return func() bool {
			h := sha256.Sum256(input)
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			return ecdsa.Verify(k, h[:], r, s)
		}, nil
	case "EdDSA":
		k := pub.(ed25519.PublicKey)
		return func() bool { return ed25519.Verify(k, input, sig) }, nil
	}
	return nil, fmt.Errorf("no floor for %s", alg)
}

package middleware_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/dpop"
	"github.com/clientcasa/oauthguard/introspect"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/go-json-experiment/json"
)

var benchAlgs = []string{"RS256", "ES256", "EdDSA"}

// benchFixture mints one realistic token per alg and builds a validator over
// a static key set (no network in the loop).
type benchFixture struct {
	v      *middleware.Validator // without cache
	cached *middleware.Validator // with the verified-token cache
	keys   *keyset.Set
	tokens map[string]string
}

func newBenchFixture(b *testing.B) *benchFixture {
	b.Helper()
	p, err := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.test/api/auth", Algs: benchAlgs,
		Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	doc, err := p.JWKS()
	if err != nil {
		b.Fatal(err)
	}
	src, _, err := jwks.Parse(doc)
	if err != nil {
		b.Fatal(err)
	}
	cfg := middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()},
		Keys: src, Now: func() time.Time { return now }, CacheBytes: -1}
	v, err := middleware.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	cfg.CacheBytes = 0
	cachedV, err := middleware.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	f := &benchFixture{v: v, cached: cachedV, keys: src, tokens: map[string]string{}}
	for _, alg := range benchAlgs {
		f.tokens[alg], err = p.Mint(authtest.Token{Alg: alg, Claims: map[string]any{
			"sub":       "user_9f8e7d6c5b4a",
			"client_id": "client_0a1b2c3d4e5f",
			"scope":     "openid profile email offline_access read:clients write:invoices",
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
	return f
}

// floor verifies tok's signature with the standard library alone: hash the
// signing input and verify, nothing else. It is the cost no validator can
// avoid.
func floor(b *testing.B, alg string, pub crypto.PublicKey, tok string) func() bool {
	i := strings.LastIndex(tok, ".")
	input := []byte(tok[:i])
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	switch alg {
	case "RS256":
		return func() bool {
			h := sha256.Sum256(input)
			return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, h[:], sig) == nil
		}
	case "ES256":
		return func() bool {
			h := sha256.Sum256(input)
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			return ecdsa.Verify(pub.(*ecdsa.PublicKey), h[:], r, s)
		}
	default:
		return func() bool { return ed25519.Verify(pub.(ed25519.PublicKey), input, sig) }
	}
}

// BenchmarkValidate compares Validate with the signature-verification floor
// on the same token, per alg: the difference is the validator's overhead.
func BenchmarkValidate(b *testing.B) {
	f := newBenchFixture(b)
	ctx := context.Background()
	for _, alg := range benchAlgs {
		tok := f.tokens[alg]
		c, err := f.v.Validate(ctx, tok)
		if err != nil {
			b.Fatal(err)
		}
		pub, err := f.keys.Key(ctx, keyset.Query{KeyID: c.KeyID, Algorithm: alg})
		if err != nil {
			b.Fatal(err)
		}
		verify := floor(b, alg, pub, tok)
		b.Run(alg+"/floor", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !verify() {
					b.Fatal("floor verification failed")
				}
			}
		})
		b.Run(alg+"/validate", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.v.Validate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/cache_hit", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.cached.Validate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/validate_parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := f.v.Validate(ctx, tok); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkReject measures the rejection paths an attacker can drive without
// a valid signature.
func BenchmarkReject(b *testing.B) {
	f := newBenchFixture(b)
	ctx := context.Background()
	good := f.tokens["EdDSA"]
	cases := map[string]string{
		"garbage":         strings.Repeat("x", 100),
		"oversize_8KiB":   strings.Repeat("A", 9<<10),
		"bad_signature":   good[:len(good)-4] + "AAAA",
		"alg_none":        base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + good[strings.Index(good, "."):],
		"unknown_kid_max": base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","kid":"`+strings.Repeat("k", 4000)+`"}`)) + good[strings.Index(good, "."):],
	}
	for name, tok := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.v.Validate(ctx, tok); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}

// BenchmarkAuthenticate is a whole request: header extraction, validation and
// the context, through httptest.
func BenchmarkAuthenticate(b *testing.B) {
	f := newBenchFixture(b)
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	r.Header.Set("Authorization", "Bearer "+f.tokens["EdDSA"])
	b.ReportAllocs()
	for b.Loop() {
		c, err := f.v.Authenticate(r)
		if err != nil {
			b.Fatal(err)
		}
		_ = middleware.NewContext(r.Context(), c)
	}
}

// BenchmarkIntrospection measures what introspection adds: a JWT confirmed
// by a cached answer (RevocationCheck) and an opaque token with a cached
// answer, beside the plain cache hit; and, uncached, an opaque token
// introspected over loopback HTTP on every request (introspect.Client
// against authtest's endpoint).
func BenchmarkIntrospection(b *testing.B) {
	as, err := authtest.Start(authtest.Options{Algs: []string{"EdDSA"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(as.Close)
	ic := as.RegisteredClient()
	client, err := introspect.New(introspect.Config{Endpoint: as.IntrospectionURL(), ClientID: ic.ID, ClientSecret: ic.Secret})
	if err != nil {
		b.Fatal(err)
	}
	build := func(revocation bool, ttl time.Duration) *middleware.Validator {
		v, err := middleware.New(middleware.Config{Issuers: []string{as.Issuer()}, Audiences: []string{as.Audience()},
			Keys: as.KeySet(), Introspector: client, RevocationCheck: revocation, IntrospectionTTL: ttl})
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	scopes := []string{"openid", "profile", "email", "offline_access", "read:clients", "write:invoices"}
	jwtTok, err := as.Mint(authtest.Token{Scopes: scopes})
	if err != nil {
		b.Fatal(err)
	}
	opaque, err := as.MintOpaque(authtest.Token{Scopes: scopes})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		v    *middleware.Validator
		tok  string
	}{
		{"jwt_cache_hit_without_introspection", build(false, 0), jwtTok},
		{"jwt_cache_hit_revocation_check_cached", build(true, time.Hour), jwtTok},
		{"opaque_cached", build(false, time.Hour), opaque},
		{"opaque_uncached_loopback_http", build(false, -1), opaque},
	} {
		b.Run(c.name, func(b *testing.B) {
			if _, err := c.v.Validate(ctx, c.tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.v.Validate(ctx, c.tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDPoP measures a DPoP request (Authenticate with a fresh proof
// each time) beside its floor: the standard library verifying the token's
// signature and the proof's. Without the verified-token cache the
// difference is all the rest (parsing, every check, the thumbprint, the
// replay store); with it the token's signature is skipped and the proof's
// is always verified.
func BenchmarkDPoP(b *testing.B) {
	p, err := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.test", Algs: []string{"EdDSA"}})
	if err != nil {
		b.Fatal(err)
	}
	key, err := authtest.NewDPoPKey("ES256")
	if err != nil {
		b.Fatal(err)
	}
	tok, err := p.Mint(authtest.Token{DPoP: key, Scopes: []string{"read:clients"}})
	if err != nil {
		b.Fatal(err)
	}
	const url = "https://api.example.test/api/v1/me"
	build := func(cacheBytes int64) *middleware.Validator {
		v, err := middleware.New(middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()},
			Keys: p.KeySet(), CacheBytes: cacheBytes, DPoP: middleware.DPoP{Proofs: dpop.Config{Replay: dpop.NewMemoryStore(1<<22, nil)}}})
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	proofs := func(b *testing.B) []*http.Request {
		b.Helper()
		rs := make([]*http.Request, b.N)
		for i := range rs {
			pr, err := key.Proof("GET", url, tok)
			if err != nil {
				b.Fatal(err)
			}
			rs[i] = httptest.NewRequest("GET", url, nil)
			rs[i].Header.Set("Authorization", "DPoP "+tok)
			rs[i].Header.Set("DPoP", pr)
		}
		return rs
	}
	// The floor: the token's EdDSA signature and the proof's ES256 one.
	pub, _ := p.KeySet().Key(context.Background(), keyset.Query{KeyID: p.KIDs("EdDSA")[0], Algorithm: "EdDSA"})
	tokenFloor := floor(b, "EdDSA", pub, tok)
	pr, _ := key.Proof("GET", url, tok)
	proofFloor := floor(b, "ES256", proofKey(b, key), pr)
	b.Run("floor_token_and_proof_signatures", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !tokenFloor() || !proofFloor() {
				b.Fatal("floor verification failed")
			}
		}
	})
	for name, cacheBytes := range map[string]int64{"dpop_request_no_cache": -1, "dpop_request_cache_hit": 0} {
		b.Run(name, func(b *testing.B) {
			v := build(cacheBytes)
			rs := proofs(b)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := v.Authenticate(rs[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// proofKey is the public key of k.
func proofKey(b *testing.B, k *authtest.DPoPKey) crypto.PublicKey {
	b.Helper()
	jwk, _ := json.Marshal(k.JWK())
	set, _, err := jwks.Parse([]byte(`{"keys":[` + string(jwk) + `]}`))
	if err != nil {
		b.Fatal(err)
	}
	return set.Keys()[0].Public
}

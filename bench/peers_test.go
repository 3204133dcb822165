package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/clientcasa/oauthguard/adapters/httpauth"
	"github.com/clientcasa/oauthguard/middleware"
)

// Sub-benchmark names are key=value pairs so that benchstat can put the
// implementations side by side: benchstat -col /impl.

// BenchmarkValidate validates the same token per alg with every
// implementation, beside the signature-verification floor. Each
// implementation must accept the token once before its loop.
func BenchmarkValidate(b *testing.B) {
	f := sharedFixture(b)
	ctx := context.Background()
	for _, alg := range Algs {
		tok := f.Tokens[alg]
		verify, err := f.Floor(alg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("alg="+alg+"/impl=floor", func(b *testing.B) {
			if !verify() {
				b.Fatal("floor verification failed")
			}
			b.ReportAllocs()
			for b.Loop() {
				if !verify() {
					b.Fatal("floor verification failed")
				}
			}
		})
		for _, im := range impls(b, f, alg) {
			b.Run("alg="+alg+"/impl="+im.name, func(b *testing.B) {
				// Asserts success once, and fills the cache of ours_cache_hit.
				if _, err := im.fn(ctx, tok); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := im.fn(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkValidateParallel is BenchmarkValidate for ours (with and without
// cache) and auth0 from GOMAXPROCS goroutines: ns/op is wall time per
// validation with every core busy.
func BenchmarkValidateParallel(b *testing.B) {
	f := sharedFixture(b)
	ctx := context.Background()
	for _, alg := range Algs {
		tok := f.Tokens[alg]
		for _, im := range impls(b, f, alg) {
			switch im.name {
			case "ours", "ours_cache_hit", "auth0":
			default:
				continue
			}
			b.Run("alg="+alg+"/impl="+im.name, func(b *testing.B) {
				if _, err := im.fn(ctx, tok); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := im.fn(ctx, tok); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// requestHandlers returns the full-request stacks compared for tokens of alg.
func requestHandlers(tb testing.TB, f *Fixture, alg string) []struct {
	name string
	h    http.Handler
} {
	tb.Helper()
	guard := func(cacheBytes int64) http.Handler {
		v, err := f.Ours(cacheBytes)
		if err != nil {
			tb.Fatal(err)
		}
		g, err := httpauth.New(httpauth.Options{Validator: v})
		if err != nil {
			tb.Fatal(err)
		}
		return g.Authenticate(OursHandler())
	}
	kf, err := Auth0KeyFunc(f.JWKS)
	if err != nil {
		tb.Fatal(err)
	}
	av, err := Auth0Validator(kf, alg)
	if err != nil {
		tb.Fatal(err)
	}
	return []struct {
		name string
		h    http.Handler
	}{
		{"noauth", NoAuthHandler()},
		{"ours", guard(-1)},
		{"ours_cache_hit", guard(0)},
		{"auth0", jwtmiddleware.New(av.ValidateToken).CheckJWT(Auth0Handler())},
	}
}

// BenchmarkRequest is one whole in-process request per op through
// httptest.NewRecorder (no sockets): our net/http adapter (httpauth) with and
// without the cache, auth0's CheckJWT, and no auth at all as the baseline.
func BenchmarkRequest(b *testing.B) {
	f := sharedFixture(b)
	for _, alg := range Algs {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/clients", nil)
		r.Header.Set("Authorization", "Bearer "+f.Tokens[alg])
		for _, s := range requestHandlers(b, f, alg) {
			b.Run("alg="+alg+"/impl="+s.name, func(b *testing.B) {
				w := httptest.NewRecorder()
				s.h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
				b.ReportAllocs()
				for b.Loop() {
					w := httptest.NewRecorder()
					s.h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		}
	}
}

// TestRequestHandlers checks the full-request stacks: 200 with the token,
// 401 without one.
func TestRequestHandlers(t *testing.T) {
	f := sharedFixture(t)
	for _, alg := range Algs {
		for _, s := range requestHandlers(t, f, alg) {
			r := httptest.NewRequest(http.MethodGet, "/api/v1/clients", nil)
			r.Header.Set("Authorization", "Bearer "+f.Tokens[alg])
			w := httptest.NewRecorder()
			s.h.ServeHTTP(w, r)
			body, _ := io.ReadAll(w.Body)
			if w.Code != http.StatusOK || string(body) != string(OKBody) {
				t.Errorf("%s/%s: %d %s", alg, s.name, w.Code, body)
			}
			if s.name == "noauth" {
				continue
			}
			r.Header.Del("Authorization")
			w = httptest.NewRecorder()
			s.h.ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized && !(s.name == "auth0" && w.Code == http.StatusBadRequest) {
				t.Errorf("%s/%s without token: %d", alg, s.name, w.Code)
			}
		}
	}
}

// reqSink keeps the compiler from eliding the request copy.
var reqSink *http.Request

// BenchmarkRequestParts decomposes what our guard adds to a cache-hit
// request: extracting the bearer token from the header, the cache-hit
// validation, and storing the claims on a copy of the request.
func BenchmarkRequestParts(b *testing.B) {
	f := sharedFixture(b)
	v, err := f.Ours(0)
	if err != nil {
		b.Fatal(err)
	}
	for _, alg := range Algs {
		tok := f.Tokens[alg]
		r := httptest.NewRequest(http.MethodGet, "/api/v1/clients", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		c, err := v.Validate(r.Context(), tok) // fills the cache
		if err != nil {
			b.Fatal(err)
		}
		b.Run("alg="+alg+"/part=bearer_token", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := middleware.BearerToken(r.Header); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("alg="+alg+"/part=validate_cache_hit", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Validate(r.Context(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("alg="+alg+"/part=claims_in_context", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				reqSink = r.WithContext(middleware.NewContext(r.Context(), c))
			}
		})
	}
}

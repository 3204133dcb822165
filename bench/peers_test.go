package bench

import (
	"context"
	"errors"
	"fmt"
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
//
// Every benchmark reports, beside ns/op (wall time), cpu-ns/op: the process's
// CPU time per op from getrusage. Time spent descheduled while other
// processes use the machine does not count in it, and GC work done on another
// core does, so it is both steadier on a shared machine and the fuller cost.

// measure runs body in b.Loop after it has succeeded once, with allocations
// and cpu-ns/op reported.
func measure(b *testing.B, body func() error) {
	b.Helper()
	if err := body(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := ProcessCPU()
	for b.Loop() {
		if err := body(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

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
		floorFn := func() error {
			if !verify() {
				return errors.New("floor verification failed")
			}
			return nil
		}
		b.Run("alg="+alg+"/impl=floor", func(b *testing.B) {
			if err := floorFn(); err != nil {
				b.Fatal(err)
			}
			measure(b, floorFn)
		})
		for _, im := range impls(b, f, alg) {
			b.Run("alg="+alg+"/impl="+im.name, func(b *testing.B) {
				// Asserts success once, and fills the cache of ours_cache_hit.
				if _, err := im.fn(ctx, tok); err != nil {
					b.Fatal(err)
				}
				measure(b, func() error {
					_, err := im.fn(ctx, tok)
					return err
				})
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
				cpu0 := ProcessCPU()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := im.fn(ctx, tok); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(ProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op")
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
				measure(b, func() error {
					w := httptest.NewRecorder()
					s.h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						return fmt.Errorf("status %d", w.Code)
					}
					return nil
				})
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
			measure(b, func() error {
				_, err := middleware.BearerToken(r.Header)
				return err
			})
		})
		b.Run("alg="+alg+"/part=validate_cache_hit", func(b *testing.B) {
			measure(b, func() error {
				_, err := v.Validate(r.Context(), tok)
				return err
			})
		})
		b.Run("alg="+alg+"/part=claims_in_context", func(b *testing.B) {
			measure(b, func() error {
				reqSink = r.WithContext(middleware.NewContext(r.Context(), c))
				return nil
			})
		})
	}
}

package otelguard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/clientcasa/oauthguard/adapters/httpauth"
	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/middleware"
)

// BenchmarkCacheHit is a repeated token through httpauth.Authenticate to a
// handler, without and with metrics (the Observer on an SDK meter with a
// Prometheus reader): the difference is what metrics cost a request.
func BenchmarkCacheHit(b *testing.B) {
	for _, observed := range []bool{false, true} {
		name := "metrics=off"
		if observed {
			name = "metrics=on"
		}
		b.Run(name, func(b *testing.B) {
			f := newFixture(b, 0)
			s := newServer(b, f)
			o := httpauth.Options{Validator: s.v}
			if observed {
				o.Observer = f.m
			}
			g, err := httpauth.New(o)
			if err != nil {
				b.Fatal(err)
			}
			h := g.Authenticate(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			r := httptest.NewRequest("GET", "/me", nil)
			r.Header.Set("Authorization", "Bearer "+s.mint(b, authtest.Token{}))
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
			if w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		})
	}
}

// BenchmarkDecided is the Observer call alone: accepted, and a rejection
// (its reason looked up).
func BenchmarkDecided(b *testing.B) {
	f := newFixture(b, 0)
	ctx := context.Background()
	rejected := middleware.InsufficientScope("read:clients")
	b.Run("accepted", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.m.Decided(ctx, "https://issuer.test", nil)
		}
	})
	b.Run("rejected", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.m.Decided(ctx, "https://issuer.test", rejected)
		}
	})
}

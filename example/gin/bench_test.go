package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/clientcasa/oauthguard/example/internal/demo"
)

// BenchmarkMe is GET /api/v1/me through the example's gin engine with one
// dev-mode token repeated (a token cache hit), in process: the request
// path that bench's floor mode measures under loopback load.
func BenchmarkMe(b *testing.B) {
	env, err := demo.NewEnv(demo.Config{Audience: "https://api.example.test"}, "http://127.0.0.1:8080", slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	h, err := routes(env)
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "http://127.0.0.1:8080/api/v1/me", nil)
	r.Header.Set("Authorization", "Bearer "+env.Samples[0].Token)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body)
		}
	}
}

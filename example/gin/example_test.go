package main

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"

	"github.com/clientcasa/oauthguard/example/internal/demo"
)

// Example serves the dev-mode sample requests in process.
func Example() {
	const base = "http://127.0.0.1:8080"
	env, err := demo.NewEnv(demo.Config{Audience: "https://api.example.test"}, base, slog.New(slog.DiscardHandler))
	if err != nil {
		panic(err)
	}
	defer env.Close()
	h, err := routes(env)
	if err != nil {
		panic(err)
	}
	for _, s := range env.Samples {
		r := httptest.NewRequest(s.Method, s.URL, strings.NewReader(s.Body))
		r.Header.Set("Authorization", "Bearer "+s.Token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(s.Method, strings.TrimPrefix(s.URL, base), w.Code)
	}
	// Output:
	// GET /api/v1/clients 200
	// POST /api/v1/invoices 201
	// GET /api/v1/orgs/org_globex/clients 200
	// GET /api/v1/me 401
}

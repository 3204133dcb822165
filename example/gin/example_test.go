package main

import (
	"os"

	"github.com/clientcasa/oauthguard/example/internal/demo"
)

// Example serves the dev-mode sample requests in process.
func Example() {
	if err := demo.ServeSamples(os.Stdout, "http://127.0.0.1:8080", routes); err != nil {
		panic(err)
	}
	// Output:
	// GET /api/v1/clients 200
	// POST /api/v1/invoices 201
	// GET /api/v1/orgs/org_globex/clients 200
	// GET /api/v1/me 401
	// GET /api/v1/clients 200
	// GET /api/v1/me 401
}

package main

import (
	"testing"

	"github.com/clientcasa/oauthguard/example/internal/demo"
)

// BenchmarkMe is GET /api/v1/me through this example's router with one
// dev-mode token repeated, in process (demo.BenchMe).
func BenchmarkMe(b *testing.B) { demo.BenchMe(b, routes) }

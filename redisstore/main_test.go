package redisstore_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/clientcasa/oauthguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// srv is the package's redis-server, started once (not under -short).
var srv *redistest.Server

func TestMain(m *testing.M) {
	short := false
	for _, a := range os.Args {
		short = short || a == "-test.short=true" || a == "-test.short"
	}
	if !short {
		var err error
		if srv, err = redistest.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if srv != nil {
		srv.Close()
	}
	os.Exit(code)
}

// client returns a new client of s (a replica's), closed after the test.
func client(t testing.TB, s *redistest.Server) *redis.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("needs redis-server; skipped with -short")
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// ownServer starts a redis-server for a test that kills it.
func ownServer(t *testing.T) *redistest.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("needs redis-server; skipped with -short")
	}
	s, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

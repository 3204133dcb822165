package redisstore_test

import (
	"context"
	"log"

	"github.com/clientcasa/oauthguard/keyset"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/redisstore"
	"github.com/clientcasa/oauthguard/revocation"
	"github.com/redis/go-redis/v9"
)

// Every replica builds its Validator on the shared list; a revocation made
// at any of them (here on a user's password change) is in force at all.
// (Not run: it needs a Redis.)
func ExampleNewRevocations() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	shared := redisstore.NewRevocations(rdb, redisstore.RevocationOptions{})
	defer shared.Close()
	var keys keyset.Source // the issuer's keys: a *jwks.Source
	v, err := middleware.New(middleware.Config{
		Issuers:     []string{"https://auth.example.com/api/auth"},
		Audiences:   []string{"https://api.example.com"},
		Keys:        keys,
		Revocations: shared,
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = v
	if _, err := shared.Revoke(context.Background(), revocation.Revocation{Kind: revocation.Subject, Value: "user_123"}); err != nil {
		log.Print(err) // in force here; published at the next resync
	}
}

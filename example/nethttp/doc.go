// Command nethttp is an example API server on net/http guarded by
// oauthguard: OAuth 2.1 JWT access tokens (RFC 9068) presented as bearer
// tokens (RFC 6750), keys from the issuer's JWKS (RFC 7517) found by RFC 8414
// discovery, and RFC 9728 protected resource metadata. example/gin is the
// same server on gin.
//
// Without -issuer it runs in dev mode: it is its own authorization server
// and prints curl commands with sample tokens.
//
//	go run ./example/nethttp
//	go run ./example/nethttp -issuer https://auth.example.com/api/auth -audience https://api.example.com
//
// Flags (each also read from the environment variable in brackets):
// -addr [ADDR], -issuer [ISSUER], -jwks-url [JWKS_URL], -audience [AUDIENCE],
// -leeway [LEEWAY] (clock skew for exp, nbf and iat, 5s to 60s, default 30s).
//
// Routes: GET /healthz, GET /readyz, GET /.well-known/oauth-protected-resource,
// GET /api/v1/me (any valid token), GET /api/v1/clients (read:clients),
// POST /api/v1/invoices (write:invoices), GET /api/v1/orgs/{orgId}/clients
// (read:clients, and orgId must be the token's organizationId).
package main

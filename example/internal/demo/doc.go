// Package demo is everything the two example servers (example/nethttp and
// example/gin) share, so that they differ only in routing: configuration
// from flags and environment, the key source and validator (RFC 9068 JWT
// access tokens, keys from the issuer's JWKS, RFC 7517, found by RFC 8414
// discovery), the RFC 9728 protected resource metadata, dev mode (an
// in-process authorization server minting sample tokens), the framework-free
// business logic over in-memory data, and the server's lifecycle.
//
// Configuration (see Config and ParseConfig): -addr [ADDR], -issuer [ISSUER],
// -jwks-url [JWKS_URL], -audience [AUDIENCE] and -leeway [LEEWAY], the clock
// skew tolerated for exp, nbf and iat (default 30s, accepted from 5s to 60s;
// the end-to-end tests use 5s so that a token expires quickly).
//
// Authentication errors are written by middleware.Renderer (RFC 6750 §3);
// the application's own errors (404, 405, 400, 413) use the same JSON shape,
// {"error": "...", "error_description": "..."}, through [Reply].
package demo

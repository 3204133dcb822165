// Package demo is everything the two example servers (example/nethttp and
// example/gin) share, so that they differ only in routing: configuration
// from flags and environment, the key source and validator (RFC 9068 JWT
// access tokens, keys from the issuer's JWKS, RFC 7517, found by RFC 8414
// discovery), the RFC 9728 protected resource metadata, dev mode (an
// in-process authorization server minting sample tokens), the framework-free
// business logic over in-memory data, and the server's lifecycle.
//
// Authentication errors are written by middleware.Renderer (RFC 6750 §3);
// the application's own errors (404, 405, 400, 413) use the same JSON shape,
// {"error": "...", "error_description": "..."}, through [Reply].
package demo

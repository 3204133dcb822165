// Command gin is the example API server of example/nethttp on gin, with
// identical behaviour: OAuth 2.1 JWT access tokens (RFC 9068) presented as
// bearer tokens (RFC 6750), keys from the issuer's JWKS (RFC 7517) found by
// RFC 8414 discovery, and RFC 9728 protected resource metadata. See
// example/nethttp for the flags and routes.
//
//	go run ./example/gin
package main

// Package authtest is an in-process fake OAuth 2.1 authorization server for
// tests of code guarded by this module, and for development.
//
// A [Provider] mints signed JWT access tokens for any algorithm this module
// accepts (RS256/384/512, PS256/384/512, ES256/384/512, EdDSA, Ed25519) with
// any header and claims, and serves its JWKS (RFC 7517) and its metadata
// (RFC 8414 path-insert and path-append forms, and OpenID Connect Discovery).
// Keys can be added, rotated and removed while it runs, and the JWKS endpoint
// can be made to fail (500, 404, hang, garbage) to exercise outage handling.
// [Start] serves it on a loopback httptest server; [Provider.KeySet] hands
// its public keys to a validator directly, without any HTTP. [Token] has
// fields for what a test usually sets (Subject, Organization, Scopes), and
// [Clock] is a settable clock to test expiry without sleeping.
//
// Keys are generated at start and never leave the process. Never use this
// package to issue tokens in production.
package authtest

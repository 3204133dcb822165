// Package middleware validates OAuth 2.1 JWT access tokens for a resource
// server and authenticates requests, framework-free: the adapters for
// net/http and gin are thin translations of its [Guard].
//
// It imports package keyset for the key contract (keyset.Source, the
// algorithm table, the key errors) and nothing of package jwks: a
// *jwks.Source, a *keyset.Set or your own keyset.Source all plug into
// Config.Keys, and a validator over your own keys compiles no JWKS
// machinery.
//
// A [Validator] accepts exactly the tokens an authorization server issued for
// this API. Its defaults are strict, each with the threat it stops:
//
//   - asymmetric JWS algorithms only (RFC 7518, RFC 8037, RFC 9864): no
//     "none", no HS* signed with a public key (algorithm confusion);
//   - the key comes only from the KeySet, bound to the token's kid and alg;
//     jku, x5u, jwk and x5c headers are never used;
//   - exp required; nbf and iat checked with a small leeway (30 s);
//   - iss exact; aud must contain a configured audience (RFC 9068, RFC 8707);
//   - the organization claim (organizationId) required as a non-empty string,
//     for multi-tenant scoping;
//   - typ absent, JWT or at+jwt (RFC 9068); unknown crit, unencoded payloads
//     (RFC 7797) and JWEs rejected;
//   - a sender-constrained token (cnf) accepted only with what it is bound
//     to: a valid DPoP proof on every request (RFC 9449, package dpop) or
//     the TLS client certificate (RFC 8705); never as a bearer token;
//   - tokens longer than 8 KiB rejected before decoding;
//   - claim names matched exactly; a duplicated member name rejects the token
//     (encoding/json would fold case and keep the last duplicate).
//
// Request authentication follows RFC 6750: [BearerToken] takes exactly one
// "Bearer <token68>" Authorization header. Every rejection is an [*Error]
// carrying the RFC 6750 code, the HTTP status and a safe description; it
// matches its kind (ErrInvalidToken, ...) and its reason (ErrExpired, ...,
// and golang-jwt's sentinels such as jwt.ErrTokenExpired) with errors.Is.
// [Renderer] writes every error response: the WWW-Authenticate challenge with
// the RFC 9728 resource_metadata parameter, and a JSON body.
//
// Valid claims travel in the request context through [NewContext] and
// [FromContext]. [Guard] is the core the adapters share: authenticate,
// authorization [Rule]s (scopes, organization), and one place that turns a
// rejection into a response (a request without claims meets 401 in every
// rule). Every *Error keeps its cause (why the keys are unavailable, which
// verification failed) for logs and errors.Is; the response never shows
// it.
//
// A verified-token cache (on by default, 16 MiB, Config.CacheBytes) lets a
// repeated token skip decoding and signature verification: the clock checks
// and Config.Check still run on every request, an expired token's entry is
// refused (and dropped) by the first hit after exp and is the first to go
// when room is needed, rejected tokens are never cached, and a cached token stops
// validating as soon as its key leaves the key set (or its kid names another
// key).
package middleware

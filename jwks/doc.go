// Package jwks holds an authorization server's token-signing keys: it finds
// the JWKS URL from the issuer's metadata (RFC 8414, then OpenID Connect
// Discovery 1.0), fetches the JSON Web Key Set (RFC 7517), and keeps it fresh.
//
// It is built for the failure modes a resource server meets in production:
//
//   - Fetching uses a dedicated http.Client with a timeout, caps the body at
//     1 MiB, accepts only status 200 and requires https except for loopback.
//   - A token with an unknown kid triggers one shared (single-flight) refresh,
//     at most once per 30 s; a request waits for it at most 1 s, and a miss
//     while the rate limit holds fails at once, so random kids cannot park
//     goroutines or hammer the authorization server.
//   - A failed refresh keeps the last good keys for up to 12 h; a failed first
//     fetch never blocks start-up and is retried with exponential backoff,
//     while lookups return ErrKeysUnavailable (rendered as 503).
//   - An unusable JWK (oct, unknown kty or crv, use other than sig, RSA under
//     2048 bits, malformed) is skipped and reported in Health; it never
//     empties the set.
//   - Keys come only from the JWKS: certificate members and token headers such
//     as jku, x5u, jwk and x5c are never fetched nor trusted.
//
// A [Source] implements keyset.Source, so it plugs into middleware.Config.Keys;
// the key-alg binding and the selection by kid are package keyset's rules,
// applied to each fetched set (a *keyset.Set). [Parse] reads a JWKS document
// into a static *keyset.Set, with the same checks, for tests and
// development. [Source.Keyfunc] adapts the same lookup for code that calls
// golang-jwt's jwt.Parse directly; its errors also match keyfunc.ErrKeyfunc
// (github.com/MicahParks/keyfunc/v3), for code migrating from it.
//
// JWKs are parsed by github.com/MicahParks/jwkset; each key then passes
// keyset's checks (Key.Validate), small-order Ed25519 points included.
package jwks

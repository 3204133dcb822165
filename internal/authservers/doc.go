// Package authservers runs real OAuth 2.1 authorization servers on 127.0.0.1
// for oauthguard's end-to-end tests, and obtains access tokens from them.
//
// It owns two Node.js servers whose code and exact npm dependencies live in
// this directory (package.json, package-lock.json):
//
//   - [OIDCProvider]: oidc-provider 9.13.3 (oidc-provider.mjs). JWT access
//     tokens (RFC 9068, typ "at+jwt") signed with RS256, PS256, ES256, EdDSA
//     or Ed25519; client credentials, authorization code with PKCE (driven
//     headlessly through its development login and consent forms), refresh
//     tokens and DPoP (RFC 9449).
//   - [BetterAuth]: Better Auth 1.7.5 with @better-auth/oauth-provider 1.7.5
//     and its jwt plugin (better-auth.mjs). JWT access tokens signed with
//     EdDSA, RS256 or ES256; client credentials, authorization code with
//     PKCE (email/password sign-in) and refresh tokens.
//
// Both servers use the same client ids, secrets and organisations (see
// [Clients]) and put an organizationId claim into every access token.
// Resource indicators (RFC 8707) choose the token: the configured audience,
// [AlgResource] for a given signing alg with the same audience,
// [TTLResource] for a short lifetime, and [OtherAudience] for a wrong
// audience. POST /__test/rotate (see [Server.Rotate]) makes new tokens be
// signed by freshly generated keys with new key ids, without changing the
// issuer.
//
// [Start] installs the npm dependencies when needed (npm ci, serialised
// across processes with a lock file), starts the server with PORT=0 and waits
// for the single line "READY <issuer>" on its stdout. Start a server once per
// test package (TestMain or sync.Once) and always Stop it.
//
// Everything here is a test fixture: fixed secrets, any login accepted by
// oidc-provider, state in memory. Never use it outside tests.
//
// Relevant specifications: RFC 6749 (OAuth 2.0), RFC 7636 (PKCE), RFC 8414
// (authorization server metadata), RFC 8707 (resource indicators), RFC 9068
// (JWT access tokens), RFC 9449 (DPoP), RFC 7638 (JWK thumbprint).
package authservers

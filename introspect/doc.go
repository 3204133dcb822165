// Package introspect is an OAuth 2.0 token introspection client (RFC 7662)
// for a resource server: a [Client] asks the authorization server's
// introspection endpoint whether a token is active and returns its answer,
// which middleware.Validator then checks as strictly as a JWT (Client
// implements middleware.Introspector). With it, opaque access tokens are
// accepted, and a revoked JWT stops working as soon as the authorization
// server says so (middleware.Config.RevocationCheck).
//
// The endpoint is configured, or taken from the introspection_endpoint of
// the authorization server's metadata (RFC 8414, OpenID Connect Discovery)
// that a *jwks.Source already discovers: one discovery serves both.
//
// Every request is bounded like the JWKS fetch: a dedicated http.Client, a
// timeout (2 s by default: introspection is on the request path), a 64 KiB
// response cap, https except for loopback, status 200 and a JSON content
// type only, and no redirect at all (a redirect would carry the client's
// credentials elsewhere). The client authenticates with client_secret_basic
// (RFC 6749 §2.3.1, id and secret form-encoded before base64) or
// client_secret_post, as configured: providers refuse the method a client
// was not registered with. Each request sends token_type_hint=access_token.
// The secret and the token are never logged nor put in an error.
//
// Caching, single-flight and the failure policy belong to the Validator;
// this package only asks.
package introspect

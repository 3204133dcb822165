// Package httpauth guards net/http handlers with OAuth 2.1 bearer access
// tokens (RFC 6750, RFC 9068): it is the net/http face of package middleware
// and imports nothing but the standard library and this module.
//
// A [Guard] turns a *middleware.Validator into handler wrappers. It is a
// translation of middleware.Guard, the core both adapters share (Options is
// middleware.Options), so the rules live once, in package middleware:
//
//   - [Guard.Authenticate] requires a valid token and puts its claims in the
//     request context (read them with middleware.FromContext);
//   - [Guard.Optional] lets a request without an Authorization header through
//     anonymously, but still rejects any credentials it cannot accept;
//   - [Guard.RequireScopes] (and [Guard.RequireAll], [Guard.RequireAny])
//     demands scopes (RFC 6749 §3.3) of the authenticated token;
//   - [Guard.RequireOrganization] demands that the token act for the
//     organization the request names, for multi-tenant APIs;
//   - [Guard.Require] applies any middleware.Rule.
//
// Compose them outermost first: authenticate, then scopes, then
// organization. Every rejection is written by middleware.Renderer: status,
// the RFC 6750 §3 WWW-Authenticate challenge with the RFC 9728
// resource_metadata parameter, Retry-After on 503 when the signing keys are
// unavailable, and a JSON body {"error", "error_description"}. The gin
// adapter (package ginauth) renders through the same Renderer, so the two
// answer byte for byte alike.
//
// Everything fails closed: a scope or organization guard that finds no claims
// in the context answers 401, as if no token had been sent.
package httpauth

// Package ginauth guards gin routes with OAuth 2.1 bearer access tokens
// (RFC 6750, RFC 9068). It is a thin translation of middleware.Guard, the
// core it shares with package httpauth (Options is middleware.Options), to
// gin.HandlerFunc, and the only package of this module that imports gin.
//
// A [Guard] offers [Guard.Authenticate] and [Guard.Optional], which put the
// token's claims on c.Request's context (read them with [Claims] or
// middleware.FromContext), and [Guard.RequireScopes],
// [Guard.RequireOrganization] and [Guard.Require] for authorization, applied
// in that order.
// Every rejection is written onto c.Writer by the same middleware.Renderer
// the net/http adapter uses, then the chain is aborted: status, the RFC 6750
// §3 WWW-Authenticate challenge with the RFC 9728 resource_metadata
// parameter, Retry-After on 503, and a JSON body
// {"error", "error_description"}, byte for byte as httpauth writes them.
//
// Everything fails closed: a scope or organization guard that finds no claims
// answers 401, as if no token had been sent.
package ginauth

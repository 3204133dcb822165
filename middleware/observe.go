package middleware

import (
	"context"
	"net/http"
)

// Observer is told of every decision a guard makes on a request, for
// metrics: the otelguard package implements it with OpenTelemetry
// instruments. Decided must be fast and safe for concurrent use; it runs
// on the request path.
//
// A decision is made once per request a guard checks: err is nil when the
// request leaves the guard's checks for the handler (its token and every
// rule of the guard in front of the handler passed), else the rejection
// ([Reason] names it). issuer is the accepted token's issuer, or, for a
// rule's refusal, that of the token it refused; it is "" when no token was
// accepted. A request that carries no credentials and is let through
// anonymously ([Guard.Optional], a public gRPC method, a CORS preflight) is
// not a decision.
type Observer interface {
	Decided(ctx context.Context, issuer string, err error)
}

// Accept reports that r, whose claims are in its context, leaves the
// guard's checks for the handler: the Observer counts it accepted. Adapters
// call it once per request, after the last of the guard's checks in front
// of the handler (httpauth sees the chain it wraps; ginauth calls it when
// the route's handlers return unrefused). Without claims in r's context it
// does nothing: the request is anonymous.
func (g *Guard) Accept(r *http.Request) {
	if g.obs == nil {
		return
	}
	if c, ok := FromContext(r.Context()); ok {
		g.obs.Decided(r.Context(), c.Issuer, nil)
	}
}

// observeRejection reports a rejection to the Observer and marks the
// request's claims refused (see [Guard.Refused]).
func (g *Guard) observeRejection(r *http.Request, err error) *Claims {
	c, _ := FromContext(r.Context())
	iss := ""
	if c != nil {
		c.refused = true
		iss = c.Issuer
	}
	if g.obs != nil {
		g.obs.Decided(r.Context(), iss, err)
	}
	return c
}

// Refused reports whether the guard rejected r after accepting its token
// (a rule refused it), for adapters that call Accept after the handlers
// ran.
func (g *Guard) Refused(r *http.Request) bool {
	c, ok := FromContext(r.Context())
	return ok && c.refused
}

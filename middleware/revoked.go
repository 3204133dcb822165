package middleware

import (
	"errors"
	"net/http"
)

// Revocations is a list of revoked tokens, sessions, subjects and clients,
// kept by the resource server itself: what an authorization server's
// promise that a revoked token "stops working immediately" needs when the
// token is a JWT validated without asking it. package revocation keeps one
// in memory, for one replica; package redisstore shares one between
// replicas. Config.Revocations asks it on every validation, cache hits
// included, so it must answer from memory, without a round trip.
type Revocations interface {
	// Revoked reports whether c, a token that passed every other check,
	// is revoked. An error means the list cannot be trusted (it has not
	// been synchronised for too long and the list is set to fail closed):
	// the token then gets 503. Implementations must be safe for concurrent
	// use.
	Revoked(c *Claims) (bool, error)
}

// ErrRevoked is the reason of a 401 invalid_token for a token that
// Config.Revocations says is revoked.
var ErrRevoked = errors.New("token revoked")

// ErrRevocationsUnavailable is the kind of a 503 when Config.Revocations
// could not say whether a token is revoked.
var ErrRevocationsUnavailable = errors.New("revocation list unavailable")

var (
	errRevoked          = invalidToken(ErrRevoked, "the access token has been revoked", nil)
	errRevocationsStale = &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
		Description: "the access token could not be checked against the revocation list", kind: ErrRevocationsUnavailable}
)

// checkRevoked asks Config.Revocations about c.
func (v *Validator) checkRevoked(c *Claims) error {
	revoked, err := v.revoked.Revoked(c)
	switch {
	case err != nil:
		return because(errRevocationsStale, err)
	case revoked:
		return reject(errRevoked)
	}
	return nil
}

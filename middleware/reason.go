package middleware

import (
	"errors"
	"slices"
)

// reasonNames are the short names of the reasons, then of the kinds, in the
// order Reason looks them up.
var reasonNames = []struct {
	err  error
	name string
}{
	{ErrExpired, "expired"}, {ErrNotYetValid, "not_yet_valid"}, {ErrBadSignature, "bad_signature"},
	{ErrUnknownKey, "unknown_key"}, {ErrAlgNotAllowed, "alg_not_allowed"}, {ErrWrongIssuer, "wrong_issuer"},
	{ErrWrongAudience, "wrong_audience"}, {ErrMissingClaim, "missing_claim"},
	{ErrMissingOrganization, "missing_organization"}, {ErrMalformed, "malformed"}, {ErrTooLarge, "too_large"},
	{ErrUnsupportedType, "unsupported_type"}, {ErrTooOld, "too_old"}, {ErrBoundToken, "bound_token"},
	{ErrRejected, "rejected"}, {ErrInactive, "inactive"}, {ErrRevoked, "revoked"}, {ErrNotBound, "not_bound"},
	// Kinds, for errors without a reason.
	{ErrNoCredentials, "no_credentials"}, {ErrInvalidRequest, "invalid_request"}, {ErrInvalidToken, "invalid_token"},
	{ErrInsufficientScope, "insufficient_scope"}, {ErrForbidden, "forbidden"}, {ErrKeysUnavailable, "keys_unavailable"},
	{ErrIntrospectionUnavailable, "introspection_unavailable"}, {ErrRevocationsUnavailable, "revocations_unavailable"},
	{ErrDPoPUnavailable, "dpop_unavailable"}, {ErrInvalidDPoPProof, "invalid_dpop_proof"},
	{ErrUseDPoPNonce, "use_dpop_nonce"},
}

// Reason returns the short name of why err refused a request, from a fixed
// set (Reasons), for metrics labels and logs: the reason's name (expired,
// bad_signature, unknown_key, wrong_audience, inactive, revoked, ...), else
// the kind's (no_credentials, invalid_request, insufficient_scope,
// forbidden, keys_unavailable, ...). A 400 is invalid_request whatever its
// cause. It returns "" for nil and "other" for an error that is not an
// *Error of this package. It never returns anything the client chose.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	e, ok := err.(*Error) // the common case, without errors.As's allocation
	if !ok {
		if e = asError(err); e == nil {
			return "other"
		}
	}
	look := func(target error) string {
		for _, r := range reasonNames {
			if r.err == target {
				return r.name
			}
		}
		return ""
	}
	if e.reason != nil && e.kind != ErrInvalidRequest {
		if n := look(e.reason); n != "" {
			return n
		}
	}
	if n := look(e.kind); n != "" {
		return n
	}
	return "other"
}

// asError is errors.As for *Error, apart so that Reason's common case
// allocates nothing.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Reasons lists every value Reason returns for a non-nil error.
func Reasons() []string {
	out := make([]string, 0, len(reasonNames)+1)
	for _, r := range reasonNames {
		out = append(out, r.name)
	}
	return slices.Clip(append(out, "other"))
}

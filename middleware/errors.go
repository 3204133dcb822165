package middleware

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/clientcasa/oauthguard/keyset"
	"github.com/golang-jwt/jwt/v5"
)

// Error kinds: every *Error matches exactly one of these with errors.Is. They
// decide the HTTP status and the RFC 6750 error code.
var (
	// ErrNoCredentials: no Authorization header, or one with another scheme.
	// 401 with a bare challenge (RFC 6750 §3.1: no error code).
	ErrNoCredentials = errors.New("no bearer credentials")
	// ErrInvalidRequest: malformed Bearer credentials. 400 invalid_request.
	ErrInvalidRequest = errors.New("invalid_request")
	// ErrInvalidToken: the token is not acceptable. 401 invalid_token.
	ErrInvalidToken = errors.New("invalid_token")
	// ErrInsufficientScope: a valid token without a required scope. 403
	// insufficient_scope with the scope attribute.
	ErrInsufficientScope = errors.New("insufficient_scope")
	// ErrForbidden: a valid token for another organization. 403 forbidden.
	ErrForbidden = errors.New("forbidden")
	// ErrKeysUnavailable: no signing keys are held (never fetched, or too
	// stale). 503 with Retry-After. It is keyset.ErrUnavailable, so a custom
	// keyset.Source returns it to get the same treatment.
	ErrKeysUnavailable = keyset.ErrUnavailable
)

// Reasons: an *Error of kind ErrInvalidToken or ErrInvalidRequest also
// matches one of these. Where golang-jwt has a matching sentinel, the reason
// wraps it, so errors.Is(err, jwt.ErrTokenExpired) holds as well.
var (
	ErrExpired             = fmt.Errorf("token expired: %w", jwt.ErrTokenExpired)
	ErrNotYetValid         = fmt.Errorf("token not valid yet: %w", jwt.ErrTokenNotValidYet)
	ErrBadSignature        = fmt.Errorf("signature invalid: %w", jwt.ErrTokenSignatureInvalid)
	ErrUnknownKey          = fmt.Errorf("unknown signing key: %w", jwt.ErrTokenUnverifiable)
	ErrAlgNotAllowed       = fmt.Errorf("algorithm not allowed: %w", jwt.ErrTokenSignatureInvalid)
	ErrWrongIssuer         = fmt.Errorf("issuer not accepted: %w", jwt.ErrTokenInvalidIssuer)
	ErrWrongAudience       = fmt.Errorf("audience not accepted: %w", jwt.ErrTokenInvalidAudience)
	ErrMissingClaim        = fmt.Errorf("required claim missing: %w", jwt.ErrTokenRequiredClaimMissing)
	ErrMissingOrganization = fmt.Errorf("organization claim missing: %w", jwt.ErrTokenRequiredClaimMissing)
	ErrMalformed           = fmt.Errorf("token malformed: %w", jwt.ErrTokenMalformed)
	ErrTooLarge            = fmt.Errorf("token too large: %w", jwt.ErrTokenMalformed)
	ErrUnsupportedType     = fmt.Errorf("token type not accepted: %w", jwt.ErrTokenMalformed)
	ErrTooOld              = fmt.Errorf("token too old (Config.MaxTokenAge): %w", jwt.ErrTokenExpired)
	ErrBoundToken          = errors.New("sender-constrained token presented as a bearer token")
	ErrRejected            = errors.New("rejected by a custom check")
)

// Error is the error every function of this package returns for a request
// that must be refused. Its fields mirror RFC 6750 §3; Description is safe to
// send to clients (it never holds token contents, key material or upstream
// errors). The cause is kept for logs and errors.Is, never rendered.
type Error struct {
	// Status is the HTTP status: 400, 401, 403 or 503.
	Status int
	// Code is the RFC 6750 error code ("invalid_request", "invalid_token",
	// "insufficient_scope"), "" for a request without credentials, or
	// "forbidden" / "temporarily_unavailable" outside RFC 6750.
	Code string
	// Description is a short human-readable explanation for the client.
	Description string
	// Scope is the scope a 403 insufficient_scope needs ("" otherwise).
	Scope string

	kind   error
	reason error
	cause  error
	scheme string // "DPoP": the challenge is a DPoP one (RFC 9449 §7.1)
	nonce  string // a DPoP-Nonce to send
}

func (e *Error) Error() string {
	msg := e.Code
	if msg == "" {
		msg = "unauthorized"
	}
	msg += ": " + e.Description
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

// Unwrap exposes the kind, the reason and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 3)
	for _, err := range []error{e.kind, e.reason, e.cause} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func invalidToken(reason error, desc string, cause error) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "invalid_token", Description: desc,
		kind: ErrInvalidToken, reason: reason, cause: cause}
}

func invalidRequest(desc string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Description: desc,
		kind: ErrInvalidRequest, reason: ErrMalformed}
}

// reject returns a copy of a prebuilt rejection, so callers may not alter the
// shared value.
func reject(e *Error) *Error {
	c := *e
	return &c
}

// because returns a copy of a prebuilt rejection that keeps cause, for logs
// and errors.Is. A cause never holds token contents.
func because(e *Error, cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// Prebuilt rejections for the common reasons; returned through reject.
var errNoCredentials = &Error{Status: http.StatusUnauthorized, Description: "bearer token required",
	kind: ErrNoCredentials}

var (
	errTooLarge         = invalidToken(ErrTooLarge, "the access token is too large", nil)
	errMalformed        = invalidToken(ErrMalformed, "the access token is malformed", nil)
	errBadSignature     = invalidToken(ErrBadSignature, "the access token signature is invalid", nil)
	errAlgNotAllowed    = invalidToken(ErrAlgNotAllowed, "the access token signing algorithm is not accepted", nil)
	errUnknownKey       = invalidToken(ErrUnknownKey, "the access token was signed by an unknown key", nil)
	errKeyAlgMismatch   = invalidToken(ErrAlgNotAllowed, "the access token signing algorithm does not match its key", nil)
	errUnsupportedType  = invalidToken(ErrUnsupportedType, "the access token type is not accepted", nil)
	errCrit             = invalidToken(ErrMalformed, "the access token uses unsupported critical header parameters", nil)
	errExpired          = invalidToken(ErrExpired, "the access token expired", nil)
	errNotYetValid      = invalidToken(ErrNotYetValid, "the access token is not valid yet", nil)
	errIssuedInFuture   = invalidToken(ErrNotYetValid, "the access token was issued in the future", nil)
	errMissingExp       = invalidToken(ErrMissingClaim, "the access token has no expiry", nil)
	errWrongIssuer      = invalidToken(ErrWrongIssuer, "the access token issuer is not accepted", nil)
	errWrongAudience    = invalidToken(ErrWrongAudience, "the access token is not meant for this resource", nil)
	errMissingOrg       = invalidToken(ErrMissingOrganization, "the access token has no organization", nil)
	errBound            = invalidToken(ErrBoundToken, "the access token is sender-constrained and cannot be used as a bearer token", nil)
	errKeysUnavailable  = &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Description: "the token signing keys are not available yet", kind: ErrKeysUnavailable}
	errForbiddenOrg     = &Error{Status: http.StatusForbidden, Code: "forbidden", Description: "the access token is for another organization", kind: ErrForbidden}
	errRejectedByPolicy = invalidToken(ErrRejected, "the access token was rejected", nil)
	// Config.StrictProfile (RFC 9068) and Config.MaxTokenAge.
	errNotAccessToken = invalidToken(ErrUnsupportedType, "the access token is not an RFC 9068 access token (typ at+jwt)", nil)
	errNoIat          = invalidToken(ErrMissingClaim, "the access token has no iat claim", nil)
	errNoJTI          = invalidToken(ErrMissingClaim, "the access token has no jti claim", nil)
	errNoClientID     = invalidToken(ErrMissingClaim, "the access token has no client_id claim", nil)
	errNoSub          = invalidToken(ErrMissingClaim, "the access token has no sub claim", nil)
	errTooOld         = invalidToken(ErrTooOld, "the access token is older than this resource accepts", nil)
)

// Causes of ErrMalformed and ErrBadSignature rejections, kept for logs.
var (
	errShape             = errors.New("not a JWS compact serialization (three base64url segments)")
	errJWE               = errors.New("a JWE, not a JWS")
	errHeaderEncoding    = errors.New("header: invalid base64url")
	errHeaderJSON        = errors.New("header: not a JSON object of unique members")
	errPayloadEncoding   = errors.New("payload: invalid base64url")
	errPayloadJSON       = errors.New("claims: not a JSON object of unique members with registered claims of the right types")
	errSignatureEncoding = errors.New("signature: invalid base64url")
)

// NoCredentials returns the 401 error for a request without bearer
// credentials (a bare challenge), for guards that find no claims.
func NoCredentials() *Error {
	return reject(errNoCredentials)
}

// InsufficientScope returns the 403 error for a token lacking scope, the
// space-delimited list the request needs.
func InsufficientScope(scope string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "insufficient_scope",
		Description: "the access token lacks the required scope", Scope: scope, kind: ErrInsufficientScope}
}

// Forbidden returns a 403 forbidden error with a safe description, for custom
// authorization decisions.
func Forbidden(description string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Description: description, kind: ErrForbidden}
}

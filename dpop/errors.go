package dpop

import "errors"

// The errors of Verify. Each matches exactly one of the first three with
// errors.Is.
var (
	// ErrInvalidProof: the proof fails a rule of RFC 9449 §4.3 (a 401
	// invalid_dpop_proof). The error is a *ProofError naming the rule.
	ErrInvalidProof = errors.New("dpop: invalid proof")
	// ErrUseNonce: nonces are required and the proof has none, or an old
	// or unknown one (a 401 use_dpop_nonce). The error is a *NonceError
	// carrying the nonce to send in DPoP-Nonce.
	ErrUseNonce = errors.New("dpop: a fresh server nonce is required")
	// ErrReplayUnavailable: the replay store could not answer, so the proof
	// cannot be known to be fresh (fail closed: a 503).
	ErrReplayUnavailable = errors.New("dpop: replay store unavailable")
	// ErrReplayed: the proof was used before. It is an invalid proof too:
	// errors.Is matches ErrInvalidProof as well, so that callers that only
	// tell the RFC's errors apart need not know it.
	ErrReplayed = errors.New("dpop: proof replayed")
)

// replayReason is the ProofError reason of a replayed proof.
const replayReason = "the DPoP proof was used before (replay)"

// ProofError says which rule a proof failed. Reason is a fixed, safe text:
// it never holds the proof, a token or key material.
type ProofError struct {
	Reason string
}

func (e *ProofError) Error() string { return "dpop: invalid proof: " + e.Reason }

// Is reports whether target is ErrInvalidProof, or ErrReplayed for a
// replayed proof.
func (e *ProofError) Is(target error) bool {
	return target == ErrInvalidProof || target == ErrReplayed && e.Reason == replayReason
}

func invalid(reason string) error { return &ProofError{Reason: reason} }

// NonceError asks the client to retry with Nonce in its proof.
type NonceError struct {
	Nonce string
}

func (e *NonceError) Error() string { return "dpop: a fresh server nonce is required" }

// Is reports whether target is ErrUseNonce.
func (e *NonceError) Is(target error) bool { return target == ErrUseNonce }

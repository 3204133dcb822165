// Package dpop verifies DPoP proofs (RFC 9449) for a resource server: the
// proof of possession a client sends with a sender-constrained access
// token, in the DPoP request header, on every request. package middleware
// uses it for Authorization: DPoP requests; use it directly to build another
// adapter.
//
// A [Verifier] applies RFC 9449 §4.3 in full: one compact JWS of typ
// dpop+jwt, signed with an asymmetric alg of the allowlist (HS* and none
// never) by the public key in its jwk header (private members refused, the
// key checked as package keyset checks keys, its type suiting the alg); htm
// the request's method; htu the request's URL, query and fragment ignored,
// both sides normalized as RFC 3986 §6.2.2 says (case, percent-encoding, dot
// segments, default ports; user info refused); iat within a window
// (default: at most 60 s old, at most 5 s ahead); jti present and never seen
// before within that window ([ReplayStore]: atomic check-and-set, in memory
// by default, shared by replicas with the Redis store); ath the base64url
// SHA-256 of the access token; the RFC 7638 thumbprint of the jwk equal to
// the token's cnf.jkt; and, when configured, a server nonce ([Nonces]).
//
// Errors say which rule failed with a fixed, safe description and never
// repeat the proof, the token or key material: [ErrInvalidProof] (401
// invalid_dpop_proof), [ErrUseNonce] (401 use_dpop_nonce, with a fresh nonce
// to send in DPoP-Nonce) and [ErrReplayUnavailable] (the replay store could
// not answer: fail closed).
package dpop

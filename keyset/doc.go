// Package keyset is the contract between a token validator and the keys that
// verify tokens, with no dependency beyond the standard library and
// golang-jwt: any key source (package jwks, a static set, your own) plugs
// into package middleware through it, and middleware compiles nothing else.
//
// It owns four things, each written once:
//
//   - [Source], the one-method interface a validator asks for a key, with a
//     [Query] naming the token's issuer, kid and alg, so that a source can
//     bind its keys to one issuer;
//   - the algorithm table: the asymmetric JWS algorithms accepted (RFC 7518
//     RS*, PS*, ES*; RFC 8037 EdDSA; RFC 9864 Ed25519) and their golang-jwt
//     verifiers ([Algorithms], [Method]); HS* and "none" are never in it;
//   - the key-alg binding rule ([Key.Suits]): a key whose JWK names an alg
//     verifies only that alg; otherwise its type decides (RSA: RS* and PS*;
//     P-256: ES256; P-384: ES384; P-521: ES512; Ed25519: EdDSA and Ed25519),
//     so that a token cannot choose a weaker or another family's algorithm;
//   - the key-selection rule ([Set]): by kid, then by alg; a token without
//     kid matches only when exactly one key suits its alg, because with
//     several the choice would be a guess and trying each would multiply
//     the cost of forged tokens;
//
// and the errors a source returns ([ErrKeyNotFound], [ErrAlgMismatch],
// [ErrUnavailable], [ErrUnsupportedAlg]), which middleware turns into 401 or
// 503 responses.
//
// A [Set] is an immutable, static source (go-oidc's StaticKeySet is the
// model); package jwks builds one from each JWKS it fetches. [Keyfunc] adapts
// any Source for code that calls golang-jwt's jwt.Parse itself, with the same
// verdict on the key as the validator.
package keyset

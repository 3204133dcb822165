// Package revocation keeps a list of revoked access tokens, sessions,
// subjects and clients, checked on every request by a middleware.Validator
// (Config.Revocations), cache hits included.
//
// An authorization server may promise that a revoked token "stops working
// immediately", but a JWT is validated without asking it: until its exp,
// only the resource server's own list can refuse it. A [Revocation] names
// what to refuse — one token (jti), a session (sid), a user (sub), a
// client (client_id) or a user's grant to one client (sub and client_id) —
// and until when: at most the longest token lifetime, after which every
// token it refuses has expired anyway. Revocations by session, user or
// client refuse only the tokens issued at or before the revocation, so a
// new sign-in works.
//
// A [Set] holds the list in memory, for one replica. Package redisstore
// shares it between replicas: each keeps a Set as its local copy, so that
// a check is a few map lookups and never a round trip.
package revocation

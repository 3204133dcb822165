// Package redisstore shares, through Redis (or Valkey), the state that
// several replicas of one API must agree on: the DPoP proofs already seen
// ([ReplayStore]), the introspection answers ([Introspector]) and the
// revocation list ([Revocations]). It is built on
// github.com/redis/go-redis/v9: you build the redis.UniversalClient (a
// single node, Sentinel or Cluster; TLS and credentials are its options)
// and pass it in; this package never dials on its own. Only programs that
// import it compile go-redis.
//
// What each store does when Redis fails:
//
//   - ReplayStore: the proof cannot be checked, so DPoP requests get 503
//     (fail closed); Bearer requests are unaffected.
//   - Introspector: calls go straight to the authorization server (more
//     load, the same answers) and Redis is retried a second later.
//   - Revocations: the last known list stays in force; Health reports not
//     ready once it has not been synchronised for StaleAfter, and with
//     FailClosed every token gets 503 from then on. After a reconnection
//     the whole list is read again, and what Redis lost (a restart without
//     persistence) is written back from the replicas' copies.
//
// Nothing on the request path waits for Redis but the DPoP replay check
// (one SET NX PX) and an introspection cache miss; a revocation check is a
// lookup in the local copy.
package redisstore

// Package grpcauth guards gRPC servers with the same validator and rules as
// the HTTP adapters: unary and stream server interceptors that read exactly
// one "authorization" metadata value of the Bearer scheme, validate the
// token, put the claims in the handler's context (middleware.FromContext)
// and check a per-method table of scopes, organization and claim rules. A
// method missing from the table is refused (fail closed); health checks and
// reflection are marked Public.
//
// Refusals are statuses: no or bad credentials Unauthenticated, a missing
// scope, another organization or a claim rule PermissionDenied, keys or
// introspection unavailable Unavailable; the description is the one the
// HTTP renderer sends, and the RFC 6750 challenge travels in the
// www-authenticate trailer. DPoP over gRPC is not supported: DPoP-bound
// tokens are refused, as Validate refuses them.
//
// Only this package (and the programs that import it) compiles
// google.golang.org/grpc; a test holds that boundary.
package grpcauth

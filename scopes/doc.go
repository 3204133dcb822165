// Package scopes parses the OAuth scopes an access token grants and checks them against what a handler
// requires. It imports only the standard library.
//
// # What it owns
//
// A granted scope list is a [Set], built by [Parse] from a space-delimited claim value (the `scope` claim,
// or `scp` when an issuer sends a string) or by [FromList] from a JSON array (`scp` as an array, or
// Auth0-style `permissions`, which the middleware reads only when a caller opts in). The middleware package
// decodes the claim and feeds it through one of those two functions; this package never sees a token.
//
// What a handler demands is a [Requirement]: [All] of a list of scopes, or [Any] of them. Its
// [Requirement.String] is the value of the `scope` attribute that RFC 6750 §3.1 puts in an
// insufficient_scope challenge, precomputed so that writing the challenge costs nothing.
//
// # Grammar
//
// RFC 6749 §3.3 defines the scope value as scope-tokens separated by single spaces, each token
// 1*( %x21 / %x23-5B / %x5D-7E ): printable ASCII without space, '"' and '\'. Parse is lenient only about
// the separator (runs of spaces and leading or trailing spaces are accepted, because issuers produce
// them) and strict about the tokens: a tab, newline, quote, backslash, control byte or any non-ASCII
// byte fails with an error wrapping [ErrInvalidScope]. Such a byte would otherwise reach a
// WWW-Authenticate header or a log line. Errors give the byte offset, never the input.
//
// # Matching
//
// Matching is exact and case-sensitive everywhere: "Read" does not satisfy "read", "read" does not
// satisfy "read:clients", and no scope implies another. Scope hierarchies, wildcards and prefixes are
// the issuer's business, not this package's.
//
// # Cost
//
// Parse allocates one slice for a realistic claim; its members are substrings of the input. Duplicate
// tokens are dropped by linear scan while the set is small and through a map once it grows, so a large
// hostile claim costs linear time, not quadratic.
package scopes

// Package oauthguard is middleware for OAuth 2.1 resource servers in Go: put
// it in front of your API's handlers and it accepts exactly the access
// tokens your authorization server issued for your API (RFC 9068 JWTs,
// verified against the issuer's JWKS), and answers everything else with
// RFC 6750 errors. This package holds no code; it maps the module.
//
// Packages, and which way the imports go (each imports only those below
// it, plus the dependency named):
//
//	adapters/httpauth  net/http wrappers: func(http.Handler) http.Handler
//	adapters/ginauth   gin handlers (the only package that imports gin)
//	    └── middleware     Validator, Claims, typed errors, Renderer, Guard (the
//	        │              adapters' shared core), RFC 9728 metadata; golang-jwt,
//	        │              go-json-experiment, otter
//	        ├── scopes     scope sets and requirements (RFC 6749 §3.3); stdlib only
//	        └── keyset     the key contract: Source, Query, the algorithm table,
//	                       the key-alg rule, key selection, errors; golang-jwt only
//	jwks               a keyset.Source over an issuer's JWKS: discovery (RFC 8414,
//	                   OpenID), fetch, refresh, outages; jwkset, keyfunc/v3
//	authtest           a fake authorization server for your tests: mint tokens,
//	                   serve a JWKS, rotate keys, fail on demand
//
// middleware never imports jwks: a validator over your own key set (or
// authtest's) compiles none of jwks' dependencies, and a test keeps it so.
//
// Start with [github.com/clientcasa/oauthguard/adapters/httpauth] or
// [github.com/clientcasa/oauthguard/adapters/ginauth]; the README has the
// quick starts.
package oauthguard

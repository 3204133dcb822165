// Package otelguard measures the guard with OpenTelemetry: metrics for
// every decision (oauthguard.validations by outcome, reason and issuer),
// the caches, the key sources, introspection, DPoP replays and the Redis
// stores, and client spans for the network work (discovery, JWKS fetch,
// introspection), never one span per validation.
//
// The core packages know nothing of OpenTelemetry: they call small hooks
// (middleware.Observer, the Observe field of jwks.Config and
// introspect.Config, redisstore.Observer), which [Metrics] implements.
// Only a program that imports this package compiles OpenTelemetry.
//
// Every label value is bounded: outcomes and reasons are fixed sets
// (middleware.Reasons), issuers are those of verified tokens only, at most
// Config.MaxIssuers of them (then "other"), sources are the configured key
// sources; never a kid, subject, client id, token or URL chosen by a
// client. Counting a decision allocates nothing: every attribute set is
// built once.
//
// Exported to Prometheus (go.opentelemetry.io/otel/exporters/prometheus),
// oauthguard.validations is oauthguard_validations_total, the durations
// are histograms in seconds (oauthguard_fetch_duration_seconds...).
package otelguard

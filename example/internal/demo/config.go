package demo

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/internal/fetch"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/redis/go-redis/v9"
)

// The range of Config.Leeway that ParseConfig accepts: enough for ordinary
// clock skew, small enough that an expired token is not honoured for long.
const (
	MinLeeway = 5 * time.Second
	MaxLeeway = 60 * time.Second
)

// Config is the servers' configuration. Each flag can also be set by the
// environment variable in brackets; a flag wins over the environment.
type Config struct {
	// Addr is the listen address [ADDR]. Zero: 127.0.0.1:8080.
	Addr string
	// Issuers are the trusted issuers [ISSUER, comma-separated]: each
	// token's iss must be one of them, compared exactly, and only that
	// issuer's keys verify it. Without JWKSURL each issuer's JWKS URL is
	// discovered from its own metadata.
	Issuers []string
	// JWKSURL is the JWKS endpoint [JWKS_URL], skipping discovery; it needs
	// exactly one issuer.
	JWKSURL string
	// Audience is the expected aud and the RFC 9728 resource [AUDIENCE].
	// Required unless in dev mode, where it defaults to
	// https://api.example.test.
	Audience string
	// Leeway is the clock skew tolerated when checking exp, nbf and iat
	// [LEEWAY], a Go duration such as 10s from MinLeeway to MaxLeeway.
	// ParseConfig's default is middleware.DefaultLeeway (30 s); a zero
	// Config.Leeway means that default too.
	Leeway time.Duration

	// IntrospectionClientID [INTROSPECTION_CLIENT_ID], with the secret
	// IntrospectionClientSecret read from the environment variable
	// INTROSPECTION_CLIENT_SECRET only (never a flag, never printed),
	// turns token introspection (RFC 7662) on: opaque tokens are accepted
	// when the authorization server says they are active.
	IntrospectionClientID     string
	IntrospectionClientSecret string
	// IntrospectionURL is the introspection endpoint [INTROSPECTION_URL];
	// zero: the issuer metadata's introspection_endpoint.
	IntrospectionURL string
	// IntrospectionAuth is "basic" (default, client_secret_basic) or
	// "post" (client_secret_post) [INTROSPECTION_AUTH].
	IntrospectionAuth string
	// IntrospectionAllowNoAudience accepts introspection answers without
	// aud [INTROSPECTION_ALLOW_NO_AUDIENCE].
	IntrospectionAllowNoAudience bool
	// RevocationCheck confirms every JWT by introspection [REVOCATION_CHECK]:
	// "off" (default) or a TTL such as 0s or 5s, how long an active answer
	// is reused (0s: ask on every request).
	RevocationCheck bool
	// RevocationTTL is that TTL.
	RevocationTTL time.Duration

	// DPoP is "disabled", "allowed" (default) or "required" [DPOP]: whether
	// DPoP-bound tokens (RFC 9449) are accepted with their proofs, and
	// whether only those are.
	DPoP string
	// ExternalURL is the public base URL proofs' htu must name
	// [EXTERNAL_URL]; zero: the scheme and Host the request arrived with.
	ExternalURL string

	// Redis is a redis:// (or rediss://) URL [REDIS_URL]: the replicas
	// sharing it share the DPoP replay store, the introspection cache and
	// the revocation list (package redisstore). Zero: all three in memory,
	// right for one replica. Its password, if any, is never printed.
	Redis string
	// MetricsAddr is the listen address of a second listener serving
	// /metrics in the Prometheus text format (package otelguard through the
	// OpenTelemetry Prometheus exporter) [METRICS_ADDR]. Zero: no metrics.
	MetricsAddr string
}

// DPoPMode is c.DPoP as a middleware.DPoPMode.
func (c Config) DPoPMode() middleware.DPoPMode {
	switch c.DPoP {
	case "disabled":
		return middleware.DPoPDisabled
	case "required":
		return middleware.DPoPRequired
	}
	return middleware.DPoPAllowed
}

// Dev reports whether the server runs its own authorization server: no
// issuer and no JWKS URL were given.
func (c Config) Dev() bool { return len(c.Issuers) == 0 && c.JWKSURL == "" }

// ParseConfig reads the flags in args over the environment read by getenv.
// Usage and flag errors go to out. It returns flag.ErrHelp for -h.
func ParseConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	return ParseConfigAddr(args, getenv, out, "127.0.0.1:8080")
}

// ParseConfigAddr is ParseConfig with defaultAddr as -addr's default (the
// gRPC example listens on 127.0.0.1:9090).
func ParseConfigAddr(args []string, getenv func(string) string, out io.Writer, defaultAddr string) (Config, error) {
	var c Config
	fs := flag.NewFlagSet(filepath.Base(os.Args[0]), flag.ContinueOnError)
	fs.SetOutput(out)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", env("ADDR", defaultAddr), "listen `address` [ADDR]")
	issuers := fs.String("issuer", env("ISSUER", ""), "trusted token `issuer`s, comma-separated; each one's metadata gives its JWKS URL unless -jwks-url is set, and only its keys verify its tokens [ISSUER]\n(no -issuer and no -jwks-url: dev mode, with its own signing key and sample tokens)")
	fs.StringVar(&c.JWKSURL, "jwks-url", env("JWKS_URL", ""), "JWKS endpoint, skipping discovery; needs exactly one -issuer [JWKS_URL]")
	fs.StringVar(&c.Audience, "audience", env("AUDIENCE", ""), "expected token audience and RFC 9728 resource; required outside dev mode [AUDIENCE]")
	leeway := fs.String("leeway", env("LEEWAY", middleware.DefaultLeeway.String()),
		"clock skew `duration` tolerated for exp, nbf and iat, 5s to 60s [LEEWAY]")
	fs.StringVar(&c.IntrospectionClientID, "introspection-client-id", env("INTROSPECTION_CLIENT_ID", ""),
		"client `id` for token introspection (RFC 7662): opaque tokens are accepted when active; the secret is read from INTROSPECTION_CLIENT_SECRET [INTROSPECTION_CLIENT_ID]")
	fs.StringVar(&c.IntrospectionURL, "introspection-url", env("INTROSPECTION_URL", ""),
		"introspection endpoint; default: the issuer metadata's introspection_endpoint [INTROSPECTION_URL]")
	fs.StringVar(&c.IntrospectionAuth, "introspection-auth", env("INTROSPECTION_AUTH", "basic"),
		"client authentication for introspection: basic (client_secret_basic) or post (client_secret_post) [INTROSPECTION_AUTH]")
	if v := getenv("INTROSPECTION_ALLOW_NO_AUDIENCE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("INTROSPECTION_ALLOW_NO_AUDIENCE %q is not true or false", v)
		}
		c.IntrospectionAllowNoAudience = b
	}
	fs.BoolVar(&c.IntrospectionAllowNoAudience, "introspection-allow-no-audience", c.IntrospectionAllowNoAudience,
		"accept introspected tokens without aud, which are not bound to this API (Better Auth without resource) [INTROSPECTION_ALLOW_NO_AUDIENCE]")
	fs.StringVar(&c.DPoP, "dpop", env("DPOP", "allowed"),
		"DPoP-bound tokens (RFC 9449): disabled, allowed (with their proofs, beside bearer tokens) or required [DPOP]")
	fs.StringVar(&c.ExternalURL, "external-url", env("EXTERNAL_URL", ""),
		"the public base `URL` DPoP proofs must name (htu), behind a proxy; default: the scheme and Host of each request [EXTERNAL_URL]")
	fs.StringVar(&c.Redis, "redis", "",
		"a redis:// `URL` shared by the replicas: DPoP replay store, introspection cache and revocation list; default: in memory [REDIS_URL]")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("METRICS_ADDR", ""),
		"listen `address` of a separate listener serving /metrics (Prometheus text format), such as 127.0.0.1:9464; default: off [METRICS_ADDR]")
	revocation := fs.String("revocation-check", env("REVOCATION_CHECK", "off"),
		"confirm every JWT by introspection: off, or how long an active answer is reused, such as 0s or 5s [REVOCATION_CHECK]")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.Redis == "" { // not a flag default: -h would print its password
		c.Redis = getenv("REDIS_URL")
	}
	if c.Redis != "" {
		if _, err := redis.ParseURL(c.Redis); err != nil {
			return Config{}, errors.New("-redis is not a redis:// or rediss:// URL (redis://[user:password@]host:port[/db])")
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return Config{}, fmt.Errorf("-metrics-addr %q is not a host:port address such as 127.0.0.1:9464", c.MetricsAddr)
		}
	}
	if *issuers != "" {
		for iss := range strings.SplitSeq(*issuers, ",") {
			iss = strings.TrimSpace(iss)
			switch {
			case iss == "":
				return Config{}, fmt.Errorf("-issuer %q has an empty issuer", *issuers)
			case slices.Contains(c.Issuers, iss):
				return Config{}, fmt.Errorf("-issuer lists %q twice", iss)
			}
			c.Issuers = append(c.Issuers, iss)
		}
	}
	d, err := time.ParseDuration(*leeway)
	switch {
	case err != nil:
		return Config{}, fmt.Errorf("-leeway %q is not a duration such as 10s", *leeway)
	case d < MinLeeway || d > MaxLeeway:
		return Config{}, fmt.Errorf("-leeway %s is outside 5s to 60s", d)
	}
	c.Leeway = d
	if *revocation != "off" {
		c.RevocationCheck = true
		if c.RevocationTTL, err = time.ParseDuration(*revocation); err != nil || c.RevocationTTL < 0 {
			return Config{}, fmt.Errorf("-revocation-check %q is neither off nor a duration such as 0s or 5s", *revocation)
		}
	}
	if c.IntrospectionClientID != "" {
		c.IntrospectionClientSecret = getenv("INTROSPECTION_CLIENT_SECRET")
		if c.IntrospectionClientSecret == "" {
			return Config{}, errors.New("-introspection-client-id needs the secret in the environment variable INTROSPECTION_CLIENT_SECRET")
		}
	}
	switch c.DPoP {
	case "disabled", "allowed", "required":
	default:
		return Config{}, fmt.Errorf("-dpop %q is none of disabled, allowed, required", c.DPoP)
	}
	if c.ExternalURL != "" {
		if err := checkURL("external-url", c.ExternalURL, false); err != nil {
			return Config{}, err
		}
	}
	switch {
	case c.IntrospectionAuth != "basic" && c.IntrospectionAuth != "post":
		return Config{}, fmt.Errorf("-introspection-auth %q is neither basic nor post", c.IntrospectionAuth)
	case c.IntrospectionClientID == "" && !c.Dev() && (c.IntrospectionURL != "" || c.RevocationCheck || c.IntrospectionAllowNoAudience):
		return Config{}, errors.New("-introspection-url, -revocation-check and -introspection-allow-no-audience need -introspection-client-id")
	case c.IntrospectionURL != "":
		if err := checkURL("introspection-url", c.IntrospectionURL, true); err != nil {
			return Config{}, err
		}
	}
	if c.Dev() && c.Audience == "" {
		c.Audience = authtest.DefaultAudience
	}
	switch {
	case c.JWKSURL != "" && len(c.Issuers) == 0:
		return Config{}, errors.New("-jwks-url needs -issuer: the token issuer must be checked")
	case c.JWKSURL != "" && len(c.Issuers) > 1:
		return Config{}, fmt.Errorf("-jwks-url allows one -issuer, not %d: one JWKS must not verify several issuers' tokens; without -jwks-url each issuer's keys are discovered from its own metadata", len(c.Issuers))
	case c.IntrospectionURL != "" && len(c.Issuers) > 1:
		return Config{}, fmt.Errorf("-introspection-url allows one -issuer, not %d; without it each issuer's introspection endpoint is discovered from its own metadata", len(c.Issuers))
	case c.Audience == "":
		return Config{}, errors.New("-audience is required with -issuer: the token audience must be checked")
	case strings.ContainsAny(c.Audience, " \t\r\n\""):
		return Config{}, fmt.Errorf("-audience %q must not contain spaces or quotes", c.Audience)
	}
	for _, iss := range c.Issuers {
		if err := checkURL("issuer", iss, false); err != nil {
			return Config{}, err
		}
	}
	if c.JWKSURL != "" {
		if err := checkURL("jwks-url", c.JWKSURL, true); err != nil {
			return Config{}, err
		}
	}
	return c, nil
}

// checkURL demands an absolute https URL, or http for a loopback host, as
// the key source does; an issuer has no query (RFC 8414 §2).
func checkURL(flagName, raw string, query bool) error {
	if err := fetch.CheckURL(raw, false); err != nil {
		return fmt.Errorf("-%s: %w", flagName, err)
	}
	if u, _ := url.Parse(raw); !query && (u.RawQuery != "" || u.ForceQuery) {
		return fmt.Errorf("-%s %q must not have a query", flagName, raw)
	}
	return nil
}

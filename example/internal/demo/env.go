package demo

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/introspect"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/redisstore"
	"github.com/clientcasa/oauthguard/revocation"
	"github.com/redis/go-redis/v9"
)

// Env is what a router is built from.
type Env struct {
	// App is the business logic.
	App *App
	// Validator checks the tokens; Renderer writes every authentication
	// error, its challenges pointing at this server's RFC 9728 metadata.
	Validator *middleware.Validator
	Renderer  middleware.Renderer
	// Metadata serves the RFC 9728 document at
	// middleware.ProtectedResourceMetadataPath.
	Metadata http.Handler
	// Dev, in dev mode only, serves the authorization server's JWKS,
	// metadata, introspection and revocation endpoints at DevRoutes; nil
	// otherwise. DevClient is the client those endpoints accept.
	Dev       http.Handler
	DevClient authtest.Client
	// Samples, in dev mode only, are requests with sample tokens.
	Samples []Sample
	// Issuers are the trusted issuers (in dev mode this server only);
	// Audience is the aud tokens must carry.
	Issuers  []string
	Audience string
	// Log is the server's logger.
	Log *slog.Logger
	// Observer counts the guard's decisions when -metrics-addr is set (give
	// it to the adapter's Options); nil otherwise.
	Observer middleware.Observer

	remote       []*jwks.Source          // each issuer's keys, outside dev mode, in Issuers' order
	static       *keyset.Set             // the keys, in dev mode
	introspector middleware.Introspector // dev mode's
	dpop         bool                    // DPoP-bound tokens are accepted

	// The revocation list: in memory, or shared through Redis (-redis).
	revoke func(context.Context, revocation.Revocation) (revocation.Revocation, error)
	redis  *redis.Client
	shared *redisstore.Revocations

	metrics *metrics // -metrics-addr
}

// DevRoutes are the routes Env.Dev serves: in dev mode the server is its own
// issuer (RFC 8414 metadata, OpenID discovery, the JWKS, RFC 7662
// introspection and RFC 7009 revocation).
var DevRoutes = []string{"GET /jwks", "GET /.well-known/oauth-authorization-server", "GET /.well-known/openid-configuration",
	"POST /token", "POST /introspect", "POST /revoke"}

// Sample is a request a dev-mode token makes, and the status it gets.
type Sample struct {
	Title                    string
	Method, URL, Body, Token string
	Status                   int
}

// Curl is the sample as a command to paste into a shell.
func (s Sample) Curl() string {
	cmd := "curl -i"
	if s.Method != http.MethodGet {
		cmd += " -X " + s.Method
	}
	cmd += " -H 'Authorization: Bearer " + s.Token + "'"
	if s.Body != "" {
		cmd += " -H 'Content-Type: application/json' -d '" + s.Body + "'"
	}
	return cmd + " " + s.URL
}

// NewEnv builds the Env of a server reachable at base (http://host:port).
// Outside dev mode the keys are fetched from the issuer in the background;
// in dev mode an ephemeral authorization server with issuer base signs the
// sample tokens. Close the Env when done.
func NewEnv(cfg Config, base string, log *slog.Logger) (*Env, error) {
	env := &Env{App: &App{}, Log: log, Issuers: cfg.Issuers, Audience: cfg.Audience,
		Renderer: middleware.Renderer{Realm: "api", ResourceMetadata: base + middleware.ProtectedResourceMetadataPath}}
	vc := middleware.Config{Audiences: []string{cfg.Audience}, Leeway: cfg.Leeway, Logger: log,
		DPoP: middleware.DPoP{Mode: cfg.DPoPMode(), ExternalURL: cfg.ExternalURL}}
	var err error
	if cfg.MetricsAddr != "" {
		if env.metrics, err = newMetrics(); err != nil {
			return nil, err
		}
		env.Observer = env.metrics.m
	}
	if cfg.Dev() {
		env.Issuers = []string{base}
		err = env.dev(base, cfg)
		vc.Issuers, vc.Keys, vc.Introspector = env.Issuers, env.static, env.introspector
	} else {
		vc.Trusted, err = env.trusted(cfg)
		if len(vc.Trusted) > 0 {
			// Opaque tokens name no issuer: the first one introspects them.
			vc.Introspector = vc.Trusted[0].Introspector
		}
	}
	if err != nil {
		env.Close()
		return nil, err
	}
	if vc.Introspector != nil {
		vc.IntrospectionAllowNoAudience = cfg.IntrospectionAllowNoAudience
		if cfg.RevocationCheck {
			vc.RevocationCheck = true
			vc.IntrospectionTTL = cfg.RevocationTTL
			if vc.IntrospectionTTL == 0 {
				vc.IntrospectionTTL = -1 // 0s: ask on every request
			}
		}
	}
	if cfg.Redis != "" {
		err = env.useRedis(cfg, &vc)
	} else {
		local := revocation.NewSet(0, nil)
		vc.Revocations = local
		env.revoke = func(_ context.Context, r revocation.Revocation) (revocation.Revocation, error) {
			return local.Revoke(r)
		}
	}
	if err != nil {
		env.Close()
		return nil, err
	}
	env.Validator, err = middleware.New(vc)
	env.dpop = cfg.DPoPMode() != middleware.DPoPDisabled
	if err == nil {
		env.Metadata, err = middleware.ProtectedResource{
			Resource:                      cfg.Audience,
			AuthorizationServers:          env.Issuers,
			ScopesSupported:               []string{ScopeReadClients, ScopeWriteInvoices},
			ResourceName:                  "oauthguard example API",
			DPoPSigningAlgValuesSupported: env.Validator.DPoPAlgorithms(),
			DPoPBoundAccessTokensRequired: env.Validator.DPoPRequired(),
		}.Handler()
	}
	if err == nil && env.metrics != nil {
		err = env.metrics.observe(env)
	}
	if err != nil {
		env.Close()
		return nil, err
	}
	return env, nil
}

// observe is the Observe hook of the key sources and introspection
// clients: otelguard's spans and durations with -metrics-addr, else none.
func (env *Env) observe() func(context.Context, string, string) (context.Context, func(error)) {
	if env.metrics == nil {
		return nil
	}
	return env.metrics.m.Observe
}

// redisObserver is the redisstore.Observer with -metrics-addr, else nil.
func (env *Env) redisObserver() redisstore.Observer {
	if env.metrics == nil {
		return nil
	}
	return env.metrics.m
}

// useRedis shares the three stores of several replicas through cfg.Redis:
// the DPoP replay store, the introspection answers (keyed by a hash whose
// key derives from the introspection client's secret, which every replica
// has) and the revocation list.
func (env *Env) useRedis(cfg Config, vc *middleware.Config) error {
	opt, err := redis.ParseURL(cfg.Redis)
	if err != nil {
		return errors.New("-redis is not a redis:// URL")
	}
	opt.ContextTimeoutEnabled = true // redisstore's timeouts bound every call
	env.redis = redis.NewClient(opt)
	shared := redisstore.Options{Observer: env.redisObserver()}
	vc.DPoP.Proofs.Replay = redisstore.NewReplayStore(env.redis, redisstore.ReplayOptions{Options: shared})
	env.shared = redisstore.NewRevocations(env.redis, redisstore.RevocationOptions{Options: shared, Logger: env.Log})
	vc.Revocations, env.revoke = env.shared, env.shared.Revoke
	secret := cfg.IntrospectionClientSecret
	if cfg.Dev() {
		secret = env.DevClient.Secret
	}
	key := sha256.Sum256([]byte("oauthguard example: introspection cache key\x00" + secret))
	share := func(in middleware.Introspector) (middleware.Introspector, error) {
		if in == nil {
			return nil, nil
		}
		return redisstore.NewIntrospector(env.redis, in, redisstore.IntrospectionOptions{Options: shared, HashKey: key[:], TTL: vc.IntrospectionTTL})
	}
	for i := range vc.Trusted {
		if vc.Trusted[i].Introspector, err = share(vc.Trusted[i].Introspector); err != nil {
			return err
		}
	}
	if len(vc.Trusted) > 0 {
		vc.Introspector = vc.Trusted[0].Introspector
	} else if vc.Introspector, err = share(vc.Introspector); err != nil {
		return err
	}
	return nil
}

// Revoke is POST /api/v1/revocations: the body is a revocation as JSON
// ({"kind": "jti"|"sid"|"sub"|"client_id"|"sub+client_id", "value": ...,
// "client": ..., "iss": ..., "at": ..., "until": ...}), put in force on
// this replica and, with -redis, published to every other. 201 with the
// revocation as recorded; 400 for a bad one; 503 when it could not be
// published (it is in force here: retry).
func (env *Env) Revoke(ctx context.Context, contentType string, body io.Reader) Reply {
	raw, bad := readJSON(contentType, body)
	if bad != nil {
		return *bad
	}
	var r revocation.Revocation
	if err := r.UnmarshalJSON(raw); err != nil {
		return Error(http.StatusBadRequest, "invalid_request", err.Error())
	}
	r, err := env.revoke(ctx, r)
	switch {
	case errors.Is(err, revocation.ErrInvalid):
		return Error(http.StatusBadRequest, "invalid_request", err.Error())
	case errors.Is(err, revocation.ErrFull):
		return Error(http.StatusServiceUnavailable, "temporarily_unavailable", "the revocation list is full")
	case err != nil:
		env.Log.Warn("revocation not published", "error", err.Error())
		return Error(http.StatusServiceUnavailable, "temporarily_unavailable",
			"the revocation is in force on this replica but could not be published to the others: retry")
	}
	return Reply{http.StatusCreated, r}
}

// trusted makes each issuer's key source, by discovery from its metadata
// (or from cfg.JWKSURL for the one issuer), and its introspection client
// when introspection is configured.
func (env *Env) trusted(cfg Config) ([]middleware.Issuer, error) {
	var out []middleware.Issuer
	for _, iss := range cfg.Issuers {
		src, err := jwks.New(jwks.Config{Issuer: iss, JWKSURL: cfg.JWKSURL, Logger: env.Log, Observe: env.observe()})
		if err != nil {
			return nil, err
		}
		env.remote = append(env.remote, src)
		t := middleware.Issuer{Issuer: iss, Keys: src}
		if cfg.IntrospectionClientID != "" {
			method := introspect.ClientSecretBasic
			if cfg.IntrospectionAuth == "post" {
				method = introspect.ClientSecretPost
			}
			c, err := introspect.New(introspect.Config{Endpoint: cfg.IntrospectionURL, Discovery: src,
				ClientID: cfg.IntrospectionClientID, ClientSecret: cfg.IntrospectionClientSecret, AuthMethod: method,
				Observe: env.observe()})
			if err != nil {
				return nil, err
			}
			t.Introspector = c
		}
		out = append(out, t)
	}
	return out, nil
}

// dev sets up dev mode: a fresh authorization server whose keys the
// validator holds from the start and which answers introspection in
// process, and sample tokens valid for an hour, one of them revoked.
func (env *Env) dev(base string, cfg Config) error {
	p, err := authtest.NewProvider(authtest.Options{Issuer: base, Audience: cfg.Audience, Algs: []string{"EdDSA", "RS256"}})
	if err != nil {
		return err
	}
	env.static = p.KeySet()
	env.introspector = p
	env.Dev = p.Handler()
	env.DevClient = p.RegisteredClient()

	past := time.Now().Add(-2 * time.Hour)
	type sample struct {
		Sample
		alg, sub, org, scope string
		expired, opaque      bool
		revoked              bool
	}
	samples := []sample{
		{Sample{Title: "org_acme reader (read:clients): list its clients", Method: "GET",
			URL: base + "/api/v1/clients", Status: 200}, "EdDSA", "user_alice", "org_acme", ScopeReadClients, false, false, false},
		{Sample{Title: "org_acme writer (read:clients write:invoices): create an invoice", Method: "POST",
			URL: base + "/api/v1/invoices", Body: `{"clientId":"cli_acme_1","amount":1234}`, Status: 201},
			"RS256", "user_bob", "org_acme", ScopeReadClients + " " + ScopeWriteInvoices, false, false, false},
		{Sample{Title: "org_globex reader (read:clients): list the clients of org_globex", Method: "GET",
			URL: base + "/api/v1/orgs/org_globex/clients", Status: 200}, "EdDSA", "user_carol", "org_globex", ScopeReadClients, false, false, false},
		{Sample{Title: "expired org_acme token: rejected with 401 invalid_token", Method: "GET",
			URL: base + "/api/v1/me", Status: 401}, "EdDSA", "user_alice", "org_acme", ScopeReadClients, true, false, false},
		{Sample{Title: "opaque org_acme token, checked by introspection (RFC 7662): list its clients", Method: "GET",
			URL: base + "/api/v1/clients", Status: 200}, "", "user_dave", "org_acme", ScopeReadClients, false, true, false},
		{Sample{Title: "revoked opaque token: rejected with 401 invalid_token (no longer active)", Method: "GET",
			URL: base + "/api/v1/me", Status: 401}, "", "user_dave", "org_acme", ScopeReadClients, false, true, true},
	}
	if cfg.RevocationCheck {
		samples = append(samples, sample{Sample{Title: "revoked JWT (-revocation-check): rejected with 401 invalid_token (no longer active)",
			Method: "GET", URL: base + "/api/v1/me", Status: 401}, "EdDSA", "user_alice", "org_acme", ScopeReadClients, false, false, true})
	}
	for _, s := range samples {
		claims := map[string]any{"sub": s.sub, "organizationId": s.org, "scope": s.scope, "client_id": "demo-cli"}
		if s.expired {
			claims["iat"], claims["exp"] = past.Unix(), past.Add(time.Hour).Unix()
		}
		var err error
		if s.opaque {
			s.Token, err = p.MintOpaque(authtest.Token{Claims: claims})
		} else {
			s.Token, err = p.Mint(authtest.Token{Alg: s.alg, Claims: claims})
		}
		if err != nil {
			return err
		}
		if s.revoked {
			p.Revoke(s.Token)
		}
		env.Samples = append(env.Samples, s.Sample)
	}
	return nil
}

// PrintSamples writes the dev-mode samples as curl commands.
func (env *Env) PrintSamples(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nDev mode: this server is its own authorization server (issuer %s, audience %s),\n", env.Issuers[0], env.Audience)
	b.WriteString("with a signing key made at start-up. Sample tokens, valid for 1 h:\n")
	for _, s := range env.Samples {
		fmt.Fprintf(&b, "\n# %s (expect %d)\n%s\n", s.Title, s.Status, s.Curl())
	}
	if env.dpop {
		fmt.Fprintf(&b, "\n# A DPoP-bound token (RFC 9449): this client makes a key, gets a token bound to it and calls with a proof; it prints 200\n"+
			"go run ./example/dpopclient %s/api/v1/clients\n", env.Issuers[0])
	}
	if env.DevClient.ID != "" {
		fmt.Fprintf(&b, "\n# Revoke a token (RFC 7009), then try it again: POST %s/revoke with client credentials\n"+
			"#   -u %s:%s -d token=<token>\n", env.Issuers[0], env.DevClient.ID, env.DevClient.Secret)
	}
	b.WriteString("\n")
	_, _ = io.WriteString(w, b.String())
}

// keyHealth says whether every issuer's signing keys are held, how many
// keys there are in all, and each issuer's state when there are several.
func (env *Env) keyHealth() (ready bool, keys int, each map[string]any) {
	if env.static != nil {
		return true, env.static.Len(), nil
	}
	ready = true
	if len(env.remote) > 1 {
		each = map[string]any{}
	}
	for i, src := range env.remote {
		h := src.Health()
		ready = ready && h.Ready
		keys += h.KeyCount
		if each != nil {
			each[env.Issuers[i]] = map[string]any{"ready": h.Ready, "keys": h.KeyCount}
		}
	}
	return ready, keys, each
}

// Health is GET /healthz: 200 as long as the process serves, with the
// number of signing keys held (and, with several issuers, each one's).
func (env *Env) Health() Reply {
	_, n, each := env.keyHealth()
	body := map[string]any{"status": "ok", "keys": n}
	if each != nil {
		body["issuers"] = each
	}
	if env.shared != nil {
		h := env.shared.Health()
		body["revocations"] = map[string]any{"synced": h.Synced, "ready": h.Ready, "entries": h.Entries}
	}
	return Reply{http.StatusOK, body}
}

// Ready is GET /readyz: 200 once every issuer's signing keys are held, 503
// before. With several issuers the 200 body reports each one, and the 503
// names those still waiting.
func (env *Env) Ready() Reply {
	ready, n, each := env.keyHealth()
	if !ready {
		desc := "the token signing keys are not available yet"
		if each != nil {
			var waiting []string
			for i, src := range env.remote {
				if !src.Health().Ready {
					waiting = append(waiting, env.Issuers[i])
				}
			}
			desc = "the token signing keys of " + strings.Join(waiting, ", ") + " are not available yet"
		}
		return Error(http.StatusServiceUnavailable, "temporarily_unavailable", desc)
	}
	if env.shared != nil && !env.shared.Health().Ready {
		return Error(http.StatusServiceUnavailable, "temporarily_unavailable",
			"the revocation list has not been synchronised with Redis for too long")
	}
	body := map[string]any{"status": "ready", "keys": n}
	if each != nil {
		body["issuers"] = each
	}
	return Reply{http.StatusOK, body}
}

// Close stops refreshing the keys and synchronising the revocation list.
func (env *Env) Close() {
	if env.metrics != nil {
		env.metrics.close()
	}
	if env.shared != nil {
		env.shared.Close()
	}
	if env.redis != nil {
		_ = env.redis.Close()
	}
	for _, src := range env.remote {
		src.Close()
	}
}

// ServeSamples builds a dev-mode Env for base and the router of routes, sends
// each sample request to it in process and writes one line per request:
// method, path and status. The examples' Example functions show it.
func ServeSamples(w io.Writer, base string, routes func(*Env) (http.Handler, error)) error {
	env, err := NewEnv(Config{Audience: "https://api.example.test"}, base, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer env.Close()
	h, err := routes(env)
	if err != nil {
		return err
	}
	for _, s := range env.Samples {
		r := httptest.NewRequest(s.Method, s.URL, strings.NewReader(s.Body))
		r.Header.Set("Authorization", "Bearer "+s.Token)
		if s.Body != "" {
			r.Header.Set("Content-Type", "application/json") // as Curl sends it
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Fprintln(w, s.Method, strings.TrimPrefix(s.URL, base), rec.Code)
	}
	return nil
}

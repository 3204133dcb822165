package middleware

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/clientcasa/oauthguard/keyset"
	"github.com/clientcasa/oauthguard/scopes"
	"github.com/go-json-experiment/json"
	"github.com/golang-jwt/jwt/v5"
	"github.com/maypok86/otter/v2/stats"
	"golang.org/x/sync/singleflight"
)

// Defaults used when the matching Config field is zero.
const (
	DefaultLeeway            = 30 * time.Second
	DefaultMaxTokenBytes     = 8 << 10
	DefaultOrganizationClaim = "organizationId"
	// MaxLeeway is the largest accepted Config.Leeway.
	MaxLeeway = 5 * time.Minute
	// MaxTokenBytesLimit is the largest accepted Config.MaxTokenBytes: a
	// token longer than this would not fit the request headers most
	// servers accept anyway.
	MaxTokenBytesLimit = 64 << 10
)

// Config configures a [Validator]. Issuers, Audiences and Keys are required;
// every other field's zero value is a documented, strict default.
type Config struct {
	// Issuers lists the accepted iss values, compared exactly: one issuer,
	// whose keys Keys holds (for several, see Trusted). Required, unless
	// Trusted is set or Keys is a keyset.IssuerSet that decides them.
	Issuers []string
	// Audiences lists the accepted aud values; a token passes when its aud (a
	// string or an array) contains at least one of them. Required, unless
	// every Trusted issuer has its own.
	Audiences []string
	// Keys supplies the verification keys: a *jwks.Source, a *keyset.Set
	// or any keyset.Source. Required, unless Trusted is set. One key source
	// serves one issuer; for several, use Trusted (each issuer its own
	// keys) or a keyset.IssuerSet such as jwks.Issuers, which binds keys to
	// issuers and, with Issuers empty, decides which issuers it trusts
	// (issuers discovered on first use).
	Keys keyset.Source
	// Trusted lists several authorization servers, each with its own keys
	// and optionally its own audiences, organization claim and
	// introspection client: a token's iss (read before its signature is
	// checked, compared exactly) selects its issuer, and only that issuer's
	// keys can verify it. It replaces Issuers and Keys.
	Trusted []Issuer

	// Algorithms restricts the accepted JWS algorithms. Zero: every asymmetric
	// algorithm (RS256/384/512, PS256/384/512, ES256/384/512, EdDSA, Ed25519).
	// Symmetric (HS*) and "none" are never accepted.
	Algorithms []string
	// Leeway is the clock skew tolerated for exp, nbf and iat, at most
	// MaxLeeway. Zero: DefaultLeeway (30 s). Use a negative value for none.
	Leeway time.Duration
	// MaxTokenBytes caps the token's length, at most MaxTokenBytesLimit
	// (64 KiB); longer tokens are rejected before any decoding. Zero:
	// DefaultMaxTokenBytes (8 KiB).
	MaxTokenBytes int
	// OrganizationClaim names the claim holding the organization id (a
	// non-empty string). Zero: "organizationId". Matched case-sensitively.
	OrganizationClaim string
	// SkipOrganization turns the organization requirement off, for
	// single-tenant APIs. Zero: a token without organization is rejected.
	SkipOrganization bool
	// Permissions also reads an Auth0-style "permissions" array into the
	// token's scopes. Zero: only "scope" and "scp" are read.
	Permissions bool
	// Check, when set, runs after every built-in check on each validation,
	// cache hits included; an error rejects the token (an *Error is returned
	// as is, any other error as 401 invalid_token with a generic
	// description). It may fill in fields of the Claims it is given, such as
	// OrganizationID from a nested claim; the cache never sees those changes.
	Check func(ctx context.Context, c *Claims) error
	// CacheBytes bounds the verified-token cache, which lets a repeated token
	// skip decoding and signature verification while every clock check and
	// Check still run (see the package documentation), and, separately, the
	// introspection answer cache. Zero: DefaultCacheBytes (16 MiB) each.
	// Negative: neither cache.
	CacheBytes int64

	// Introspector, when set, checks tokens with the authorization server
	// (RFC 7662): a credential that is not a JWS (an opaque token) is
	// introspected and accepted when the answer is active and passes a
	// JWT's claim rules (iss, aud, exp, nbf, iat, organization, no cnf,
	// scopes). Zero: no introspection; an opaque token is rejected as
	// malformed. Opaque tokens never pass while introspection is down.
	Introspector Introspector
	// RevocationCheck also confirms, by introspection, every JWT that passed
	// the local checks (cache hits included), so that a revoked JWT stops
	// working within IntrospectionTTL. It needs an Introspector and a
	// provider that introspects JWTs (Better Auth does; oidc-provider
	// answers for opaque tokens only). Zero: JWTs are checked locally only.
	RevocationCheck bool
	// IntrospectionTTL is how long an active answer is reused, never beyond
	// the token's exp. Zero: DefaultIntrospectionTTL (5 s). Negative: ask
	// on every request. An inactive answer is kept until the token's exp
	// (at most MaxInactiveTTL when exp is unknown), so a revoked token stays
	// rejected without asking again.
	IntrospectionTTL time.Duration
	// IntrospectionAllowNoAudience accepts active answers without aud, as
	// Better Auth gives for opaque tokens requested without a resource
	// parameter. Such tokens are not bound to this API: any API that may
	// introspect them accepts them. Zero: an answer without aud is rejected.
	IntrospectionAllowNoAudience bool
	// IntrospectionFailOpen lets a JWT that passed every local check through
	// while introspection is unavailable (RevocationCheck only; logged to
	// Logger and counted in Stats). Opaque tokens never fail open. Zero:
	// such a JWT gets 503, like any token that cannot be checked.
	IntrospectionFailOpen bool
	// Revocations, when set, is asked about every token that passed every
	// other check but Check, on every request (cache hits included): a
	// token it says is revoked gets 401 invalid_token, and an error from it
	// 503. revocation.Set keeps revocations in memory, for one replica; the
	// redisstore package shares them between replicas. Zero: no revocation
	// list (introspection and RevocationCheck still apply).
	Revocations Revocations
	// Logger receives what the validator logs: fail-open decisions, never
	// token contents. Zero: slog.Default().
	Logger *slog.Logger

	// DPoP configures sender-constrained tokens (RFC 9449): by default
	// DPoP-bound tokens are accepted with "Authorization: DPoP" and a valid
	// proof, Bearer tokens as before. Tokens bound to a TLS client
	// certificate (cnf x5t#S256, RFC 8705) are accepted when the request
	// came with that certificate, in every mode.
	DPoP DPoP
	// StrictProfile holds JWTs to the RFC 9068 access token profile: the
	// header typ must be at+jwt (or application/at+jwt), and iat, jti,
	// client_id (not azp) and sub are required, besides the exp, iss and
	// aud always required. A token without them is 401 invalid_token.
	// Zero: typ may also be absent or JWT, and those claims optional, as
	// many providers' tokens are. Introspected opaque tokens are not JWTs
	// and are not held to it.
	StrictProfile bool
	// MaxTokenAge, when positive, refuses tokens issued longer ago than it
	// (iat is then required): for APIs that want tokens re-issued more
	// often than the authorization server's lifetime. Zero: no bound.
	MaxTokenAge time.Duration
	// TokenSources adds the places besides the Authorization header where
	// Authenticate looks for a bearer token: a cookie, the form body, the
	// query. Zero: the header only.
	TokenSources TokenSources
	// Now is the clock. Zero: time.Now.
	Now func() time.Time
}

// Validator checks access tokens. It is safe for concurrent use.
type Validator struct {
	is          issuers
	methods     map[string]jwt.SigningMethod
	leeway      time.Duration
	maxBytes    int
	permissions bool
	check       func(context.Context, *Claims) error
	now         func() time.Time
	cache       *tokenCache
	log         *slog.Logger

	dpop    binding
	sources TokenSources
	strict  bool
	maxAge  time.Duration

	revoked Revocations

	intro      Introspector
	revocation bool
	introTTL   time.Duration
	allowNoAud bool
	failOpen   bool
	introCache *introCache
	// The token cache's hits, misses and evictions; introStats the
	// introspection cache's (otter's striped counters).
	tokenHits, tokenMisses, tokenEvictions atomic.Uint64
	introStats                             *stats.Counter
	introEvictions                         atomic.Uint64
	flights                                singleflight.Group
	failOpens                              atomic.Int64
}

// registered claim names that cannot name the organization claim.
var registered = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "client_id", "azp",
	"scope", "scp", "cnf", "permissions"}

// check reports every mistake in c, before defaults apply.
func (c Config) check() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("middleware: "+format, args...)) }
	c.checkIssuers(add)
	if c.Leeway > MaxLeeway {
		add("Config.Leeway must not exceed %s (a negative value means none)", MaxLeeway)
	}
	if c.MaxTokenBytes < 0 || c.MaxTokenBytes > MaxTokenBytesLimit {
		add("Config.MaxTokenBytes must be from 0 (default) to %d", MaxTokenBytesLimit)
	}
	if slices.Contains(registered, c.OrganizationClaim) {
		add("Config.OrganizationClaim %q is a registered claim", c.OrganizationClaim)
	}
	if c.Algorithms != nil && len(c.Algorithms) == 0 {
		add("Config.Algorithms is empty (nil means every asymmetric algorithm)")
	}
	for _, alg := range c.Algorithms {
		if _, ok := keyset.Method(alg); !ok {
			add("algorithm %q is not an accepted asymmetric JWS algorithm (one of %v)", alg, keyset.Algorithms())
		}
	}
	anyIntro := c.Introspector != nil
	for _, t := range c.Trusted {
		anyIntro = anyIntro || t.Introspector != nil
	}
	if c.RevocationCheck && c.Introspector == nil && anyIntro {
		for i, t := range c.Trusted {
			if t.Introspector == nil {
				add("Config.RevocationCheck: Config.Trusted[%d] has no Introspector and there is no Config.Introspector", i)
			}
		}
	}
	if !anyIntro {
		for _, f := range []struct {
			name string
			set  bool
		}{{"RevocationCheck", c.RevocationCheck}, {"IntrospectionTTL", c.IntrospectionTTL != 0},
			{"IntrospectionAllowNoAudience", c.IntrospectionAllowNoAudience}, {"IntrospectionFailOpen", c.IntrospectionFailOpen}} {
			if f.set {
				add("Config.%s needs an Introspector", f.name)
			}
		}
	} else if c.IntrospectionFailOpen && !c.RevocationCheck {
		add("Config.IntrospectionFailOpen applies to RevocationCheck only (opaque tokens never fail open)")
	}
	if c.MaxTokenAge < 0 {
		add("Config.MaxTokenAge must not be negative (zero means no bound)")
	}
	if name := c.TokenSources.Cookie; name != "" && !validCookieName(name) {
		add("Config.TokenSources.Cookie %q is not a cookie name (an RFC 6265 token)", name)
	}
	return errors.Join(errs...)
}

// New checks cfg and returns a Validator. It never panics; every mistake in
// cfg is reported, joined in one error.
func New(cfg Config) (*Validator, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	v := &Validator{
		is:          newIssuers(cfg, cmp.Or(cfg.OrganizationClaim, DefaultOrganizationClaim)),
		leeway:      cfg.Leeway,
		maxBytes:    cfg.MaxTokenBytes,
		permissions: cfg.Permissions,
		check:       cfg.Check,
		now:         cfg.Now,
		log:         cfg.Logger,
		intro:       cfg.Introspector,
		revoked:     cfg.Revocations,
		revocation:  cfg.RevocationCheck,
		introTTL:    cfg.IntrospectionTTL,
		allowNoAud:  cfg.IntrospectionAllowNoAudience,
		failOpen:    cfg.IntrospectionFailOpen,
		sources:     cfg.TokenSources,
		strict:      cfg.StrictProfile,
		maxAge:      cfg.MaxTokenAge,
		introStats:  stats.NewCounter(),
	}
	if v.log == nil {
		v.log = slog.Default()
	}
	switch {
	case v.introTTL == 0:
		v.introTTL = DefaultIntrospectionTTL
	case v.introTTL < 0:
		v.introTTL = 0
	}
	if v.leeway == 0 {
		v.leeway = DefaultLeeway
	}
	v.leeway = max(v.leeway, 0)
	if v.maxBytes == 0 {
		v.maxBytes = DefaultMaxTokenBytes
	}
	if v.now == nil {
		v.now = time.Now
	}
	if cfg.CacheBytes >= 0 {
		size := cfg.CacheBytes
		if size == 0 {
			size = DefaultCacheBytes
		}
		var err error
		v.cache = newTokenCache(size, v.now, v.leeway, &v.tokenEvictions)
		if v.intro != nil || cfg.RevocationCheck {
			if v.introCache, err = newIntroCache(size, v.now, v.introStats, &v.introEvictions); err != nil {
				return nil, fmt.Errorf("middleware: introspection cache: %w", err)
			}
		}
	}
	var err error
	if v.dpop, err = newBinding(cfg.DPoP, v.now); err != nil {
		return nil, err
	}
	algs := cfg.Algorithms
	if algs == nil {
		algs = keyset.Algorithms()
	}
	v.methods = make(map[string]jwt.SigningMethod, len(algs))
	for _, alg := range algs {
		v.methods[alg], _ = keyset.Method(alg)
	}
	return v, nil
}

// Validate checks raw, a JWS compact serialization (or, with an
// Introspector, an opaque token), and returns its claims. It verifies, in
// order: size, shape, header (alg allowed, typ, no crit, not a JWE), the
// signature with the key the key source binds to kid and alg, then the
// claims: exp present and not passed, nbf and iat not in the future (with
// leeway), iss, aud, the organization claim, valid scopes, then
// Config.Revocations, the introspection revocation check, and finally
// Config.Check. A sender-constrained token (cnf) is
// refused: its binding needs the request, so use Authenticate. Every error
// is an *Error.
func (v *Validator) Validate(ctx context.Context, raw string) (*Claims, error) {
	c, err := v.validate(ctx, raw, false)
	if err != nil {
		return nil, err
	}
	if c.Confirmation != (Confirmation{}) {
		// Without the request, the binding cannot be checked.
		return nil, reject(errBound)
	}
	return c, nil
}

// validate is Validate; fromHeader says raw comes from an Authorization
// header not yet checked against token68 (see Authenticate).
func (v *Validator) validate(ctx context.Context, raw string, fromHeader bool) (*Claims, error) {
	var c *Claims
	var err error
	isJWT := v.intro == nil || isJWS(raw)
	if isJWT {
		c, err = v.verify(ctx, raw, fromHeader)
	} else {
		c, err = v.opaque(ctx, raw, fromHeader)
	}
	if err != nil {
		return nil, err
	}
	if err := v.checkTime(c); err != nil {
		if isJWT && v.cache != nil {
			v.cache.invalidate(raw) // expired or too old: its entry goes too
		}
		return nil, err
	}
	if v.revoked != nil {
		if err := v.checkRevoked(c); err != nil {
			return nil, err
		}
	}
	if isJWT && v.revocation {
		if err := v.confirm(ctx, raw, c); err != nil {
			return nil, err
		}
	}
	if v.check != nil {
		if err := v.check(ctx, c); err != nil {
			var e *Error
			if errors.As(err, &e) {
				return nil, err
			}
			r := reject(errRejectedByPolicy)
			r.cause = err
			return nil, r
		}
	}
	return c, nil
}

// verify does everything that depends only on the token, not on the clock.
func (v *Validator) verify(ctx context.Context, raw string, fromHeader bool) (*Claims, error) {
	if v.cache != nil && len(raw) <= v.maxBytes {
		if e := v.cache.get(raw); e != nil {
			key, err := e.policy.keys.Key(ctx, keyset.Query{Issuer: e.query, KeyID: e.claims.KeyID, Algorithm: e.claims.Algorithm})
			if err == nil && sameKey(key, e.key) {
				v.tokenHits.Add(1)
				return e.claims.clone(), nil
			}
			// The key changed or left the set: verify from scratch.
			v.cache.invalidate(raw)
		}
		v.tokenMisses.Add(1)
	}
	return v.verifyFull(ctx, raw, fromHeader)
}

// verifyFull is verify without the cache: decoding, the signature and the
// claims (its own function, so that a cache hit runs none of its set-up).
func (v *Validator) verifyFull(ctx context.Context, raw string, fromHeader bool) (*Claims, error) {
	// A cached token was checked before; any other one from a header is
	// checked here (checkToken), so two tokens or bad characters are still 400.
	if fromHeader {
		if err := checkToken(raw); err != nil {
			return nil, err
		}
	}
	if len(raw) > v.maxBytes {
		return nil, reject(errTooLarge)
	}
	h1, h2, ok := split(raw)
	if !ok {
		return nil, because(errMalformed, errShape)
	}
	p := parsers.Get().(*parser)
	defer parsers.Put(p)

	var h header
	doc, err := p.decode(raw[:h1])
	if err != nil {
		return nil, because(errMalformed, errHeaderEncoding)
	}
	if p.header(doc, &h) != nil {
		return nil, because(errMalformed, errHeaderJSON)
	}
	method, ok := v.methods[h.alg]
	switch {
	case h.jwe:
		return nil, because(errMalformed, errJWE)
	case !ok:
		return nil, reject(errAlgNotAllowed)
	case h.crit || h.b64False:
		return nil, reject(errCrit)
	case !typeAccepted(h.typ):
		return nil, reject(errUnsupportedType)
	case v.strict && !strings.EqualFold(h.typ, "at+jwt") && !strings.EqualFold(h.typ, "application/at+jwt"):
		return nil, reject(errNotAccessToken)
	}
	// The issuer's policy and keys: the only issuer's, or those of the
	// issuer the token names, read before its signature is checked so that
	// only that issuer's keys are asked (an issuer not trusted costs no key
	// lookup at all).
	pol, query := v.is.single, ""
	if pol == nil {
		doc, err := p.decode(raw[h1+1 : h2])
		if err != nil {
			return nil, because(errMalformed, errPayloadEncoding)
		}
		if query, err = p.issuerOf(doc); err != nil {
			return nil, because(errWrongIssuer, err)
		}
		if pol = v.is.policyFor(query); pol == nil {
			return nil, reject(errWrongIssuer)
		}
	}
	key, err := pol.keys.Key(ctx, keyset.Query{Issuer: query, KeyID: h.kid, Algorithm: h.alg})
	if err != nil {
		switch {
		case errors.Is(err, keyset.ErrUnavailable):
			return nil, because(errKeysUnavailable, err)
		case errors.Is(err, keyset.ErrAlgMismatch), errors.Is(err, keyset.ErrUnsupportedAlg):
			return nil, because(errKeyAlgMismatch, err)
		}
		return nil, because(errUnknownKey, err)
	}
	sig, err := p.decode(raw[h2+1:])
	if err != nil {
		return nil, because(errBadSignature, errSignatureEncoding)
	}
	if err := method.Verify(raw[:h2], sig, key); err != nil {
		return nil, because(errBadSignature, err)
	}

	var pl payload
	doc, err = p.decode(raw[h1+1 : h2])
	if err != nil {
		return nil, because(errMalformed, errPayloadEncoding)
	}
	if p.claims(doc, &pl, claimsOptions{orgClaim: pol.orgClaim, permissions: v.permissions}) != nil {
		return nil, because(errMalformed, errPayloadJSON)
	}
	want := pol.issuer
	if query != "" {
		want = query
	}
	c, err := v.claimsFrom(&pl, &h, p.src, pol, want)
	if err != nil {
		return nil, err
	}
	// Cached only once the clock accepts it too, so that no expired or
	// not-yet-valid token takes space. The entry keeps c (its Scopes and
	// Audience included); this request, like every hit, gets a copy.
	if v.cache != nil && v.checkTime(c) == nil {
		v.cache.set(raw, &cached{claims: *c, key: key, policy: pol, query: query, weight: weigh(raw, c)})
		return c.clone(), nil
	}
	return c, nil
}

// split finds the two dots of a JWS compact serialization and checks that
// every byte is of the base64url alphabet, so that five-part JWEs, JSON
// serializations, whitespace, padding and non-ASCII bytes are all rejected
// before decoding.
func split(raw string) (int, int, bool) {
	h1, h2 := -1, -1
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '.':
			if h1 < 0 {
				h1 = i
			} else if h2 < 0 {
				h2 = i
			} else {
				return 0, 0, false
			}
		default:
			return 0, 0, false
		}
	}
	// Header, payload and signature must all be non-empty.
	if h1 <= 0 || h2 <= h1+1 || h2 == len(raw)-1 {
		return 0, 0, false
	}
	return h1, h2, true
}

// typeAccepted reports whether the header typ is absent, JWT or the RFC 9068
// access-token type, compared case-insensitively.
func typeAccepted(typ string) bool {
	return typ == "" || strings.EqualFold(typ, "JWT") || strings.EqualFold(typ, "at+jwt") ||
		strings.EqualFold(typ, "application/at+jwt")
}

func (v *Validator) claimsFrom(pl *payload, h *header, doc string, pol *issuerPolicy, iss string) (*Claims, error) {
	switch {
	case !pl.hasExp:
		return nil, reject(errMissingExp)
	case pl.iss != iss:
		return nil, reject(errWrongIssuer)
	case !pol.audienceAccepted(pl.aud):
		return nil, reject(errWrongAudience)
	}
	if v.strict {
		switch {
		case !pl.hasIat:
			return nil, reject(errNoIat)
		case pl.jti == "":
			return nil, reject(errNoJTI)
		case pl.clientID == "":
			return nil, reject(errNoClientID)
		case pl.sub == "":
			return nil, reject(errNoSub)
		}
	}
	c, err := v.common(pl, doc, pol)
	if err != nil {
		return nil, err
	}
	c.Algorithm, c.KeyID = h.alg, h.kid
	return c, nil
}

// common applies the rules a JWT and an introspection answer share (exp
// required, organization, no cnf, valid scopes) and builds the Claims.
func (v *Validator) common(pl *payload, doc string, pol *issuerPolicy) (*Claims, error) {
	if !pl.hasExp {
		return nil, reject(errMissingExp)
	}
	if !pol.skipOrg && pl.org == "" {
		return nil, reject(errMissingOrg)
	}
	if pl.cnf && (pl.cnfOther || (pl.cnfJKT == "" && pl.cnfX5T == "")) {
		return nil, reject(errBound) // a binding this package cannot check
	}
	set, err := scopesOf(pl)
	if err != nil {
		return nil, because(errMalformed, err)
	}
	c := &Claims{
		Subject:        pl.sub,
		Issuer:         pl.iss,
		Audience:       pl.aud,
		Expiry:         unixTime(pl.exp),
		ID:             pl.jti,
		SessionID:      pl.sid,
		ClientID:       pl.clientID,
		OrganizationID: pl.org,
		Scopes:         set,
		Confirmation:   Confirmation{JWKThumbprint: pl.cnfJKT, CertificateThumbprint: pl.cnfX5T},
		payload:        doc,
	}
	if c.ClientID == "" {
		c.ClientID = pl.azp
	}
	if pl.hasNbf {
		c.NotBefore = unixTime(pl.nbf)
	}
	if pl.hasIat {
		c.IssuedAt = unixTime(pl.iat)
	}
	return c, nil
}

func (pol *issuerPolicy) audienceAccepted(aud []string) bool {
	for _, a := range aud {
		if slices.Contains(pol.audiences, a) {
			return true
		}
	}
	return false
}

func scopesOf(pl *payload) (scopes.Set, error) {
	set, err := scopes.Parse(pl.scope)
	if err != nil {
		return nil, err
	}
	for _, list := range [][]string{pl.scp, pl.permissions} {
		if len(list) == 0 {
			continue
		}
		// scp may be one space-delimited string or an array of scopes.
		var more scopes.Set
		if len(list) == 1 && strings.Contains(list[0], " ") {
			more, err = scopes.Parse(list[0])
		} else {
			more, err = scopes.FromList(list)
		}
		if err != nil {
			return nil, err
		}
		set = set.Union(more)
	}
	return set, nil
}

func unixTime(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// checkTime applies the clock: exp must not have passed, nbf and iat must not
// be in the future, each with the leeway.
func (v *Validator) checkTime(c *Claims) error {
	// The clock shifted by the leeway each way, not the token's times (two
	// additions in all).
	now := v.now()
	late, early := now.Add(-v.leeway), now.Add(v.leeway)
	switch {
	case !late.Before(c.Expiry):
		return reject(errExpired)
	case !c.NotBefore.IsZero() && early.Before(c.NotBefore):
		return reject(errNotYetValid)
	case !c.IssuedAt.IsZero() && early.Before(c.IssuedAt):
		return reject(errIssuedInFuture)
	case v.maxAge > 0 && c.IssuedAt.IsZero():
		return reject(errNoIat)
	case v.maxAge > 0 && now.Sub(c.IssuedAt) > v.maxAge+v.leeway:
		return reject(errTooOld)
	}
	return nil
}

// Claims is what a valid access token says. Registered claims are typed; the
// remaining claims are available through Decode and Raw. Each validation
// returns its own Claims: a handler may change it, its Scopes and Audience
// included, without affecting any other request.
type Claims struct {
	Subject  string
	Issuer   string
	Audience []string
	// Expiry is exp; IssuedAt and NotBefore are zero when absent.
	Expiry    time.Time
	IssuedAt  time.Time
	NotBefore time.Time
	// ID is jti; SessionID is sid, the authorization server's session the
	// token was issued in (OpenID Connect), "" when absent.
	ID        string
	SessionID string
	// ClientID is client_id, or azp when client_id is absent.
	ClientID string
	// OrganizationID is the organization claim (Config.OrganizationClaim).
	OrganizationID string
	// Scopes is the union of scope, scp and (opt-in) permissions.
	Scopes scopes.Set
	// Algorithm and KeyID are the JOSE header's alg and kid ("" for an
	// opaque token).
	Algorithm string
	KeyID     string
	// Introspected is true when the claims come from the authorization
	// server's introspection answer for an opaque token (Raw is then that
	// answer), false for a JWT.
	Introspected bool
	// Confirmation is the token's cnf: the key or certificate it is bound
	// to (zero for a bearer token). Authenticate checks it on every request.
	Confirmation Confirmation

	payload string
	// home is the room clone left beside these claims for the request
	// context that carries them (nil: none, or a Claims not from clone).
	home *claimsContext
	// refused is set when a guard rejected the request these claims belong
	// to (a rule's refusal), so that an adapter that reports acceptance
	// after the handlers ran (ginauth) does not count it accepted.
	refused bool
}

// Confirmation is what a sender-constrained token is bound to (RFC 7800 cnf).
type Confirmation struct {
	// JWKThumbprint is cnf.jkt: the RFC 7638 thumbprint of the DPoP key
	// (RFC 9449) whose proof must come with every request.
	JWKThumbprint string
	// CertificateThumbprint is cnf["x5t#S256"]: the SHA-256 thumbprint of
	// the TLS client certificate the request must come over (RFC 8705).
	CertificateThumbprint string
}

// Raw returns the claims set as JSON (the decoded JWT payload).
func (c *Claims) Raw() []byte {
	return []byte(c.payload)
}

// Decode unmarshals the whole claims set into v (a pointer to a struct or a
// map), with exact, case-sensitive member names, for custom claims.
func (c *Claims) Decode(v any) error {
	return json.Unmarshal(c.Raw(), v)
}

// Stats is a point-in-time report of a Validator's caches and decisions.
type Stats struct {
	// CacheEntries and CacheBytes are the verified-token cache's entry count
	// and weight, after dropping expired entries.
	CacheEntries int
	CacheBytes   uint64
	// IntrospectionEntries is the introspection answer cache's entry count.
	IntrospectionEntries int
	// IntrospectionFailOpen counts the JWTs let through while introspection
	// was unavailable (Config.IntrospectionFailOpen).
	IntrospectionFailOpen int64
	// Token and Introspection count each cache's lookups since New: hits,
	// misses and entries evicted for room (not those that expired). Zero
	// when the cache is off (Config.CacheBytes < 0) or, for Introspection,
	// when there is no introspection.
	Token, Introspection CacheCounts
}

// CacheCounts are a cache's cumulative lookups and evictions.
type CacheCounts struct {
	Hits, Misses, Evictions uint64
}

func countsOf(c *stats.Counter) CacheCounts {
	s := c.Snapshot()
	return CacheCounts{Hits: s.Hits, Misses: s.Misses}
}

// Stats reports the caches and the fail-open count.
func (v *Validator) Stats() Stats {
	var s Stats
	if v.cache != nil {
		s.CacheEntries, s.CacheBytes = v.cache.size()
	}
	if v.introCache != nil {
		v.introCache.CleanUp()
		s.IntrospectionEntries = v.introCache.EstimatedSize()
	}
	s.IntrospectionFailOpen = v.failOpens.Load()
	s.Token = CacheCounts{Hits: v.tokenHits.Load(), Misses: v.tokenMisses.Load(), Evictions: v.tokenEvictions.Load()}
	s.Introspection = countsOf(v.introStats)
	s.Introspection.Evictions = v.introEvictions.Load()
	return s
}

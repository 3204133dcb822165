package middleware

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/maypok86/otter/v2/stats"
)

// Introspector asks the authorization server about a token (RFC 7662 token
// introspection). *introspect.Client implements it over HTTP; authtest's
// Provider implements it in process.
//
// Introspect returns the JSON object the authorization server answered to
// a successful (200) introspection request for token, as it is: the
// Validator reads and checks it as strictly as a JWT. It returns an error
// when no answer could be had (unreachable, timeout, another status, not
// JSON); the Validator then answers 503. The error must not contain the
// token. Implementations must be safe for concurrent use.
type Introspector interface {
	Introspect(ctx context.Context, token string) ([]byte, error)
}

// Defaults of the introspection settings.
const (
	// DefaultIntrospectionTTL is how long an active answer is reused when
	// Config.IntrospectionTTL is zero.
	DefaultIntrospectionTTL = 5 * time.Second
	// MaxInactiveTTL bounds how long an inactive answer is kept when the
	// token's exp is unknown (an opaque token; a JWT's answer is kept until
	// its exp). A revoked token then stays rejected without asking again.
	MaxInactiveTTL = time.Hour
)

// ErrIntrospectionUnavailable is the kind of a 503 when a token could not be
// checked with the authorization server: its introspection endpoint was
// unreachable, slow, answered another status than 200 or something that is
// not an introspection response.
var ErrIntrospectionUnavailable = errors.New("introspection unavailable")

// ErrInactive is the reason of a 401 for a token the authorization server
// says is not active (revoked, expired, or unknown to it).
var ErrInactive = errors.New("token not active")

var (
	errInactive          = invalidToken(ErrInactive, "the access token is no longer active", nil)
	errIntrospectionDown = &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
		Description: "the access token could not be checked with the authorization server", kind: ErrIntrospectionUnavailable}

	errBadIntrospection = errors.New("introspection response: not a JSON object of unique members with active a boolean and registered claims of the right types")
	errNoIssuer         = errors.New("introspection response: no iss, and several issuers are accepted")
	errTokenType        = errors.New("introspection response: token_type or token_use is not that of an access token")
	errNoTokenType      = errors.New("introspection response: no aud and no token_type, so nothing says it is an access token")
)

// introEntry is a cached introspection answer.
type introEntry struct {
	active  bool
	claims  *Claims // an opaque token's claims, when active and accepted
	refusal *Error  // an opaque token active but refused by the rules
	expires time.Time
	weight  uint32
}

type introCache = otter.Cache[string, *introEntry]

// noTicks is the introspection cache's clock: the validator's clock, without
// the background clean-up goroutine (expired entries are dropped on access
// and eviction).
type noTicks struct{ now func() time.Time }

func (c noTicks) NowNano() int64                      { return c.now().UnixNano() }
func (c noTicks) Tick(time.Duration) <-chan time.Time { return nil }

func newIntroCache(maxBytes int64, now func() time.Time, st *stats.Counter, evictions *atomic.Uint64) (*introCache, error) {
	return otter.New(&otter.Options[string, *introEntry]{
		StatsRecorder: st, // hits and misses; its evictions count expiries too
		OnDeletion: func(e otter.DeletionEvent[string, *introEntry]) {
			if e.Cause == otter.CauseOverflow {
				evictions.Add(1)
			}
		},
		MaximumWeight: uint64(maxBytes),
		Weigher:       func(_ string, e *introEntry) uint32 { return e.weight },
		ExpiryCalculator: otter.ExpiryCreatingFunc(func(e otter.Entry[string, *introEntry]) time.Duration {
			return e.Value.expires.Sub(now())
		}),
		Clock:    noTicks{now: now},
		Executor: func(fn func()) { fn() },
	})
}

// isJWS reports whether raw has the shape of a JWS compact serialization
// (two dots), which is validated as a JWT; anything else is an opaque token.
func isJWS(raw string) bool {
	return strings.Count(raw, ".") == 2
}

// opaque validates a token that is not a JWT, by introspection.
func (v *Validator) opaque(ctx context.Context, raw string, fromHeader bool) (*Claims, error) {
	if fromHeader {
		if err := checkToken(raw); err != nil {
			return nil, err
		}
	}
	if len(raw) > v.maxBytes {
		return nil, reject(errTooLarge)
	}
	e, err := v.introspect(ctx, v.intro, raw, time.Time{}, true)
	switch {
	case err != nil:
		return nil, because(errIntrospectionDown, err)
	case !e.active:
		return nil, reject(errInactive)
	case e.refusal != nil:
		return nil, reject(e.refusal)
	}
	return e.claims.clone(), nil
}

// confirm asks whether a JWT that passed every local check is still active,
// with its issuer's Introspector if it has one.
func (v *Validator) confirm(ctx context.Context, raw string, c *Claims) error {
	intro := v.intro
	if pol := v.is.policyFor(c.Issuer); pol != nil && pol.intro != nil {
		intro = pol.intro
	}
	e, err := v.introspect(ctx, intro, raw, c.Expiry.Add(v.leeway), false)
	switch {
	case err != nil && v.failOpen:
		n := v.failOpens.Add(1)
		v.log.WarnContext(ctx, "middleware: introspection unavailable; a JWT that passed every local check is let through (IntrospectionFailOpen)",
			"issuer", c.Issuer, "client_id", c.ClientID, "fail_open_total", n, "error", err.Error())
		return nil
	case err != nil:
		return because(errIntrospectionDown, err)
	case !e.active:
		return reject(errInactive)
	case e.refusal != nil:
		return reject(e.refusal)
	}
	return nil
}

// introspect returns the answer for raw from the cache, or asks the
// Introspector once for all concurrent callers (single-flight) and caches
// it. exp is the token's expiry when known (a JWT). opaque says whether the
// answer's claims are needed.
func (v *Validator) introspect(ctx context.Context, intro Introspector, raw string, exp time.Time, opaque bool) (*introEntry, error) {
	if v.introCache != nil {
		if e, ok := v.introCache.GetIfPresent(raw); ok {
			return e, nil
		}
	}
	ch := v.flights.DoChan(raw, func() (any, error) {
		// Not the caller's cancellation: the answer serves every waiter.
		body, err := intro.Introspect(context.WithoutCancel(ctx), raw)
		if err != nil {
			return nil, err
		}
		e, err := v.readIntrospection(body, exp, opaque)
		if err != nil {
			return nil, err
		}
		if v.introCache != nil && e.expires.After(v.now()) {
			e.weight = uint32(min(len(raw)+len(body)+entryOverhead, 1<<31))
			v.introCache.Set(raw, e)
		}
		return e, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*introEntry), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readIntrospection reads an introspection response (RFC 7662 §2.2) with the
// JWT parser, so that member names are exact and duplicates fail, and
// applies the JWT's rules to an active opaque token's claims.
func (v *Validator) readIntrospection(body []byte, exp time.Time, opaque bool) (*introEntry, error) {
	p := parsers.Get().(*parser)
	defer parsers.Put(p)
	// The issuer's policy (its organization claim, its audiences): the only
	// issuer's, or that of the issuer the answer names.
	pol := v.is.single
	if pol == nil && opaque {
		iss, err := p.issuerOf(body)
		switch {
		case errors.Is(err, errNoIssuerClaim):
			if len(v.is.names) == 1 {
				pol = v.is.trusted[v.is.names[0]]
			}
		case err != nil:
			return nil, errBadIntrospection
		default:
			pol = v.is.policyFor(iss)
		}
	}
	orgClaim := DefaultOrganizationClaim
	if pol != nil {
		orgClaim = pol.orgClaim
	}
	var pl payload
	if p.claims(body, &pl, claimsOptions{orgClaim: orgClaim, permissions: v.permissions, introspection: true}) != nil || !pl.hasActive {
		return nil, errBadIntrospection
	}
	now := v.now()
	if !pl.active {
		until := now.Add(MaxInactiveTTL)
		if !exp.IsZero() && exp.Before(until) {
			until = exp
		}
		return &introEntry{expires: until}, nil
	}
	e := &introEntry{active: true, expires: now.Add(v.introTTL)}
	if pl.hasExp {
		if end := unixTime(pl.exp).Add(v.leeway); end.Before(e.expires) {
			e.expires = end
		}
	}
	if !exp.IsZero() && exp.Before(e.expires) {
		e.expires = exp
	}
	if tt := pl.tokenType; (pl.hasTokenType && !strings.EqualFold(tt, "Bearer") && !strings.EqualFold(tt, "DPoP")) ||
		(pl.hasTokenUse && pl.tokenUse != "access_token") {
		// A refresh token, say, that a client presents as an access token.
		e.refusal = because(errUnsupportedType, errTokenType)
		return e, nil
	}
	if !opaque {
		return e, nil
	}
	c, err := v.introspectionClaims(&pl, string(body), pol)
	if err != nil {
		var r *Error
		if !errors.As(err, &r) {
			return nil, err
		}
		e.refusal = r
		return e, nil
	}
	c.Introspected = true
	e.claims = c
	return e, nil
}

// introspectionClaims applies a JWT's claim rules to an active answer: iss,
// when present, a trusted issuer (when absent, the only one); aud one of
// that issuer's audiences, or absent with
// Config.IntrospectionAllowNoAudience; then exp, organization and scopes as
// for a JWT. pol is the issuer's policy, nil when the answer names no
// trusted issuer.
func (v *Validator) introspectionClaims(pl *payload, doc string, pol *issuerPolicy) (*Claims, error) {
	switch {
	case !pl.hasExp:
		return nil, reject(errMissingExp)
	case pol == nil && !pl.hasIss:
		return nil, because(errWrongIssuer, errNoIssuer)
	case pol == nil, pl.hasIss && pol.issuer != "" && pl.iss != pol.issuer:
		return nil, reject(errWrongIssuer)
	case len(pl.aud) == 0 && !v.allowNoAud, len(pl.aud) > 0 && !pol.audienceAccepted(pl.aud):
		return nil, reject(errWrongAudience)
	case len(pl.aud) == 0 && !pl.hasTokenType:
		// Without aud, only an answer that says it is about an access token
		// passes: oidc-provider introspects refresh tokens as active,
		// without aud nor token_type, even with token_type_hint=access_token.
		return nil, because(errWrongAudience, errNoTokenType)
	}
	c, err := v.common(pl, doc, pol)
	if err != nil {
		return nil, err
	}
	if c.Issuer == "" {
		c.Issuer = pol.issuer
	}
	return c, nil
}

package jwks

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// Defaults used when the matching Config field is zero.
const (
	DefaultTimeout            = 5 * time.Second
	DefaultMaxBodyBytes       = 1 << 20
	DefaultRefreshInterval    = 15 * time.Minute
	DefaultMinRefreshInterval = time.Minute
	DefaultMaxRefreshInterval = time.Hour
	DefaultUnknownKIDInterval = 30 * time.Second
	DefaultUnknownKIDWait     = time.Second
	DefaultMaxStaleness       = 12 * time.Hour
	DefaultRetryMin           = time.Second
	DefaultRetryMax           = time.Minute
)

// Config configures a [Source]. Exactly one of JWKSURL, Issuer (discovery) and
// Static is required; JWKSURL and Issuer may be given together, in which case
// no discovery happens. Every other field has a documented default.
type Config struct {
	// JWKSURL is the JWKS endpoint, e.g. https://auth.example.com/api/auth/jwks.
	JWKSURL string
	// Issuer is the authorization server's issuer identifier. Without JWKSURL,
	// the JWKS URL is discovered from its metadata: RFC 8414 path-insert form,
	// then the path-append form {issuer}/.well-known/oauth-authorization-server,
	// then {issuer}/.well-known/openid-configuration. The metadata's issuer
	// must equal Issuer exactly.
	Issuer string
	// Static is a JWKS document (JSON) used as is, never refreshed: for tests
	// and development.
	Static []byte

	// HTTPClient makes every request. Zero: a dedicated client with Timeout and
	// no more than 3 redirects, each held to the same https rule.
	HTTPClient *http.Client
	// Timeout bounds each metadata or JWKS request. Zero: DefaultTimeout (5 s).
	Timeout time.Duration
	// MaxBodyBytes caps each response body. Zero: DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
	// AllowInsecureHTTP permits http:// URLs for hosts other than loopback
	// (127.0.0.0/8, ::1, localhost), which are always allowed. Zero: https only.
	AllowInsecureHTTP bool

	// RefreshInterval is the background refresh period when the response has no
	// Cache-Control max-age. Zero: DefaultRefreshInterval (15 min).
	RefreshInterval time.Duration
	// MinRefreshInterval and MaxRefreshInterval bound a Cache-Control max-age
	// taken from the JWKS response. Zero: 1 min and 1 h.
	MinRefreshInterval time.Duration
	MaxRefreshInterval time.Duration
	// UnknownKIDInterval is the least time between two refreshes triggered by
	// a token with an unknown kid. Zero: DefaultUnknownKIDInterval (30 s).
	UnknownKIDInterval time.Duration
	// UnknownKIDWait is the longest a lookup waits for a refresh it triggered
	// or joined. Zero: DefaultUnknownKIDWait (1 s).
	UnknownKIDWait time.Duration
	// MaxStaleness is how long the last good keys are used while refreshes
	// fail; after that lookups return ErrKeysUnavailable. Zero: 12 h.
	MaxStaleness time.Duration
	// RetryMin and RetryMax bound the exponential backoff (with jitter) after
	// a failed fetch. Zero: 1 s and 1 min.
	RetryMin time.Duration
	RetryMax time.Duration

	// Logger receives refresh outcomes and skipped keys, never token contents
	// or key material. Zero: slog.Default().
	Logger *slog.Logger
	// Now is the clock for staleness and rate limits. Zero: time.Now.
	Now func() time.Time
}

// Health is a point-in-time report for health and readiness endpoints.
type Health struct {
	// Ready is true when lookups can succeed: usable keys are held and are not
	// older than MaxStaleness.
	Ready bool
	// KeyCount is the number of usable keys held.
	KeyCount int
	// JWKSURL is the URL in use ("" for a static set or before discovery).
	JWKSURL string
	// LastRefresh is the time of the last successful fetch (zero: never).
	LastRefresh time.Time
	// LastAttempt is the time of the last fetch attempt.
	LastAttempt time.Time
	// NextRefresh is when the background refresh runs next (zero for a
	// static set, or before the first attempt has ended).
	NextRefresh time.Time
	// LastError describes the last attempt's failure, "" when it succeeded.
	LastError string
	// Skipped lists the JWKs of the last good document that could not be used.
	Skipped []SkippedKey
	// Fetches counts the JWKS documents requested since start.
	Fetches int64
}

// Source holds the verification keys of one authorization server and keeps
// them fresh. It is safe for concurrent use; lookups never take a lock while
// a fetch is in progress.
type Source struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client
	keys   atomic.Pointer[loaded]
	jwkset *jwkset.MemoryJWKSet

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	ready  chan struct{}

	mu          sync.Mutex
	flight      *flight       // the refresh in progress, nil when none
	lastTrigger time.Time     // last unknown-kid refresh
	next        time.Duration // refresh interval set by the last good fetch
	jwksURL     string
	health      Health
	readyOnce   sync.Once
	fetches     atomic.Int64
}

type loaded struct {
	set     *keySet
	fetched time.Time
}

type flight struct {
	done chan struct{}
	err  error
}

// New checks cfg and returns a Source. A remote source starts fetching in the
// background at once and never blocks start-up: until the first fetch
// succeeds, lookups return ErrKeysUnavailable, and failed fetches are retried
// with backoff. Call Close to stop it. A Static source is parsed here and
// returns an error when it has no usable key.
func New(cfg Config) (*Source, error) {
	if remote := cfg.JWKSURL != "" || cfg.Issuer != ""; remote == (cfg.Static != nil) {
		return nil, errors.New("jwks: set exactly one of JWKSURL/Issuer and Static")
	}
	cfg = withDefaults(cfg)
	s := &Source{cfg: cfg, log: cfg.Logger, jwkset: jwkset.NewMemoryStorage(),
		done: make(chan struct{}), ready: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.Static != nil {
		close(s.done)
		if err := s.install(cfg.Static); err != nil {
			return nil, err
		}
		close(s.ready)
		return s, nil
	}
	for _, u := range []string{cfg.JWKSURL, cfg.Issuer} {
		if u == "" {
			continue
		}
		if err := checkURL(u, cfg.AllowInsecureHTTP); err != nil {
			return nil, err
		}
	}
	s.jwksURL = cfg.JWKSURL
	s.client = cfg.HTTPClient
	if s.client == nil {
		s.client = newHTTPClient(cfg)
	}
	go s.run()
	return s, nil
}

func withDefaults(c Config) Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Timeout, DefaultTimeout)
	def(&c.RefreshInterval, DefaultRefreshInterval)
	def(&c.MinRefreshInterval, DefaultMinRefreshInterval)
	def(&c.MaxRefreshInterval, DefaultMaxRefreshInterval)
	def(&c.UnknownKIDInterval, DefaultUnknownKIDInterval)
	def(&c.UnknownKIDWait, DefaultUnknownKIDWait)
	def(&c.MaxStaleness, DefaultMaxStaleness)
	def(&c.RetryMin, DefaultRetryMin)
	def(&c.RetryMax, DefaultRetryMax)
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Close stops background refreshing. Lookups keep answering from the keys
// already held.
func (s *Source) Close() {
	s.cancel()
	<-s.done
}

// WaitReady blocks until the first set of keys is held or ctx ends.
func (s *Source) WaitReady(ctx context.Context) error {
	select {
	case <-s.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrKeysUnavailable, ctx.Err())
	}
}

// Key returns the public key that verifies a token with the given kid and
// alg. A kid missing from the set triggers a refresh, at most once per
// UnknownKIDInterval and shared by all concurrent callers; the caller waits
// for it no longer than UnknownKIDWait or its ctx. A miss while the rate limit
// holds returns ErrKeyNotFound at once.
func (s *Source) Key(ctx context.Context, kid, alg string) (crypto.PublicKey, error) {
	k, err := s.Lookup(ctx, kid, alg)
	if err != nil {
		return nil, err
	}
	return k.Public, nil
}

// Lookup is Key returning the whole *Key, whose pointer identity stays the
// same for as long as the key remains in the set.
func (s *Source) Lookup(ctx context.Context, kid, alg string) (*Key, error) {
	if algFamily[alg] == 0 {
		return nil, ErrUnsupportedAlg
	}
	l := s.current()
	if l == nil {
		// Nothing usable: join a fetch in progress, briefly.
		if f := s.inflight(); f != nil {
			s.wait(ctx, f)
			l = s.current()
		}
		if l == nil {
			return nil, ErrKeysUnavailable
		}
	}
	k, err := l.set.find(kid, alg)
	if !errors.Is(err, ErrKeyNotFound) || kid == "" || s.cfg.Static != nil {
		return k, err
	}
	f := s.triggerUnknownKID()
	if f == nil {
		return nil, err
	}
	s.wait(ctx, f)
	if l = s.current(); l == nil {
		return nil, ErrKeysUnavailable
	}
	return l.set.find(kid, alg)
}

// current returns the held keys unless they are too stale to use.
func (s *Source) current() *loaded {
	l := s.keys.Load()
	if l == nil || (s.cfg.Static == nil && s.cfg.Now().Sub(l.fetched) > s.cfg.MaxStaleness) {
		return nil
	}
	return l
}

func (s *Source) wait(ctx context.Context, f *flight) {
	t := time.NewTimer(s.cfg.UnknownKIDWait)
	defer t.Stop()
	select {
	case <-f.done:
	case <-t.C:
	case <-ctx.Done():
	}
}

func (s *Source) inflight() *flight {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flight
}

// triggerUnknownKID joins the refresh in progress, or starts one if the rate
// limit allows; nil means neither.
func (s *Source) triggerUnknownKID() *flight {
	s.mu.Lock()
	if f := s.flight; f != nil {
		s.mu.Unlock()
		return f
	}
	now := s.cfg.Now()
	if !s.lastTrigger.IsZero() && now.Sub(s.lastTrigger) < s.cfg.UnknownKIDInterval {
		s.mu.Unlock()
		return nil
	}
	s.lastTrigger = now
	s.mu.Unlock()
	return s.refresh()
}

// Refresh fetches the keys now (joining a fetch in progress) and waits for
// the outcome or ctx. On failure the keys held so far are kept.
func (s *Source) Refresh(ctx context.Context) error {
	if s.cfg.Static != nil {
		return nil
	}
	f := s.refresh()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refresh starts a fetch unless one is running; single-flight.
func (s *Source) refresh() *flight {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flight != nil {
		return s.flight
	}
	f := &flight{done: make(chan struct{})}
	s.flight = f
	go func() {
		next, err := s.fetch()
		s.mu.Lock()
		s.flight = nil
		s.health.LastAttempt = s.cfg.Now()
		s.health.LastError = ""
		if err != nil {
			s.health.LastError = err.Error()
		} else {
			s.next = next
		}
		f.err = err
		s.mu.Unlock()
		if err != nil {
			s.log.Warn("jwks: refresh failed; keeping the last good keys", "error", err.Error())
		} else {
			s.readyOnce.Do(func() { close(s.ready) })
		}
		close(f.done)
	}()
	return f
}

// run refreshes on the schedule: the configured interval or the response's
// max-age within bounds after a success, exponential backoff after a failure.
func (s *Source) run() {
	defer close(s.done)
	backoff := s.cfg.RetryMin
	for {
		f := s.refresh()
		select {
		case <-f.done:
		case <-s.ctx.Done():
			return
		}
		next := s.nextInterval()
		if f.err != nil {
			next = backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, s.cfg.RetryMax)
		} else {
			backoff = s.cfg.RetryMin
		}
		s.mu.Lock()
		s.health.NextRefresh = s.cfg.Now().Add(next)
		s.mu.Unlock()
		t := time.NewTimer(next)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return
		}
	}
}

func (s *Source) nextInterval() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next <= 0 {
		return s.cfg.RefreshInterval
	}
	return s.next
}

// install parses a JWKS document and, when it holds a usable key, makes it the
// current set. A document without usable keys never replaces a good one.
func (s *Source) install(doc []byte) error {
	keys, skipped, err := parseSet(doc)
	for _, sk := range skipped {
		s.log.Warn("jwks: skipped an unusable key", "index", sk.Index, "kid", sk.KID, "reason", sk.Reason)
	}
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	s.keys.Store(&loaded{set: newKeySet(keys), fetched: now})
	jwks := make([]jwkset.JWK, 0, len(keys))
	for _, k := range keys {
		alg := jwkset.ALG(k.Alg)
		if k.Alg == "Ed25519" {
			alg = "" // jwkset names it EdDSA
		}
		j, err := jwkset.NewJWKFromKey(k.Public, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: k.KID, ALG: alg}})
		if err == nil {
			jwks = append(jwks, j)
		}
	}
	_ = s.jwkset.KeyReplaceAll(context.Background(), jwks)
	s.mu.Lock()
	s.health.LastRefresh = now
	s.health.KeyCount = len(keys)
	s.health.Skipped = skipped
	s.mu.Unlock()
	return nil
}

// Health reports the source's state.
func (s *Source) Health() Health {
	s.mu.Lock()
	h := s.health
	h.JWKSURL = s.jwksURL
	s.mu.Unlock()
	h.Skipped = append([]SkippedKey(nil), h.Skipped...)
	h.Ready = s.current() != nil
	h.Fetches = s.fetches.Load()
	return h
}

// Keyfunc returns a golang-jwt Keyfunc over the keys currently held, for code
// that calls jwt.Parse itself. It never fetches: unknown kids fail.
func (s *Source) Keyfunc() jwt.Keyfunc {
	k, err := keyfunc.New(keyfunc.Options{Storage: s.jwkset})
	if err != nil {
		return func(*jwt.Token) (any, error) { return nil, err }
	}
	return k.Keyfunc
}

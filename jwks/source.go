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

	"github.com/MicahParks/keyfunc/v3"
	"github.com/clientcasa/oauthguard/internal/fetch"
	"github.com/clientcasa/oauthguard/keyset"
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

// MaxBodyBytesLimit is the largest accepted Config.MaxBodyBytes.
const MaxBodyBytesLimit = 16 << 20

// The errors of a Source's lookups, besides keyset's. Both match
// keyset.ErrUnavailable (a validator answers 503); the error returned also
// says what the last fetch attempt met.
var (
	// ErrNotFetched: no JWKS has been fetched yet.
	ErrNotFetched = fmt.Errorf("%w: no JWKS fetched yet", keyset.ErrUnavailable)
	// ErrStale: the last good JWKS is older than Config.MaxStaleness.
	ErrStale = fmt.Errorf("%w: the last good JWKS is older than MaxStaleness", keyset.ErrUnavailable)
	// ErrInsecureURL: a URL is neither https nor http to a loopback host
	// (unless Config.AllowInsecureHTTP).
	ErrInsecureURL = fetch.ErrInsecureURL
)

// The operations Config.Observe is called with.
const (
	OpDiscovery = "discovery" // a metadata document (RFC 8414, OpenID Discovery)
	OpJWKS      = "jwks"      // the JWKS document
)

var (
	errOtherIssuer = fmt.Errorf("%w: the key source is another issuer's", keyset.ErrKeyNotFound)
)

// Config configures a [Source]. JWKSURL or Issuer is required; given
// together, no discovery happens. Every other field's zero value is a
// documented default; negative values are errors.
type Config struct {
	// JWKSURL is the JWKS endpoint, e.g. https://auth.example.com/api/auth/jwks.
	JWKSURL string
	// Issuer is the authorization server's issuer identifier. Without JWKSURL,
	// the JWKS URL is discovered from its metadata: RFC 8414 path-insert form,
	// then the path-append form {issuer}/.well-known/oauth-authorization-server,
	// then {issuer}/.well-known/openid-configuration. The metadata's issuer
	// must equal Issuer exactly.
	Issuer string

	// Observe, when set, is called before each HTTP request the source
	// makes, with its operation (OpDiscovery or OpJWKS) and URL: it returns
	// the request's context (a span's, say) and a function called with the
	// request's outcome. For traces and metrics: otelguard.Metrics.Observe
	// is one. Zero: none.
	Observe func(ctx context.Context, op, url string) (context.Context, func(error))
	// HTTPClient makes every request. Zero: a dedicated client with Timeout
	// that follows at most 3 redirects, each held to the same https rule.
	HTTPClient *http.Client
	// Timeout bounds each metadata or JWKS request. Zero: DefaultTimeout (5 s).
	Timeout time.Duration
	// MaxBodyBytes caps each response body, at most MaxBodyBytesLimit
	// (16 MiB). Zero: DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
	// AllowInsecureHTTP permits http:// URLs for hosts other than loopback
	// (127.0.0.0/8, ::1, localhost), which are always allowed. Zero: https only.
	AllowInsecureHTTP bool

	// RefreshInterval is the background refresh period when the response has no
	// Cache-Control max-age. Zero: DefaultRefreshInterval (15 min).
	RefreshInterval time.Duration
	// MinRefreshInterval and MaxRefreshInterval bound a Cache-Control max-age
	// taken from the JWKS response; Min must not exceed Max. Zero: 1 min and 1 h.
	MinRefreshInterval time.Duration
	MaxRefreshInterval time.Duration
	// UnknownKIDInterval is the least time between two refreshes triggered by
	// a token with an unknown kid. Zero: DefaultUnknownKIDInterval (30 s).
	UnknownKIDInterval time.Duration
	// UnknownKIDWait is the longest a lookup waits for a refresh it triggered
	// or joined. Zero: DefaultUnknownKIDWait (1 s).
	UnknownKIDWait time.Duration
	// MaxStaleness is how long the last good keys are used while refreshes
	// fail; after that lookups return ErrStale. Zero: 12 h.
	MaxStaleness time.Duration
	// RetryMin and RetryMax bound the exponential backoff (with jitter) after
	// a failed fetch; Min must not exceed Max. Zero: 1 s and 1 min.
	RetryMin time.Duration
	RetryMax time.Duration

	// Logger receives refresh outcomes and skipped keys, never token contents
	// or key material. Zero: slog.Default().
	Logger *slog.Logger
	// Now is the clock for staleness and rate limits. Zero: time.Now.
	Now func() time.Time
}

// check reports every mistake in c, before defaults apply.
func (c Config) check() error {
	var errs []error
	if c.JWKSURL == "" && c.Issuer == "" {
		errs = append(errs, errors.New("jwks: Config.JWKSURL or Config.Issuer is required"))
	}
	for _, u := range []struct{ name, url string }{{"JWKSURL", c.JWKSURL}, {"Issuer", c.Issuer}} {
		if u.url != "" {
			if err := fetch.CheckURL(u.url, c.AllowInsecureHTTP); err != nil {
				errs = append(errs, fmt.Errorf("jwks: Config.%s: %w", u.name, err))
			}
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Timeout", c.Timeout}, {"RefreshInterval", c.RefreshInterval}, {"MinRefreshInterval", c.MinRefreshInterval},
		{"MaxRefreshInterval", c.MaxRefreshInterval}, {"UnknownKIDInterval", c.UnknownKIDInterval},
		{"UnknownKIDWait", c.UnknownKIDWait}, {"MaxStaleness", c.MaxStaleness}, {"RetryMin", c.RetryMin}, {"RetryMax", c.RetryMax}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("jwks: Config.%s must not be negative (zero means the default)", d.name))
		}
	}
	if c.MaxBodyBytes < 0 || c.MaxBodyBytes > MaxBodyBytesLimit {
		errs = append(errs, fmt.Errorf("jwks: Config.MaxBodyBytes must be from 0 (default) to %d", MaxBodyBytesLimit))
	}
	d := c.withDefaults()
	if d.MinRefreshInterval > d.MaxRefreshInterval {
		errs = append(errs, fmt.Errorf("jwks: Config.MinRefreshInterval (%s) exceeds MaxRefreshInterval (%s)", d.MinRefreshInterval, d.MaxRefreshInterval))
	}
	if d.RetryMin > d.RetryMax {
		errs = append(errs, fmt.Errorf("jwks: Config.RetryMin (%s) exceeds RetryMax (%s)", d.RetryMin, d.RetryMax))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
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
	if c.MaxBodyBytes == 0 {
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

// Health is a point-in-time report for health and readiness endpoints.
type Health struct {
	// Ready is true when lookups can succeed: usable keys are held and are not
	// older than MaxStaleness.
	Ready bool
	// KeyCount is the number of usable keys held.
	KeyCount int
	// JWKSURL is the URL in use ("" before discovery).
	JWKSURL string
	// LastRefresh is the time of the last successful fetch (zero: never).
	LastRefresh time.Time
	// LastAttempt is the time of the last fetch attempt.
	LastAttempt time.Time
	// NextRefresh is when the background refresh runs next (zero before the
	// first attempt has ended).
	NextRefresh time.Time
	// LastError describes the last attempt's failure, "" when it succeeded.
	LastError string
	// Skipped lists the JWKs of the last good document that could not be used.
	Skipped []SkippedKey
	// Fetches counts the JWKS documents requested since start.
	Fetches int64
	// Refreshes and FailedRefreshes count the refreshes (discovery when
	// needed, then the JWKS) since start that installed keys and that did
	// not.
	Refreshes, FailedRefreshes int64
}

// Source holds the verification keys of one authorization server, fetched
// from its JWKS, and keeps them fresh. It implements keyset.Source. It is
// safe for concurrent use; lookups never take a lock while a fetch is in
// progress.
type Source struct {
	cfg  Config
	log  *slog.Logger
	http fetch.Client
	keys atomic.Pointer[loaded]

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	ready  chan struct{}

	meta       atomic.Pointer[Metadata] // the discovered metadata
	discovered chan struct{}            // closed once meta is set
	discoverMu sync.Mutex               // one on-demand discovery at a time

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
	set     *keyset.Set
	fetched time.Time
}

type flight struct {
	done chan struct{}
	err  error
}

// New checks cfg and returns a Source, which starts fetching in the
// background at once and never blocks start-up: until the first fetch
// succeeds, lookups return ErrNotFetched, and failed fetches are retried
// with backoff. Call Close to stop it. Every mistake in cfg is reported,
// joined in one error.
func New(cfg Config) (*Source, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Source{cfg: cfg, log: cfg.Logger, done: make(chan struct{}), ready: make(chan struct{}), jwksURL: cfg.JWKSURL,
		discovered: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	client := cfg.HTTPClient
	if client == nil {
		client = fetch.NewHTTPClient(cfg.Timeout, cfg.AllowInsecureHTTP)
	}
	s.http = fetch.Client{HTTP: client, Timeout: cfg.Timeout, MaxBody: cfg.MaxBodyBytes, Observe: cfg.Observe}
	// The first fetch is in flight when New returns, so that a lookup right
	// after start-up waits for it (at most UnknownKIDWait) rather than
	// failing at once; the loop waits for it as its first round.
	go s.run(s.refresh(true))
	return s, nil
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
		return fmt.Errorf("%w: %w", s.unavailable(ErrNotFetched), ctx.Err())
	}
}

// Key returns the public key that verifies a token with q's kid and alg,
// selected by keyset's rule. When Config.Issuer is set, a query for another
// issuer finds no key: the source's keys are bound to its issuer. A kid missing from the set triggers a refresh,
// at most once per UnknownKIDInterval and shared by all concurrent callers;
// the caller waits for it no longer than UnknownKIDWait or its ctx. A miss
// while the rate limit holds returns keyset.ErrKeyNotFound at once.
func (s *Source) Key(ctx context.Context, q keyset.Query) (crypto.PublicKey, error) {
	if _, ok := keyset.Method(q.Algorithm); !ok {
		return nil, keyset.ErrUnsupportedAlg
	}
	if s.cfg.Issuer != "" && q.Issuer != "" && q.Issuer != s.cfg.Issuer {
		// The keys of one issuer never verify another's tokens.
		return nil, errOtherIssuer
	}
	l, _ := s.current()
	if l == nil {
		// Nothing usable: join a fetch in progress, briefly. Then look
		// again in any case: a fetch that ended between the two looks
		// leaves no flight to join, but its keys.
		if f := s.inflight(); f != nil {
			s.wait(ctx, f)
		}
		var err error
		if l, err = s.current(); l == nil {
			return nil, err
		}
	}
	k, err := l.set.Find(q.KeyID, q.Algorithm)
	if !errors.Is(err, keyset.ErrKeyNotFound) || q.KeyID == "" {
		return k.Public, err
	}
	f := s.triggerUnknownKID()
	if f == nil {
		return nil, err
	}
	s.wait(ctx, f)
	if l, err = s.current(); l == nil {
		return nil, err
	}
	k, err = l.set.Find(q.KeyID, q.Algorithm)
	return k.Public, err
}

// Keyfunc returns a golang-jwt Keyfunc over the same lookup as Key, for code
// that calls jwt.Parse itself (see keyset.Keyfunc). Its errors also match
// keyfunc.ErrKeyfunc, as those of github.com/MicahParks/keyfunc/v3 do, so
// code written for that package keeps working.
func (s *Source) Keyfunc() jwt.Keyfunc {
	kf := keyset.Keyfunc(s)
	return func(t *jwt.Token) (any, error) {
		k, err := kf(t)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", keyfunc.ErrKeyfunc, err)
		}
		return k, nil
	}
}

// current returns the held keys unless they are too stale to use, and
// otherwise the error a lookup gets.
func (s *Source) current() (*loaded, error) {
	l := s.keys.Load()
	switch {
	case l == nil:
		return nil, s.unavailable(ErrNotFetched)
	case s.cfg.Now().Sub(l.fetched) > s.cfg.MaxStaleness:
		return nil, s.unavailable(ErrStale)
	}
	return l, nil
}

// unavailable is kind with what the last attempt met, for logs.
func (s *Source) unavailable(kind error) error {
	s.mu.Lock()
	last := s.health.LastError
	s.mu.Unlock()
	if last == "" {
		return kind
	}
	return fmt.Errorf("%w (last attempt: %s)", kind, last)
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
	return s.refresh(false)
}

// Refresh fetches the keys now (joining a fetch in progress) and waits for
// the outcome or ctx. On failure the keys held so far are kept.
func (s *Source) Refresh(ctx context.Context) error {
	f := s.refresh(false)
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refresh starts a fetch unless one is running; single-flight. A failure is
// logged here unless the background loop started the fetch (scheduled), in
// which case the loop logs it with the next attempt's time.
func (s *Source) refresh(scheduled bool) *flight {
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
		if err != nil {
			s.health.FailedRefreshes++
		} else {
			s.health.Refreshes++
		}
		s.mu.Unlock()
		// The loop marks a scheduled fetch ready once it has set
		// NextRefresh, so that Health after WaitReady tells both.
		switch {
		case scheduled:
		case err == nil:
			s.readyOnce.Do(func() { close(s.ready) })
		default:
			s.logFailure(err, 0)
		}
		close(f.done)
	}()
	return f
}

// logFailure says what a failed fetch means for requests: the last good
// keys are still used, they are too old, or there are none yet.
func (s *Source) logFailure(err error, next time.Duration) {
	attrs := []any{"error", err.Error()}
	if next > 0 {
		attrs = append(attrs, "next_attempt_in", next.Round(time.Millisecond).String())
	}
	l := s.keys.Load()
	switch {
	case l == nil:
		s.log.Warn("jwks: fetch failed; no signing keys held yet, so requests get 503 until a fetch succeeds", attrs...)
	case s.cfg.Now().Sub(l.fetched) > s.cfg.MaxStaleness:
		s.log.Error("jwks: refresh failed; the last good keys are older than MaxStaleness, so requests get 503", attrs...)
	default:
		attrs = append(attrs, "keys_age", s.cfg.Now().Sub(l.fetched).Round(time.Second).String())
		s.log.Warn("jwks: refresh failed; keeping the last good keys", attrs...)
	}
}

// run refreshes on the schedule: the configured interval or the response's
// max-age within bounds after a success, exponential backoff after a failure.
func (s *Source) run(first *flight) {
	defer close(s.done)
	backoff := s.cfg.RetryMin
	for f := first; ; f = s.refresh(true) {
		select {
		case <-f.done:
		case <-s.ctx.Done():
			return
		}
		next := s.nextInterval()
		if f.err != nil {
			next = backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, s.cfg.RetryMax)
			s.logFailure(f.err, next)
		} else {
			backoff = s.cfg.RetryMin
		}
		s.mu.Lock()
		s.health.NextRefresh = s.cfg.Now().Add(next)
		s.mu.Unlock()
		if f.err == nil {
			s.readyOnce.Do(func() { close(s.ready) })
		}
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
	set, skipped, err := Parse(doc)
	for _, sk := range skipped {
		s.log.Warn("jwks: skipped an unusable key", "index", sk.Index, "kid", sk.KID, "reason", sk.Reason)
	}
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	s.keys.Store(&loaded{set: set, fetched: now})
	s.mu.Lock()
	s.health.LastRefresh = now
	s.health.KeyCount = set.Len()
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
	l, _ := s.current()
	h.Ready = l != nil
	h.Fetches = s.fetches.Load()
	return h
}

package jwks

import (
	"container/list"
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/clientcasa/oauthguard/internal/fetch"
	"github.com/clientcasa/oauthguard/keyset"
	"golang.org/x/time/rate"
)

// Defaults of IssuersConfig.
const (
	DefaultMaxIssuers = 100
	// DefaultNewIssuersPerSecond bounds how fast sources of new issuers are
	// created (burst: as many).
	DefaultNewIssuersPerSecond = 10
)

// IssuersConfig configures [Issuers]: which issuers are trusted, and how
// many key sources are kept. One of Allow, Allowlist and Patterns is
// required.
type IssuersConfig struct {
	// Allow decides whether an issuer is trusted. It must not make network
	// requests (it runs for every token naming an unknown issuer).
	Allow func(issuer string) bool
	// Allowlist lists issuers trusted, compared exactly.
	Allowlist []string
	// Patterns are issuers with one wildcard label in the host, such as
	// "https://*.clerk.accounts.dev" or "https://auth.example.com/realms/*"
	// for a last path segment: "*" matches one non-empty label or segment
	// of letters, digits, "-" and "_", nothing else. https only.
	Patterns []string
	// Max bounds the key sources kept; beyond it the least recently used is
	// closed and dropped. Zero: DefaultMaxIssuers (100).
	Max int
	// NewPerSecond bounds how fast key sources of new issuers are created.
	// Zero: DefaultNewIssuersPerSecond (10).
	NewPerSecond float64
	// Source is the template of each issuer's Source (timeouts, refresh,
	// logger...); its Issuer is set per issuer; JWKSURL must be empty: each
	// issuer's keys are discovered from its metadata, whose issuer must
	// equal it.
	Source Config
}

// Issuers holds the keys of many issuers, each in its own Source created by
// discovery on the first token that names it: per-tenant issuers (a Keycloak
// realm per customer, Clerk instances). It implements keyset.IssuerSet: as
// middleware.Config.Keys (with Config.Issuers empty) the validator accepts
// exactly the issuers it trusts, and each token's keys are its issuer's.
//
// A token naming an issuer that is not trusted is refused without any
// network request. Creating sources is single-flight and rate-limited; a
// source whose discovery fails stays (and retries with backoff) until
// evicted, so a flood of tokens naming a dead issuer makes no more
// requests than its one source does. Dynamic issuers must use https.
type Issuers struct {
	cfg      IssuersConfig
	exact    map[string]bool
	patterns []pattern
	limiter  *rate.Limiter

	mu      sync.Mutex
	lru     *list.List // of *issuerEntry, most recent first
	byIss   map[string]*list.Element
	closed  bool
	created int64
}

type issuerEntry struct {
	issuer string
	src    *Source
}

type pattern struct {
	prefix, suffix string // around the "*"
}

// ErrIssuerNotTrusted is the cause of a lookup for an issuer Issuers does
// not trust.
var ErrIssuerNotTrusted = fmt.Errorf("%w: issuer not trusted", keyset.ErrKeyNotFound)

// errTooManyNewIssuers: the rate limit of new sources is reached.
var errTooManyNewIssuers = fmt.Errorf("%w: too many new issuers at once", keyset.ErrUnavailable)

// NewIssuers checks cfg and returns an Issuers. Close it when done.
func NewIssuers(cfg IssuersConfig) (*Issuers, error) {
	var errs []error
	if cfg.Allow == nil && len(cfg.Allowlist) == 0 && len(cfg.Patterns) == 0 {
		errs = append(errs, errors.New("jwks: IssuersConfig needs Allow, Allowlist or Patterns"))
	}
	if cfg.Source.JWKSURL != "" || cfg.Source.Issuer != "" {
		errs = append(errs, errors.New("jwks: IssuersConfig.Source must not set JWKSURL or Issuer (both come from each issuer)"))
	}
	if cfg.Max < 0 || cfg.NewPerSecond < 0 {
		errs = append(errs, errors.New("jwks: IssuersConfig.Max and NewPerSecond must not be negative"))
	}
	m := &Issuers{cfg: cfg, exact: map[string]bool{}, lru: list.New(), byIss: map[string]*list.Element{}}
	for _, iss := range cfg.Allowlist {
		if err := fetch.CheckURL(iss, cfg.Source.AllowInsecureHTTP); err != nil {
			errs = append(errs, fmt.Errorf("jwks: IssuersConfig.Allowlist: %w", err))
		}
		m.exact[iss] = true
	}
	for _, p := range cfg.Patterns {
		pat, err := parsePattern(p)
		if err != nil {
			errs = append(errs, err)
		}
		m.patterns = append(m.patterns, pat)
	}
	// The template must make a valid Source.
	if tmpl := cfg.Source; len(errs) == 0 {
		tmpl.Issuer = "https://template.invalid"
		if err := tmpl.check(); err != nil {
			errs = append(errs, fmt.Errorf("jwks: IssuersConfig.Source: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if m.cfg.Max == 0 {
		m.cfg.Max = DefaultMaxIssuers
	}
	if m.cfg.NewPerSecond == 0 {
		m.cfg.NewPerSecond = DefaultNewIssuersPerSecond
	}
	m.limiter = rate.NewLimiter(rate.Limit(m.cfg.NewPerSecond), max(int(m.cfg.NewPerSecond), 1))
	return m, nil
}

func parsePattern(p string) (pattern, error) {
	before, after, ok := strings.Cut(p, "*")
	if !ok || strings.Contains(after, "*") || !strings.HasPrefix(p, "https://") {
		return pattern{}, fmt.Errorf("jwks: IssuersConfig.Patterns %q: want an https URL with exactly one *", p)
	}
	if u, err := url.Parse(strings.Replace(p, "*", "x", 1)); err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return pattern{}, fmt.Errorf("jwks: IssuersConfig.Patterns %q: not an issuer URL", p)
	}
	// The wildcard is a whole host label or path segment.
	okBefore := strings.HasSuffix(before, "://") || strings.HasSuffix(before, ".") || strings.HasSuffix(before, "/")
	okAfter := after == "" || after[0] == '.' || after[0] == '/' || after[0] == ':'
	if !okBefore || !okAfter {
		return pattern{}, fmt.Errorf("jwks: IssuersConfig.Patterns %q: * must be a whole host label or path segment", p)
	}
	return pattern{prefix: before, suffix: after}, nil
}

func (p pattern) match(iss string) bool {
	if len(iss) <= len(p.prefix)+len(p.suffix) || !strings.HasPrefix(iss, p.prefix) || !strings.HasSuffix(iss, p.suffix) {
		return false
	}
	label := iss[len(p.prefix) : len(iss)-len(p.suffix)]
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// Trusts reports whether iss is trusted: in Allowlist, matching a pattern,
// or allowed by Allow; and an https URL (http only for loopback, or with
// Source.AllowInsecureHTTP). It makes no network request.
func (m *Issuers) Trusts(iss string) bool {
	if iss == "" || len(iss) > 1024 {
		return false
	}
	ok := m.exact[iss]
	for _, p := range m.patterns {
		ok = ok || p.match(iss)
	}
	if !ok && m.cfg.Allow != nil {
		ok = m.cfg.Allow(iss)
	}
	return ok && fetch.CheckURL(iss, m.cfg.Source.AllowInsecureHTTP) == nil
}

// Key returns the key for q from the Source of q.Issuer, created on first
// use. An issuer not trusted gets ErrIssuerNotTrusted at once.
func (m *Issuers) Key(ctx context.Context, q keyset.Query) (crypto.PublicKey, error) {
	if !m.Trusts(q.Issuer) {
		return nil, ErrIssuerNotTrusted
	}
	src, err := m.source(q.Issuer)
	if err != nil {
		return nil, err
	}
	return src.Key(ctx, q)
}

// source returns the Source of iss, creating it (once: the lock is held)
// when the rate limit allows.
func (m *Issuers) source(iss string) (*Source, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("%w: closed", keyset.ErrUnavailable)
	}
	if e, ok := m.byIss[iss]; ok {
		m.lru.MoveToFront(e)
		return e.Value.(*issuerEntry).src, nil
	}
	if !m.limiter.Allow() {
		return nil, errTooManyNewIssuers
	}
	cfg := m.cfg.Source
	cfg.Issuer = iss
	src, err := New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", keyset.ErrUnavailable, err)
	}
	m.created++
	m.byIss[iss] = m.lru.PushFront(&issuerEntry{issuer: iss, src: src})
	for m.lru.Len() > m.cfg.Max {
		old := m.lru.Remove(m.lru.Back()).(*issuerEntry)
		delete(m.byIss, old.issuer)
		go old.src.Close() // not under the lock: Close waits for the source's loop
	}
	return src, nil
}

// Issuers returns the issuers whose sources are held, most recently used
// first.
func (m *Issuers) Issuers() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, m.lru.Len())
	for e := m.lru.Front(); e != nil; e = e.Next() {
		out = append(out, e.Value.(*issuerEntry).issuer)
	}
	return out
}

// Health reports every held issuer's Source.
func (m *Issuers) Health() map[string]Health {
	m.mu.Lock()
	srcs := make(map[string]*Source, len(m.byIss))
	for iss, e := range m.byIss {
		srcs[iss] = e.Value.(*issuerEntry).src
	}
	m.mu.Unlock()
	out := make(map[string]Health, len(srcs))
	for iss, s := range srcs {
		out[iss] = s.Health()
	}
	return out
}

// Close stops every source; lookups then fail.
func (m *Issuers) Close() {
	m.mu.Lock()
	m.closed = true
	var srcs []*Source
	for e := m.lru.Front(); e != nil; e = e.Next() {
		srcs = append(srcs, e.Value.(*issuerEntry).src)
	}
	m.lru.Init()
	clear(m.byIss)
	m.mu.Unlock()
	for _, s := range srcs {
		s.Close()
	}
}

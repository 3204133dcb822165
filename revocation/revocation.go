package revocation

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clientcasa/oauthguard/middleware"
)

// Kind says which claim of a token a Revocation matches.
type Kind string

// The kinds of revocation.
const (
	// TokenID revokes the one token whose jti is Value, whenever issued.
	TokenID Kind = "jti"
	// Session revokes the tokens of the authorization server's session
	// Value (the sid claim), issued at or before At: a logout.
	Session Kind = "sid"
	// Subject revokes every token of the user Value (sub) issued at or
	// before At: a password change, an account locked.
	Subject Kind = "sub"
	// Client revokes every token issued to the client Value (client_id, or
	// azp) at or before At: a client deleted or its secret leaked.
	Client Kind = "client_id"
	// SubjectClient revokes the tokens of the user Value issued to the
	// client Client at or before At: a consent withdrawn.
	SubjectClient Kind = "sub+client_id"
)

// Defaults and bounds.
const (
	// DefaultLifetime is how long a revocation lasts when Until is zero: a
	// little more than the one-hour access tokens it is for (their exp
	// plus the validator's leeway).
	DefaultLifetime = time.Hour + time.Minute
	// MaxLifetime bounds Until - At: a revocation is for tokens that are
	// still valid, and no access token should live longer than a day.
	MaxLifetime = 24 * time.Hour
	// MaxValueBytes bounds Value, Client and Issuer.
	MaxValueBytes = 1 << 10
	// DefaultMaxEntries bounds a Set when its size is zero.
	DefaultMaxEntries = 1 << 20
)

// Revocation is one entry of a revocation list.
type Revocation struct {
	Kind Kind
	// Value is the jti, sid, sub or client_id revoked (the sub for
	// SubjectClient).
	Value string
	// Client is the client_id of a SubjectClient revocation, "" otherwise.
	Client string
	// Issuer, when set, limits the revocation to that issuer's tokens
	// (several issuers may use the same sub). Zero: every issuer's.
	Issuer string
	// At is when the revocation was made: tokens issued (iat) at or before
	// it are revoked, and tokens issued later are not (a new sign-in after
	// a logout works). A token without iat is revoked whatever At. jti
	// revocations ignore it. Zero: now.
	At time.Time
	// Until is when the revocation lapses, because every token it revokes
	// has expired by then: at most MaxLifetime after At. Zero: At +
	// DefaultLifetime.
	Until time.Time
}

// Errors of Revoke.
var (
	ErrInvalid = errors.New("revocation: invalid revocation")
	ErrFull    = errors.New("revocation: list full")
)

// Normalize fills in At and Until on the clock now and checks r: a known
// Kind, a non-empty Value (and Client exactly for SubjectClient), bounded
// lengths, and Until after At by at most MaxLifetime. Every error matches
// ErrInvalid.
func (r Revocation) Normalize(now time.Time) (Revocation, error) {
	if r.At.IsZero() {
		r.At = now
	}
	if r.Until.IsZero() {
		r.Until = r.At.Add(DefaultLifetime)
	}
	r.At, r.Until = r.At.UTC(), r.Until.UTC()
	switch {
	case r.Kind != TokenID && r.Kind != Session && r.Kind != Subject && r.Kind != Client && r.Kind != SubjectClient:
		return r, fmt.Errorf("%w: kind %q is none of jti, sid, sub, client_id, sub+client_id", ErrInvalid, r.Kind)
	case r.Value == "":
		return r, fmt.Errorf("%w: no value", ErrInvalid)
	case (r.Kind == SubjectClient) != (r.Client != ""):
		return r, fmt.Errorf("%w: a client is needed by, and only by, sub+client_id", ErrInvalid)
	case len(r.Value) > MaxValueBytes || len(r.Client) > MaxValueBytes || len(r.Issuer) > MaxValueBytes:
		return r, fmt.Errorf("%w: a value longer than %d bytes", ErrInvalid, MaxValueBytes)
	case !r.Until.After(r.At) || r.Until.Sub(r.At) > MaxLifetime:
		return r, fmt.Errorf("%w: until must be after at, by at most %s", ErrInvalid, MaxLifetime)
	}
	return r, nil
}

// key is what a revocation is found by: one map lookup per kind.
type key struct {
	kind                  Kind
	value, client, issuer string
}

func (r Revocation) key() key { return key{r.Kind, r.Value, r.Client, r.Issuer} }

type entry struct{ at, until time.Time }

// Set is an in-memory revocation list: right for one replica, and the
// local copy each replica of a shared list keeps (package redisstore). A
// check is at most ten map lookups under a read lock, and none when the set
// is empty. It implements middleware.Revocations. Safe for concurrent use.
type Set struct {
	now   func() time.Time
	limit int

	mu      sync.RWMutex
	entries map[key]entry
	scoped  int // entries with an Issuer
	size    atomic.Int64
}

var _ middleware.Revocations = (*Set)(nil)

// NewSet returns an empty Set holding at most maxEntries live revocations
// (zero: DefaultMaxEntries), on the clock now (nil: time.Now).
func NewSet(maxEntries int, now func() time.Time) *Set {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	if now == nil {
		now = time.Now
	}
	return &Set{now: now, limit: maxEntries, entries: map[key]entry{}}
}

// Revoke adds r (see Normalize) and returns it as added. Two revocations
// of one token, session, subject or client merge: the later At and the
// later Until win. A full set refuses a new entry (ErrFull) rather than
// forget one, after dropping the lapsed ones; a revocation that merges into
// an entry held is always taken.
func (s *Set) Revoke(r Revocation) (Revocation, error) {
	r, err := r.Normalize(s.now())
	if err != nil {
		return r, err
	}
	if k := r.key(); s.Len() >= s.limit && !s.has(k) {
		s.Sweep()
		if s.Len() >= s.limit && !s.has(k) {
			return r, ErrFull
		}
	}
	s.add(r)
	return r, nil
}

func (s *Set) has(k key) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.entries[k]
	return ok
}

// add inserts a normalized revocation, merging with an entry of the same
// key, and reports whether the set changed.
func (s *Set) add(r Revocation) bool {
	k := r.key()
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.entries[k]
	e := entry{at: r.At, until: r.Until}
	if ok {
		if !e.at.After(old.at) && !e.until.After(old.until) {
			return false
		}
		e.at, e.until = later(e.at, old.at), later(e.until, old.until)
	} else if r.Issuer != "" {
		s.scoped++
	}
	s.entries[k] = e
	s.size.Store(int64(len(s.entries)))
	return true
}

func (s *Set) delete(k key) {
	if _, ok := s.entries[k]; ok && k.issuer != "" {
		s.scoped--
	}
	delete(s.entries, k)
	s.size.Store(int64(len(s.entries)))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Revoked implements middleware.Revocations: c is revoked when a live
// revocation matches its jti, its sid, its sub, its client_id or its sub
// and client_id together, of any issuer or of c's issuer; for every kind
// but jti, only when c was issued at or before the revocation (or has no
// iat). It never returns an error.
func (s *Set) Revoked(c *middleware.Claims) (bool, error) {
	if s.size.Load() == 0 {
		return false, nil
	}
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	issuers := [2]string{"", c.Issuer}
	n := 1
	if s.scoped > 0 && c.Issuer != "" {
		n = 2
	}
	for _, iss := range issuers[:n] {
		for _, k := range [...]key{
			{TokenID, c.ID, "", iss},
			{Session, c.SessionID, "", iss},
			{Subject, c.Subject, "", iss},
			{Client, c.ClientID, "", iss},
			{SubjectClient, c.Subject, c.ClientID, iss},
		} {
			if k.value == "" || (k.kind == SubjectClient && k.client == "") {
				continue
			}
			e, ok := s.entries[k]
			if !ok || !now.Before(e.until) {
				continue
			}
			if k.kind == TokenID || c.IssuedAt.IsZero() || !c.IssuedAt.After(e.at) {
				return true, nil
			}
		}
	}
	return false, nil
}

// Len returns the number of revocations held, lapsed ones not yet swept
// included.
func (s *Set) Len() int { return int(s.size.Load()) }

// Sweep drops the lapsed revocations.
func (s *Set) Sweep() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.entries {
		if !now.Before(e.until) {
			s.delete(k)
		}
	}
}

// All returns the live revocations, in no particular order.
func (s *Set) All() []Revocation {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Revocation, 0, len(s.entries))
	for k, e := range s.entries {
		if now.Before(e.until) {
			out = append(out, Revocation{Kind: k.kind, Value: k.value, Client: k.client, Issuer: k.issuer, At: e.at, Until: e.until})
		}
	}
	return out
}

// Merge adds revocations already normalized elsewhere (by another
// replica), skipping the invalid and lapsed ones, and returns how many
// changed the set. Unlike Revoke it does not refuse when full: a
// revocation made elsewhere is never dropped here.
func (s *Set) Merge(rs ...Revocation) int {
	now := s.now()
	n := 0
	for _, r := range rs {
		if r.At.IsZero() || r.Until.IsZero() || !now.Before(r.Until) {
			continue
		}
		if r, err := r.Normalize(now); err == nil && s.add(r) {
			n++
		}
	}
	return n
}

package dpop

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/clientcasa/oauthguard/keyset"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/maypok86/otter/v2"
)

// Defaults used when the matching Config field is zero.
const (
	DefaultMaxAge = 60 * time.Second
	DefaultLeeway = 5 * time.Second
	// MaxMaxAge is the largest accepted Config.MaxAge.
	MaxMaxAge = 10 * time.Minute
)

// DefaultAlgorithms are the proof algorithms accepted when Config.Algorithms
// is nil: every asymmetric algorithm of package keyset.
func DefaultAlgorithms() []string { return keyset.Algorithms() }

// Config configures a [Verifier]. Every field's zero value is a documented
// default.
type Config struct {
	// Algorithms is the allowlist of proof algs, a subset of
	// keyset.Algorithms. Zero: all of them.
	Algorithms []string
	// MaxAge is how old a proof's iat may be, at most MaxMaxAge. Zero:
	// DefaultMaxAge (60 s).
	MaxAge time.Duration
	// Leeway is how far in the future iat may be (client clock skew), at
	// most MaxAge. Zero: DefaultLeeway (5 s).
	Leeway time.Duration
	// Replay remembers the proofs seen, for MaxAge plus Leeway. Zero: a
	// MemoryStore of DefaultMemoryEntries, right for one replica only.
	Replay ReplayStore
	// Nonces, when set, requires each proof to carry a nonce they issued
	// (RFC 9449 §8). Zero: no nonces.
	Nonces Nonces
	// Now is the clock. Zero: time.Now.
	Now func() time.Time
}

// Request is what a proof must match: the HTTP request it came with and the
// access token it goes with.
type Request struct {
	// Method is the request's method (htm, compared exactly).
	Method string
	// URL is the absolute URL the request was sent to (htu, compared after
	// NormalizeURL).
	URL string
	// AccessToken is the token presented with the proof (ath).
	AccessToken string
	// Thumbprint is the token's cnf.jkt: the proof's key must have it.
	Thumbprint string
}

// Verifier checks DPoP proofs. Safe for concurrent use.
type Verifier struct {
	algs    map[string]bool
	algList []string
	maxAge  time.Duration
	leeway  time.Duration
	replay  ReplayStore
	nonces  Nonces
	now     func() time.Time
	keys    *otter.Cache[string, *publicKey]
}

// New checks cfg and returns a Verifier. Every mistake is reported.
func New(cfg Config) (*Verifier, error) {
	var errs []error
	if cfg.Algorithms != nil && len(cfg.Algorithms) == 0 {
		errs = append(errs, errors.New("dpop: Config.Algorithms is empty (nil means every asymmetric algorithm)"))
	}
	for _, alg := range cfg.Algorithms {
		if _, ok := keyset.Method(alg); !ok {
			errs = append(errs, fmt.Errorf("dpop: algorithm %q is not an accepted asymmetric JWS algorithm", alg))
		}
	}
	if cfg.MaxAge < 0 || cfg.MaxAge > MaxMaxAge {
		errs = append(errs, fmt.Errorf("dpop: Config.MaxAge must be from 0 (default) to %s", MaxMaxAge))
	}
	if cfg.Leeway < 0 {
		errs = append(errs, errors.New("dpop: Config.Leeway must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	v := &Verifier{maxAge: cfg.MaxAge, leeway: cfg.Leeway, replay: cfg.Replay, nonces: cfg.Nonces, now: cfg.Now}
	if v.maxAge == 0 {
		v.maxAge = DefaultMaxAge
	}
	if v.leeway == 0 {
		v.leeway = DefaultLeeway
	}
	if v.leeway > v.maxAge {
		return nil, fmt.Errorf("dpop: Config.Leeway (%s) exceeds MaxAge (%s)", v.leeway, v.maxAge)
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.replay == nil {
		v.replay = NewMemoryStore(0, v.now)
	}
	v.algList = cfg.Algorithms
	if v.algList == nil {
		v.algList = DefaultAlgorithms()
	}
	v.algList = slices.Clone(v.algList)
	v.algs = map[string]bool{}
	for _, a := range v.algList {
		v.algs[a] = true
	}
	// Parsed keys by their jwk text: a client signs every proof with the
	// same key, so the key's checks and thumbprint are done once.
	var err error
	v.keys, err = otter.New(&otter.Options[string, *publicKey]{MaximumSize: 10_000, Executor: func(fn func()) { fn() }})
	if err != nil {
		return nil, fmt.Errorf("dpop: key cache: %w", err)
	}
	return v, nil
}

// Algorithms returns the accepted proof algs, for the WWW-Authenticate algs
// parameter and RFC 9728's dpop_signing_alg_values_supported.
func (v *Verifier) Algorithms() []string { return slices.Clone(v.algList) }

// Nonce returns a fresh nonce to send in DPoP-Nonce, or "" without nonces.
func (v *Verifier) Nonce() string {
	if v.nonces == nil {
		return ""
	}
	return v.nonces.Nonce()
}

func (v *Verifier) key(jwk jsontext.Value) (*publicKey, error) {
	if k, ok := v.keys.GetIfPresent(string(jwk)); ok {
		return k, nil
	}
	return parseJWK(jwk)
}

// remember caches a key once a proof signed by it verified, so that junk
// keys never evict the keys of real clients.
func (v *Verifier) remember(jwk jsontext.Value, k *publicKey) {
	if _, ok := v.keys.GetIfPresent(string(jwk)); !ok {
		v.keys.Set(string(jwk), k)
	}
}

// Verify checks proof against r (see the package documentation for every
// rule, in order: the proof itself, htm, htu, iat, ath, the thumbprint, the
// nonce, and last the replay store, so that an invalid proof is never
// remembered). It returns the proof, or an error matching ErrInvalidProof,
// ErrUseNonce or ErrReplayUnavailable.
func (v *Verifier) Verify(ctx context.Context, proof string, r Request) (*Proof, error) {
	p, err := parse(proof, v.algs, v.key, v.remember)
	if err != nil {
		return nil, err
	}
	if p.Method != r.Method {
		return nil, invalid("the DPoP proof htm does not match the request method")
	}
	htu, err := NormalizeURL(p.URL)
	if err != nil {
		return nil, invalid("the DPoP proof htu is not an absolute http(s) URL")
	}
	want, err := NormalizeURL(r.URL)
	if err != nil || htu != want {
		return nil, invalid("the DPoP proof htu does not match the request URL")
	}
	now := v.now()
	switch {
	case p.IssuedAt.After(now.Add(v.leeway)):
		return nil, invalid("the DPoP proof was issued in the future")
	case p.IssuedAt.Before(now.Add(-v.maxAge)):
		return nil, invalid("the DPoP proof is too old")
	}
	sum := sha256.Sum256([]byte(r.AccessToken))
	if ath := base64.RawURLEncoding.EncodeToString(sum[:]); subtle.ConstantTimeCompare([]byte(p.AccessTokenHash), []byte(ath)) != 1 {
		return nil, invalid("the DPoP proof ath does not match the access token")
	}
	if subtle.ConstantTimeCompare([]byte(p.Thumbprint), []byte(r.Thumbprint)) != 1 {
		return nil, invalid("the DPoP proof key is not the one the access token is bound to")
	}
	if v.nonces != nil && (p.Nonce == "" || !v.nonces.Valid(p.Nonce)) {
		return nil, &NonceError{Nonce: v.nonces.Nonce()}
	}
	// The key of the replay store: the proof's key and jti, hashed, so that
	// one client cannot use up another's jti values and the store holds
	// fixed-size keys.
	id := sha256.Sum256([]byte(p.Thumbprint + "\x00" + p.ID))
	fresh, err := v.replay.CheckAndSet(ctx, base64.RawURLEncoding.EncodeToString(id[:]), p.IssuedAt.Add(v.maxAge+v.leeway))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrReplayUnavailable, err)
	case !fresh:
		return nil, invalid("the DPoP proof was used before (replay)")
	}
	return p, nil
}

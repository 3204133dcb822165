package dpop

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	// AccessToken is the token presented with the proof (ath). Empty: a
	// token request, whose proof must have no ath.
	AccessToken string
	// Thumbprint is the token's cnf.jkt: the proof's key must have it.
	// Empty: any key (an authorization server's token endpoint, which binds
	// the token it issues to the key Verify returns).
	Thumbprint string
}

// Verifier checks DPoP proofs. Safe for concurrent use.
type Verifier struct {
	algs    map[string]string // each accepted alg to itself
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
	v.algs = map[string]string{}
	for _, a := range v.algList {
		v.algs[a] = a
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

// Verify checks proof against r (see the package documentation for every
// rule, in order: the proof itself, htm, htu, iat, ath, the thumbprint, the
// nonce, and last the replay store, so that an invalid proof is never
// remembered). It returns the RFC 7638 thumbprint of the proof's key, or an
// error matching ErrInvalidProof, ErrUseNonce or ErrReplayUnavailable.
func (v *Verifier) Verify(ctx context.Context, proof string, r Request) (string, error) {
	key, err := v.verify(ctx, proof, r)
	if err != nil {
		return "", err
	}
	return key.thumbprint, nil
}

func (v *Verifier) verify(ctx context.Context, proof string, r Request) (*publicKey, error) {
	if len(proof) > MaxProofBytes {
		return nil, invalid("the DPoP proof is too large")
	}
	h1 := strings.IndexByte(proof, '.')
	h2 := strings.LastIndexByte(proof, '.')
	if h1 <= 0 || h2 <= h1+1 || h2 == len(proof)-1 || strings.IndexByte(proof[h1+1:h2], '.') >= 0 {
		return nil, invalid("the DPoP proof is not a compact JWS")
	}
	rd := readers.Get().(*reader)
	defer readers.Put(rd)

	hb, err := decode(&rd.hdr, proof[:h1])
	if err != nil {
		return nil, invalid("the DPoP proof header is not base64url")
	}
	h, err := rd.header(hb, v.algs)
	switch {
	case err != nil:
		return nil, invalid("the DPoP proof header is not a JSON object of unique members")
	case !h.typOK:
		return nil, invalid("the DPoP proof typ is not dpop+jwt")
	case h.alg == "":
		return nil, invalid("the DPoP proof alg is not accepted")
	case h.unsupported:
		return nil, invalid("the DPoP proof uses unsupported header parameters")
	case h.jwk == nil:
		return nil, invalid("the DPoP proof has no jwk")
	}
	key, cached := v.keys.GetIfPresent(view(h.jwk))
	if !cached {
		if key, err = parseJWK(jsontext.Value(h.jwk)); err != nil {
			return nil, err
		}
	}
	if !(keyset.Key{Public: key.pub}).Suits(h.alg) {
		return nil, invalid("the DPoP proof alg does not suit its key")
	}
	method, _ := keyset.Method(h.alg)
	sig, err := decode(&rd.sig, proof[h2+1:])
	if err != nil || method.Verify(proof[:h2], sig, key.pub) != nil {
		return nil, invalid("the DPoP proof signature is invalid")
	}
	if !cached {
		// Only now: junk keys never evict the keys of real clients.
		v.keys.Set(string(h.jwk), key)
	}

	var ath [43]byte // base64url of a SHA-256: 43 characters
	sum := sha256.Sum256([]byte(r.AccessToken))
	base64.RawURLEncoding.Encode(ath[:], sum[:])
	cb, err := decode(&rd.body, proof[h1+1:h2])
	if err != nil {
		return nil, invalid("the DPoP proof claims are not base64url")
	}
	c, err := rd.claims(cb, r.Method, r.URL, ath[:])
	switch {
	case err != nil:
		return nil, invalid("the DPoP proof claims are not a JSON object of unique members of the right types")
	case !c.hasJTI || c.jti == "" || len(c.jti) > maxJTIBytes:
		return nil, invalid("the DPoP proof has no valid jti")
	case !c.hasHTM || !c.hasHTU:
		return nil, invalid("the DPoP proof lacks htm or htu")
	case !c.hasIAT || c.iat < 0 || c.iat > 253402300799:
		return nil, invalid("the DPoP proof has no valid iat")
	case !c.htmOK:
		return nil, invalid("the DPoP proof htm does not match the request method")
	}
	if !c.htuExact || !plainURL(r.URL) {
		htu, err := NormalizeURL(c.htu)
		if c.htuExact {
			htu, err = NormalizeURL(r.URL)
		}
		if err != nil {
			return nil, invalid("the DPoP proof htu is not an absolute http(s) URL")
		}
		if want, err := NormalizeURL(r.URL); err != nil || htu != want {
			return nil, invalid("the DPoP proof htu does not match the request URL")
		}
	}
	now := v.now()
	iat := time.Unix(int64(c.iat), 0)
	switch {
	case iat.After(now.Add(v.leeway)):
		return nil, invalid("the DPoP proof was issued in the future")
	case iat.Before(now.Add(-v.maxAge)):
		return nil, invalid("the DPoP proof is too old")
	case r.AccessToken != "" && !c.athOK:
		return nil, invalid("the DPoP proof ath does not match the access token")
	case r.AccessToken == "" && c.hasATH:
		return nil, invalid("the DPoP proof of a token request has an ath")
	case r.Thumbprint != "" && subtle.ConstantTimeCompare([]byte(key.thumbprint), []byte(r.Thumbprint)) != 1:
		return nil, invalid("the DPoP proof key is not the one the access token is bound to")
	}
	if v.nonces != nil && (c.nonce == "" || !v.nonces.Valid(c.nonce)) {
		return nil, &NonceError{Nonce: v.nonces.Nonce()}
	}
	// The key of the replay store: the proof's key and jti, hashed, so that
	// one client cannot use up another's jti values and the store holds
	// fixed-size keys.
	hash := sha256.New()
	hash.Write([]byte(key.thumbprint))
	hash.Write([]byte{0})
	hash.Write([]byte(c.jti))
	var id [43]byte
	base64.RawURLEncoding.Encode(id[:], hash.Sum(sum[:0]))
	fresh, err := v.replay.CheckAndSet(ctx, string(id[:]), iat.Add(v.maxAge+v.leeway))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrReplayUnavailable, err)
	case !fresh:
		return nil, invalid(replayReason)
	}
	return key, nil
}

// plainURL reports whether u is an http(s) URL whose exact equality with
// htu is equality after normalization too: absolute, no user info, query or
// fragment, no percent-encoding or dot segment to normalize.
func plainURL(u string) bool {
	rest, ok := strings.CutPrefix(u, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(u, "http://")
	}
	return ok && rest != "" && rest[0] != '/' && !strings.ContainsAny(rest, "@?#%\\") && !strings.Contains(rest, "/.")
}

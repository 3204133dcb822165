package middleware

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/clientcasa/oauthguard/dpop"
	"github.com/clientcasa/oauthguard/internal/fetch"
)

// DPoPMode says how a Validator treats DPoP (RFC 9449).
type DPoPMode uint8

// The DPoP modes.
const (
	// DPoPAllowed, the zero value: Bearer tokens as before, and DPoP-bound
	// tokens (cnf.jkt) only with "Authorization: DPoP" and a valid proof.
	DPoPAllowed DPoPMode = iota
	// DPoPRequired: every token must be DPoP-bound and come with its proof.
	DPoPRequired
	// DPoPDisabled: the DPoP scheme is not accepted (it is another scheme,
	// as before DPoP support) and DPoP-bound tokens are refused.
	DPoPDisabled
)

// DPoP configures sender-constrained tokens (RFC 9449). Every field's zero
// value is a documented default.
type DPoP struct {
	// Mode is DPoPAllowed (zero), DPoPRequired or DPoPDisabled.
	Mode DPoPMode
	// Proofs configures the proof checks: accepted algs (default: every
	// asymmetric alg), the iat window (default: at most 60 s old, 5 s
	// ahead), the replay store (default: in memory, one replica only; see
	// the Redis store for several) and optional server nonces. Zero Now:
	// Config.Now.
	Proofs dpop.Config
	// ExternalURL is the public base URL of this API (scheme, host and any
	// path prefix a proxy strips), which proofs' htu must name: set it
	// behind a reverse proxy. Zero: the scheme and Host the request arrived
	// with.
	ExternalURL string
	// TrustForwardedHeaders takes the scheme and host from the Forwarded
	// (RFC 7239) or X-Forwarded-Proto and X-Forwarded-Host headers. Only
	// behind a proxy that sets them and strips clients' own: a client could
	// otherwise name any URL. Zero: never trusted.
	TrustForwardedHeaders bool
}

// The errors of sender-constrained tokens, beside ErrBoundToken (a bound
// token sent as a bearer token, or a certificate that does not match).
var (
	// ErrInvalidDPoPProof is the kind of a 401 invalid_dpop_proof: the
	// DPoP proof is missing, repeated or fails a rule of RFC 9449 §4.3.
	ErrInvalidDPoPProof = errors.New("invalid_dpop_proof")
	// ErrUseDPoPNonce is the kind of a 401 use_dpop_nonce: retry with the
	// nonce of the DPoP-Nonce header.
	ErrUseDPoPNonce = errors.New("use_dpop_nonce")
	// ErrDPoPUnavailable is the kind of a 503: the replay store could not
	// say whether a proof is fresh.
	ErrDPoPUnavailable = errors.New("dpop replay store unavailable")
	// ErrNotBound is the reason of a 401 invalid_token for a token that is
	// not DPoP-bound sent with the DPoP scheme, or any bearer token when
	// DPoP is required.
	ErrNotBound = errors.New("token not sender-constrained")
)

var (
	errNotBound      = invalidToken(ErrNotBound, "the access token is not DPoP-bound", nil)
	errDPoPRequired  = invalidToken(ErrNotBound, "a DPoP-bound access token and a DPoP proof are required", nil)
	errBoundAsBearer = invalidToken(ErrBoundToken, "the access token is DPoP-bound: send it with the DPoP scheme and a proof", nil)
	errCertificate   = invalidToken(ErrBoundToken, "the access token is bound to a TLS client certificate this request did not present", nil)
	errDPoPDown      = &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
		Description: "the DPoP proof could not be checked", kind: ErrDPoPUnavailable}
)

func proofError(desc string, cause error) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "invalid_dpop_proof", Description: desc,
		kind: ErrInvalidDPoPProof, cause: cause, scheme: "DPoP"}
}

// binding is a Validator's DPoP set-up.
type binding struct {
	mode     DPoPMode
	proofs   *dpop.Verifier
	external string // ExternalURL without a trailing slash
	forward  bool
	algs     string // for the challenge's algs parameter
}

func newBinding(d DPoP, now func() time.Time) (binding, error) {
	b := binding{mode: d.Mode, forward: d.TrustForwardedHeaders}
	var errs []error
	if d.Mode > DPoPDisabled {
		errs = append(errs, fmt.Errorf("middleware: Config.DPoP.Mode %d is none of DPoPAllowed, DPoPRequired, DPoPDisabled", d.Mode))
	}
	if d.ExternalURL != "" {
		u, err := url.Parse(d.ExternalURL)
		switch {
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "":
			errs = append(errs, fmt.Errorf("middleware: Config.DPoP.ExternalURL %q is not an absolute http(s) URL without user info, query or fragment", d.ExternalURL))
		case d.TrustForwardedHeaders:
			errs = append(errs, errors.New("middleware: Config.DPoP.ExternalURL and TrustForwardedHeaders exclude each other"))
		default:
			b.external = strings.TrimSuffix(d.ExternalURL, "/")
			if err := fetch.CheckURL(d.ExternalURL, true); err != nil {
				errs = append(errs, fmt.Errorf("middleware: Config.DPoP.ExternalURL: %w", err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return binding{}, err
	}
	if b.mode == DPoPDisabled {
		return b, nil
	}
	pc := d.Proofs
	if pc.Now == nil {
		pc.Now = now
	}
	v, err := dpop.New(pc)
	if err != nil {
		return binding{}, fmt.Errorf("middleware: Config.DPoP.Proofs: %w", err)
	}
	b.proofs, b.algs = v, strings.Join(v.Algorithms(), " ")
	return b, nil
}

// bind checks that the request satisfies the token's binding: a DPoP proof
// for a DPoP-bound token (RFC 9449), the client certificate for an
// mTLS-bound one (RFC 8705). scheme is the request's Authorization scheme.
func (v *Validator) bind(r *http.Request, scheme, tok string, c *Claims) error {
	if x5t := c.Confirmation.CertificateThumbprint; x5t != "" && !certificateMatches(r, x5t) {
		return reject(errCertificate)
	}
	jkt := c.Confirmation.JWKThumbprint
	proofs := r.Header["Dpop"] // the canonical form of DPoP, without canonicalizing per request
	switch {
	case v.dpop.mode == DPoPDisabled:
		if jkt != "" {
			return reject(errBound)
		}
		return nil
	case scheme != "DPoP" && jkt != "":
		// RFC 9449 §7.2: a DPoP-bound token is not a bearer token.
		return reject(errBoundAsBearer)
	case scheme != "DPoP" && len(proofs) > 0:
		return proofError("a DPoP proof came with the Bearer scheme", nil)
	case scheme != "DPoP" && v.dpop.mode == DPoPRequired:
		return reject(errDPoPRequired)
	case scheme != "DPoP":
		return nil
	case jkt == "":
		return reject(errNotBound)
	case len(proofs) != 1:
		return proofError("exactly one DPoP header is required", nil)
	}
	_, err := v.dpop.proofs.Verify(r.Context(), proofs[0], dpop.Request{
		Method: r.Method, URL: v.requestURL(r), AccessToken: tok, Thumbprint: jkt})
	var pe *dpop.ProofError
	var ne *dpop.NonceError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return proofError(pe.Reason, err)
	case errors.As(err, &ne):
		return &Error{Status: http.StatusUnauthorized, Code: "use_dpop_nonce", Description: "a DPoP proof with the server's nonce is required",
			kind: ErrUseDPoPNonce, scheme: "DPoP", nonce: ne.Nonce}
	}
	return because(errDPoPDown, err)
}

// requestURL is the URL a proof's htu must name: the configured external
// base, or the forwarded scheme and host when trusted, or the scheme and
// Host the request arrived with; then the request's path.
func (v *Validator) requestURL(r *http.Request) string {
	path := r.URL.EscapedPath()
	if v.dpop.external != "" {
		return v.dpop.external + path
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if v.dpop.forward {
		if p, h := forwarded(r.Header); p != "" || h != "" {
			if p != "" {
				scheme = p
			}
			if h != "" {
				host = h
			}
		}
	}
	return scheme + "://" + host + path
}

// forwarded reads the first hop of Forwarded (RFC 7239), else the first
// values of X-Forwarded-Proto and X-Forwarded-Host.
func forwarded(h http.Header) (proto, host string) {
	if f := h.Get("Forwarded"); f != "" {
		first, _, _ := strings.Cut(f, ",")
		for _, pair := range strings.Split(first, ";") {
			k, val, _ := strings.Cut(strings.TrimSpace(pair), "=")
			val = strings.Trim(val, `"`)
			switch strings.ToLower(k) {
			case "proto":
				proto = strings.ToLower(val)
			case "host":
				host = val
			}
		}
		return proto, host
	}
	firstOf := func(name string) string {
		v, _, _ := strings.Cut(h.Get(name), ",")
		return strings.TrimSpace(v)
	}
	return strings.ToLower(firstOf("X-Forwarded-Proto")), firstOf("X-Forwarded-Host")
}

// certificateMatches reports whether the request came over TLS with a
// client certificate whose SHA-256 thumbprint is x5t (RFC 8705 §3.1).
func certificateMatches(r *http.Request, x5t string) bool {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(CertificateThumbprint(r.TLS.PeerCertificates[0])), []byte(x5t)) == 1
}

// CertificateThumbprint is the x5t#S256 of a certificate (RFC 8705 §3.1):
// the base64url SHA-256 of its DER encoding.
func CertificateThumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// DPoPAlgorithms returns the accepted DPoP proof algs, for RFC 9728's
// dpop_signing_alg_values_supported; nil when DPoP is disabled.
func (v *Validator) DPoPAlgorithms() []string {
	if v.dpop.proofs == nil {
		return nil
	}
	return v.dpop.proofs.Algorithms()
}

// DPoPRequired reports whether only DPoP-bound tokens are accepted, for
// RFC 9728's dpop_bound_access_tokens_required.
func (v *Validator) DPoPRequired() bool { return v.dpop.mode == DPoPRequired }

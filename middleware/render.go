package middleware

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultRetryAfter is the Retry-After of a 503 when Renderer.RetryAfter is zero.
const DefaultRetryAfter = 30 * time.Second

// Renderer writes error responses: the one place that turns an error into
// status, WWW-Authenticate challenge (RFC 6750 §3, with the RFC 9728
// resource_metadata parameter) and JSON body {"error","error_description"}.
// Both adapters use it, so their responses are byte-identical.
type Renderer struct {
	// Realm is the challenge's realm parameter. Zero: "api".
	Realm string
	// ResourceMetadata is the URL of the RFC 9728 protected resource
	// metadata; when set, every challenge carries it.
	ResourceMetadata string
	// RetryAfter is sent with 503 responses. Zero: DefaultRetryAfter.
	RetryAfter time.Duration

	// dpopAlgs, set by NewGuard from the Validator, offers DPoP challenges
	// (algs parameter) beside or instead of Bearer ones (dpopOnly).
	dpopAlgs string
	dpopOnly bool
}

// forValidator is rd offering the challenges v's DPoP mode calls for.
func (rd Renderer) forValidator(v *Validator) Renderer {
	rd.dpopAlgs, rd.dpopOnly = v.dpop.algs, v.dpop.mode == DPoPRequired
	return rd
}

// Write renders err. err should come from this package (an *Error); any other
// error is answered 500 server_error without details.
func (rd Renderer) Write(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: "server_error", Description: "internal error"}
	}
	h := w.Header()
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusBadRequest ||
		(e.Status == http.StatusForbidden && e.Code == "insufficient_scope"):
		for _, c := range rd.challenges(e) {
			h.Add("WWW-Authenticate", c)
		}
		if e.nonce != "" {
			h.Set("DPoP-Nonce", e.nonce)
		}
	case e.Status == http.StatusServiceUnavailable:
		ra := rd.RetryAfter
		if ra <= 0 {
			ra = DefaultRetryAfter
		}
		h.Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
	}
	code := e.Code
	if code == "" {
		code = "unauthorized"
	}
	body, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Scope       string `json:"scope,omitempty"`
	}{code, e.Description, e.Scope})
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(e.Status)
	_, _ = w.Write(append(body, '\n'))
}

// Challenge returns the first WWW-Authenticate value for e (see
// Challenges).
func (rd Renderer) Challenge(e *Error) string {
	return rd.challenges(e)[0]
}

// Challenges returns the WWW-Authenticate values for e, in order: for a
// request without credentials a bare `Bearer realm="..."` (RFC 6750 §3.1)
// and, when DPoP is accepted, a bare `DPoP algs="..."` (RFC 9449 §7.1; only
// that one when DPoP is required); for an error of a DPoP request a DPoP
// challenge with error, error_description and algs; otherwise a Bearer
// challenge with error, error_description and, for insufficient_scope,
// scope. Each carries resource_metadata when set (RFC 9728).
func (rd Renderer) Challenges(e *Error) []string {
	return rd.challenges(e)
}

func (rd Renderer) challenges(e *Error) []string {
	dpopOffered := rd.dpopAlgs != ""
	switch {
	case e != nil && e.scheme == "DPoP" && dpopOffered:
		return []string{rd.challenge("DPoP", e)}
	case (e == nil || e.Code == "") && dpopOffered && rd.dpopOnly:
		return []string{rd.challenge("DPoP", nil)}
	case (e == nil || e.Code == "") && dpopOffered:
		return []string{rd.challenge("Bearer", nil), rd.challenge("DPoP", nil)}
	case e != nil && e.reason == ErrNotBound && dpopOffered:
		// The remedy is DPoP: say so in its challenge.
		return []string{rd.challenge("DPoP", e)}
	}
	return []string{rd.challenge("Bearer", e)}
}

// challenge is one challenge of scheme for e (nil: a bare one).
func (rd Renderer) challenge(scheme string, e *Error) string {
	realm := rd.Realm
	if realm == "" {
		realm = "api"
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteByte(' ')
	if scheme == "Bearer" {
		param(&b, "realm", realm)
	} else {
		param(&b, "algs", rd.dpopAlgs)
	}
	if e != nil && e.Code != "" {
		b.WriteString(", ")
		param(&b, "error", e.Code)
		if e.Description != "" {
			b.WriteString(", ")
			param(&b, "error_description", e.Description)
		}
		if e.Scope != "" {
			b.WriteString(", ")
			param(&b, "scope", e.Scope)
		}
	}
	if rd.ResourceMetadata != "" {
		b.WriteString(", ")
		param(&b, "resource_metadata", rd.ResourceMetadata)
	}
	return b.String()
}

// param writes name="value" as an RFC 7230 quoted-string: backslash and
// double quote are escaped, and bytes that a quoted-string cannot hold (CTLs,
// DEL) are dropped.
func param(b *strings.Builder, name, value string) {
	b.WriteString(name)
	b.WriteString(`="`)
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 && c != '\t', c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

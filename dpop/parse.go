package dpop

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"
)

// The proof's header and claims are read with a jsontext tokenizer rather
// than by reflection: member names match exactly, a duplicated name fails
// the document, and the strings compared to the request (typ, alg, htm,
// htu, ath) are compared in place, without copies.

var errSyntax = errors.New("invalid JSON")

// reader holds a proof's per-call buffers; pooled.
type reader struct {
	hdr, body, sig, jwk []byte
	bb                  bytes.Buffer
	dec                 jsontext.Decoder
	name, scratch       []byte
}

var readers = sync.Pool{New: func() any { return new(reader) }}

// decode base64url-decodes seg into buf, reusing it.
func decode(buf *[]byte, seg string) ([]byte, error) {
	n := b64.DecodedLen(len(seg))
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	n, err := b64.Decode((*buf)[:n], unsafe.Slice(unsafe.StringData(seg), len(seg)))
	if err != nil {
		return nil, err
	}
	return (*buf)[:n], nil
}

// object starts reading doc, which must be one JSON object, and calls f with
// each member name; f reads the value. The end of the object must be the end
// of the document.
func (r *reader) object(doc []byte, f func(name []byte) error) error {
	r.bb = *bytes.NewBuffer(doc)
	r.dec.Reset(&r.bb)
	if tok, err := r.dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return errSyntax
	}
	for r.dec.PeekKind() != '}' {
		v, err := r.dec.ReadValue()
		if err != nil || v.Kind() != '"' {
			return errSyntax
		}
		name := []byte(v[1 : len(v)-1])
		if bytes.IndexByte(v, '\\') >= 0 {
			if r.name, err = jsontext.AppendUnquote(r.name[:0], v); err != nil {
				return errSyntax
			}
			name = r.name
		}
		if err := f(name); err != nil {
			return errSyntax
		}
	}
	if _, err := r.dec.ReadToken(); err != nil {
		return errSyntax
	}
	if _, err := r.dec.ReadToken(); err != io.EOF {
		return errSyntax
	}
	return nil
}

// str reads a string value, unquoted, into a buffer valid until the next
// read (no copy when it has no escapes).
func (r *reader) str() ([]byte, error) {
	v, err := r.dec.ReadValue()
	if err != nil || v.Kind() != '"' {
		return nil, errSyntax
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], nil
	}
	if r.scratch, err = jsontext.AppendUnquote(r.scratch[:0], v); err != nil {
		return nil, errSyntax
	}
	return r.scratch, nil
}

// view is b as a string without a copy; valid while b is.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// header is what a proof's JOSE header says.
type header struct {
	typOK       bool
	alg         string // one of the allowlist's strings (no copy of the input)
	jwk         []byte // the jwk member, valid until the reader is reused
	unsupported bool   // crit, b64 or enc
}

func (r *reader) header(doc []byte, algs map[string]string) (header, error) {
	var h header
	err := r.object(doc, func(name []byte) error {
		switch string(name) {
		case "typ":
			s, err := r.str()
			h.typOK = err == nil && strings.EqualFold(view(s), "dpop+jwt")
			return err
		case "alg":
			s, err := r.str()
			h.alg = algs[view(s)]
			return err
		case "jwk":
			v, err := r.dec.ReadValue()
			if err != nil || v.Kind() != '{' {
				return errSyntax
			}
			r.jwk = append(r.jwk[:0], v...) // the decoder may reuse v's bytes
			h.jwk = r.jwk
			return nil
		case "crit", "b64", "enc", "zip":
			h.unsupported = true
		}
		return r.dec.SkipValue()
	})
	return h, err
}

// claims are what the proof's claims say; the strings are copies only where
// they must outlive the reader (jti, nonce).
type claims struct {
	jti, nonce                     string
	htmOK, htuExact                bool
	htu                            string // a copy, only when not exactly the request URL
	athOK                          bool
	iat                            float64
	hasJTI, hasHTM, hasHTU, hasIAT bool
	hasATH                         bool
}

func (r *reader) claims(doc []byte, method, url string, ath []byte) (claims, error) {
	var c claims
	err := r.object(doc, func(name []byte) error {
		var err error
		var s []byte
		switch string(name) {
		case "jti":
			s, err = r.str()
			c.jti, c.hasJTI = string(s), true
		case "htm":
			s, err = r.str()
			c.htmOK, c.hasHTM = view(s) == method, true
		case "htu":
			s, err = r.str()
			c.hasHTU = true
			if c.htuExact = view(s) == url; !c.htuExact {
				c.htu = string(s)
			}
		case "ath":
			s, err = r.str()
			c.athOK, c.hasATH = bytes.Equal(s, ath), true
		case "nonce":
			s, err = r.str()
			c.nonce = string(s)
		case "iat":
			if r.dec.PeekKind() != '0' {
				return errSyntax
			}
			var tok jsontext.Token
			if tok, err = r.dec.ReadToken(); err == nil {
				c.iat, err = tok.Float()
			}
			c.hasIAT = true
		default:
			err = r.dec.SkipValue()
		}
		return err
	})
	return c, err
}

package middleware

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"math"
	"sync"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"
)

// The JOSE header and the claims are read with a jsontext tokenizer rather
// than encoding/json: member names match exactly (encoding/json folds case),
// a duplicated member name fails the whole document (encoding/json keeps the
// last), invalid UTF-8 is rejected, and only the members we use are copied.

var b64 = base64.RawURLEncoding.Strict()

var errSyntax = errors.New("invalid JSON")

// parser holds per-call buffers; pooled. src is a string copy of the JSON
// document being read, made once, so that string members without escapes are
// substrings of it instead of one allocation each.
type parser struct {
	buf  []byte
	bb   bytes.Buffer
	dec  jsontext.Decoder
	name []byte
	src  string
}

var parsers = sync.Pool{New: func() any { return new(parser) }}

// decode base64url-decodes seg (strict: no padding, no other alphabet) into
// the parser's buffer and points the tokenizer at it.
func (p *parser) decode(seg string) ([]byte, error) {
	n := b64.DecodedLen(len(seg))
	if cap(p.buf) < n {
		p.buf = make([]byte, n)
	}
	n, err := b64.Decode(p.buf[:n], unsafe.Slice(unsafe.StringData(seg), len(seg))) // read-only view, no copy
	if err != nil {
		return nil, err
	}
	return p.buf[:n], nil
}

func (p *parser) start(doc []byte) error {
	p.src = string(doc)
	p.bb = *bytes.NewBuffer(doc)
	p.dec.Reset(&p.bb)
	if tok, err := p.dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return errSyntax
	}
	return nil
}

// next returns the next member name, or nil at the end of the object, which
// must also be the end of the document.
func (p *parser) next() ([]byte, error) {
	if p.dec.PeekKind() == '}' {
		if _, err := p.dec.ReadToken(); err != nil {
			return nil, errSyntax
		}
		if _, err := p.dec.ReadToken(); err != io.EOF {
			return nil, errSyntax
		}
		return nil, nil
	}
	v, err := p.dec.ReadValue()
	if err != nil || v.Kind() != '"' {
		return nil, errSyntax
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], nil
	}
	p.name, err = jsontext.AppendUnquote(p.name[:0], v)
	if err != nil {
		return nil, errSyntax
	}
	return p.name, nil
}

// str reads a string member value.
func (p *parser) str() (string, error) {
	v, err := p.dec.ReadValue()
	if err != nil || v.Kind() != '"' {
		return "", errSyntax
	}
	if bytes.IndexByte(v, '\\') < 0 {
		if end := int(p.dec.InputOffset()) - 1; end <= len(p.src) && end-len(v)+2 >= 0 {
			return p.src[end-len(v)+2 : end], nil
		}
		return string(v[1 : len(v)-1]), nil
	}
	s, err := jsontext.AppendUnquote(nil, v)
	if err != nil {
		return "", errSyntax
	}
	return string(s), nil
}

// strs reads a string or an array of strings.
func (p *parser) strs(dst []string) ([]string, bool, error) {
	switch p.dec.PeekKind() {
	case '"':
		s, err := p.str()
		return append(dst, s), false, err
	case '[':
		if _, err := p.dec.ReadToken(); err != nil {
			return nil, true, errSyntax
		}
		for p.dec.PeekKind() != ']' {
			s, err := p.str()
			if err != nil {
				return nil, true, err
			}
			dst = append(dst, s)
		}
		if _, err := p.dec.ReadToken(); err != nil {
			return nil, true, errSyntax
		}
		return dst, true, nil
	}
	return nil, false, errSyntax
}

// maxNumericDate is 9999-12-31T23:59:59Z; larger dates are treated as malformed.
const maxNumericDate = 253402300799

// numericDate reads an RFC 7519 NumericDate: a JSON number of seconds, which
// may have a fraction. Negative, huge and non-number values are errors.
func (p *parser) numericDate() (float64, error) {
	if p.dec.PeekKind() != '0' {
		_ = p.dec.SkipValue()
		return 0, errSyntax
	}
	tok, err := p.dec.ReadToken()
	if err != nil {
		return 0, errSyntax
	}
	f, err := tok.Float()
	if err != nil || f < 0 || f > maxNumericDate || math.IsNaN(f) {
		return 0, errSyntax
	}
	return f, nil
}

// header is the JOSE header of a JWS (RFC 7515 §4).
type header struct {
	alg, kid, typ string
	crit          bool // crit present: we understand no extension
	b64False      bool // RFC 7797 unencoded payload
	jwe           bool // enc present: a JWE, not a JWS
}

// members calls f with the name of each member of the JSON object that is
// the whole of doc; f reads the member's value. Any error is errSyntax.
func (p *parser) members(doc []byte, f func(name []byte) error) error {
	if err := p.start(doc); err != nil {
		return err
	}
	for {
		name, err := p.next()
		if err != nil {
			return err
		}
		if name == nil {
			return nil
		}
		if f(name) != nil {
			return errSyntax
		}
	}
}

func (p *parser) header(doc []byte, h *header) error {
	return p.members(doc, func(name []byte) (err error) {
		switch string(name) {
		case "alg":
			h.alg, err = p.str()
		case "kid":
			h.kid, err = p.str()
		case "typ":
			h.typ, err = p.str()
		case "crit":
			h.crit = true
			err = p.dec.SkipValue()
		case "b64":
			var tok jsontext.Token
			tok, err = p.dec.ReadToken()
			if err == nil && (tok.Kind() != 't' && tok.Kind() != 'f') {
				err = errSyntax
			}
			h.b64False = err == nil && tok.Kind() == 'f'
		case "enc", "zip":
			h.jwe = true
			err = p.dec.SkipValue()
		default:
			// jku, x5u, jwk, x5c and every other member are ignored: keys come
			// only from the key set.
			err = p.dec.SkipValue()
		}
		return err
	})
}

// payload is what the validator reads from the claims set, or from an
// introspection response (RFC 7662 §2.2), which adds active and token_type.
type payload struct {
	iss, sub, jti, sid, clientID, azp, org string
	aud                                    []string
	exp, nbf, iat                          float64
	hasExp, hasNbf, hasIat, hasOrg         bool
	hasAud, hasIss                         bool
	scope                                  string
	scp, permissions                       []string
	hasScope                               bool
	cnf, cnfOther                          bool
	cnfJKT, cnfX5T                         string
	active, hasActive                      bool
	tokenType, tokenUse                    string
	hasTokenType, hasTokenUse              bool
}

// claimsOptions say how to read a claims set: orgClaim names the
// organization member, permissions says whether to read an Auth0-style
// permissions array, and introspection whether the document is an
// introspection response (active must then be a boolean).
type claimsOptions struct {
	orgClaim      string
	permissions   bool
	introspection bool
}

// claims reads the claims set.
func (p *parser) claims(doc []byte, c *payload, o claimsOptions) error {
	orgClaim, permissions := o.orgClaim, o.permissions
	return p.members(doc, func(name []byte) (err error) {
		if o.introspection {
			switch string(name) {
			case "active":
				var tok jsontext.Token
				if tok, err = p.dec.ReadToken(); err == nil && tok.Kind() != 't' && tok.Kind() != 'f' {
					err = errSyntax
				}
				c.active, c.hasActive = err == nil && tok.Kind() == 't', true
				return err
			case "token_type":
				c.tokenType, err = p.str()
				c.hasTokenType = true
				return err
			case "token_use": // Ory Hydra: access_token or refresh_token
				c.tokenUse, err = p.str()
				c.hasTokenUse = true
				return err
			}
		}
		switch string(name) {
		case "iss":
			c.iss, err = p.str()
			c.hasIss = true
		case "sub":
			c.sub, err = p.str()
		case "aud":
			c.aud, _, err = p.strs(c.aud[:0])
			c.hasAud = true
		case "exp":
			c.exp, err = p.numericDate()
			c.hasExp = true
		case "nbf":
			c.nbf, err = p.numericDate()
			c.hasNbf = true
		case "iat":
			c.iat, err = p.numericDate()
			c.hasIat = true
		case "jti":
			c.jti, err = p.str()
		case "sid":
			c.sid, err = p.str()
		case "client_id":
			c.clientID, err = p.str()
		case "azp":
			c.azp, err = p.str()
		case "scope":
			c.scope, err = p.str()
			c.hasScope = true
		case "scp":
			c.scp, _, err = p.strs(c.scp[:0])
		case "cnf":
			c.cnf = true
			err = p.confirmation(c)
		case orgClaim:
			c.org, err = p.str()
			c.hasOrg = true
		case "permissions":
			if !permissions {
				err = p.dec.SkipValue()
				break
			}
			var arr bool
			c.permissions, arr, err = p.strs(c.permissions[:0])
			if err == nil && !arr {
				err = errSyntax
			}
		default:
			err = p.dec.SkipValue()
		}
		return err
	})
}

// confirmation reads a cnf object (RFC 7800): jkt (RFC 9449) and x5t#S256
// (RFC 8705) are read; any other member is a binding this package cannot
// check, so the token is refused.
func (p *parser) confirmation(c *payload) error {
	if p.dec.PeekKind() != '{' {
		// Not an object (null, a string...): still a claim of binding, which
		// cannot be checked.
		c.cnfOther = true
		return p.dec.SkipValue()
	}
	if _, err := p.dec.ReadToken(); err != nil {
		return errSyntax
	}
	for p.dec.PeekKind() != '}' {
		v, err := p.dec.ReadValue()
		if err != nil || v.Kind() != '"' {
			return errSyntax
		}
		switch string(v) {
		case `"jkt"`:
			c.cnfJKT, err = p.str()
		case `"x5t#S256"`:
			c.cnfX5T, err = p.str()
		default:
			c.cnfOther = true
			err = p.dec.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	_, err := p.dec.ReadToken()
	return err
}

package middleware

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// Longest values of a rejection record's token fields: a kid is cut to a
// prefix that tells keys apart without naming one, the issuer and client to
// what any real one fits in.
const (
	logKIDChars   = 8
	logValueChars = 80
)

// LogRejection writes one record of a rejected request to l at level:
// the reason ([Reason]), status and description, the route, and what the
// token says of where it comes from: issuer, kid (its first 8 characters)
// and client id. For a token that was accepted and then refused by a rule
// those come from its verified claims (verified=true); otherwise they are
// read, unverified, from the token (verified=false), cut to 80 characters,
// and omitted when it cannot be read. Never the token, its signature or any
// other claim. authorization is the request's Authorization values; c the
// request's claims or nil. The adapters call it when a rejection log is
// configured (Options.RejectionLog).
func LogRejection(ctx context.Context, l *slog.Logger, level slog.Level, route string, authorization []string, c *Claims, err error) {
	if l == nil || !l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs, slog.String("reason", Reason(err)), slog.String("route", route))
	var e *Error
	if errors.As(err, &e) {
		attrs = append(attrs, slog.Int("status", e.Status), slog.String("description", e.Description))
	}
	var iss, kid, client string
	verified := c != nil
	if verified {
		iss, kid, client = c.Issuer, c.KeyID, c.ClientID
	} else if len(authorization) == 1 {
		_, tok, _ := strings.Cut(strings.TrimSpace(authorization[0]), " ")
		iss, kid, client = hints(strings.TrimSpace(tok))
	}
	attrs = append(attrs, slog.Bool("verified", verified))
	for _, f := range []struct {
		name, v string
		n       int
	}{{"issuer", iss, logValueChars}, {"kid", kid, logKIDChars}, {"client_id", client, logValueChars}} {
		if f.v != "" {
			attrs = append(attrs, slog.String(f.name, cut(f.v, f.n)))
		}
	}
	l.LogAttrs(ctx, level, "oauthguard: request rejected", attrs...)
}

// cut returns s's first n runes, with "…" when it was longer; invalid UTF-8
// is replaced so a record stays valid text.
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for range n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + "…"
}

// hints reads, without verifying anything, the iss, kid and client_id (or
// azp) of a JWS for a rejection record. Anything unreadable is "". Tokens
// over the largest accepted size are not read.
func hints(raw string) (iss, kid, client string) {
	if len(raw) > MaxTokenBytesLimit {
		return "", "", ""
	}
	h1, h2, ok := split(raw)
	if !ok {
		return "", "", ""
	}
	p := parsers.Get().(*parser)
	defer parsers.Put(p)
	var h header
	if doc, err := p.decode(raw[:h1]); err == nil && p.header(doc, &h) == nil {
		kid = h.kid
	}
	doc, err := p.decode(raw[h1+1 : h2])
	if err != nil {
		return "", kid, ""
	}
	var azp string
	_ = p.members(doc, func(name []byte) (err error) {
		switch string(name) {
		case "iss":
			iss, err = p.str()
		case "client_id":
			client, err = p.str()
		case "azp":
			azp, err = p.str()
		default:
			err = p.dec.SkipValue()
		}
		return err
	})
	if client == "" {
		client = azp
	}
	return iss, kid, client
}

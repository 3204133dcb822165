package middleware_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/clientcasa/oauthguard/middleware"
)

// record logs one rejection of a request with authorization and returns
// the record's attributes.
func record(t testing.TB, authorization []string, c *middleware.Claims, err error) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	middleware.LogRejection(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)), slog.LevelInfo,
		"GET /api/v1/me", authorization, c, err)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("record %q: %v", buf.String(), err)
	}
	return m
}

func segment(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestLogRejection: what a record holds for a verified token refused by a
// rule, an unverified one, garbage and nothing; never the token.
func TestLogRejection(t *testing.T) {
	long := strings.Repeat("é", 200)
	tok := segment(`{"alg":"EdDSA","kid":"0123456789abcdef"}`) + "." +
		segment(`{"iss":"https://as.example","azp":"app-7","sub":"user_secret","scope":"x"}`) + ".c2lnbmF0dXJlLXNlY3JldA"
	for _, c := range []struct {
		name   string
		auth   []string
		claims *middleware.Claims
		err    error
		want   map[string]any
		absent []string
	}{
		{"rule_refusal_uses_verified_claims", []string{"Bearer " + tok},
			&middleware.Claims{Issuer: "https://verified.example", KeyID: "k1", ClientID: "cli"},
			middleware.InsufficientScope("read:clients"),
			map[string]any{"reason": "insufficient_scope", "status": float64(403), "verified": true,
				"issuer": "https://verified.example", "kid": "k1", "client_id": "cli", "route": "GET /api/v1/me"}, nil},
		{"unverified_token_read_and_cut", []string{"Bearer " + tok}, nil, middleware.NoCredentials(),
			map[string]any{"verified": false, "issuer": "https://as.example", "kid": "01234567…", "client_id": "app-7"}, nil},
		{"long_issuer_cut_to_80_runes", []string{"Bearer " + segment(`{"alg":"ES256"}`) + "." + segment(`{"iss":"`+long+`"}`) + ".x"},
			nil, middleware.NoCredentials(), map[string]any{"issuer": strings.Repeat("é", 80) + "…"}, []string{"kid"}},
		{"garbage_token", []string{"Bearer %%%.\x00.zz"}, nil, middleware.NoCredentials(),
			map[string]any{"reason": "no_credentials"}, []string{"issuer", "kid", "client_id"}},
		{"two_headers_not_read", []string{"Bearer " + tok, "Bearer " + tok}, nil, middleware.NoCredentials(),
			map[string]any{"verified": false}, []string{"issuer", "kid", "client_id"}},
		{"no_header", nil, nil, middleware.NoCredentials(), map[string]any{"reason": "no_credentials"}, []string{"issuer"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := record(t, c.auth, c.claims, c.err)
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
			for _, k := range c.absent {
				if _, ok := got[k]; ok {
					t.Errorf("%s present: %v", k, got[k])
				}
			}
			raw, _ := json.Marshal(got)
			for _, secret := range []string{"user_secret", "c2lnbmF0dXJlLXNlY3JldA", tok} {
				if strings.Contains(string(raw), secret) {
					t.Errorf("the record holds %q", secret)
				}
			}
		})
	}
}

// FuzzRejectionLog: any Authorization value makes a valid record, with
// values no longer than their bounds, and never a panic.
func FuzzRejectionLog(f *testing.F) {
	f.Add("Bearer " + segment(`{"alg":"EdDSA","kid":"k"}`) + "." + segment(`{"iss":"i","client_id":"c"}`) + ".s")
	f.Add("Bearer a.b.c")
	f.Add("DPoP " + segment(`{"kid":"\ud800"}`) + "." + segment(`{"iss":["x"]}`) + ".")
	f.Fuzz(func(t *testing.T, auth string) {
		got := record(t, []string{auth}, nil, middleware.NoCredentials())
		for k, n := range map[string]int{"issuer": 81, "client_id": 81, "kid": 9} {
			if v, ok := got[k].(string); ok && utf8.RuneCountInString(v) > n {
				t.Fatalf("%s has %d runes", k, utf8.RuneCountInString(v))
			}
		}
	})
}

package dpop_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/dpop"
	"github.com/clientcasa/oauthguard/keyset"
)

const (
	apiURL = "https://api.example.test/api/v1/me"
	token  = "eyJhbGciOiJFUzI1NiJ9.eyJjbmYiOnt9fQ.c2ln" // opaque to the verifier: only its hash counts
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func newKey(t testing.TB, alg string) *authtest.DPoPKey {
	t.Helper()
	k, err := authtest.NewDPoPKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newVerifier(t testing.TB, cfg dpop.Config) *dpop.Verifier {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	v, err := dpop.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func proof(t testing.TB, k *authtest.DPoPKey, p authtest.DPoPProof) string {
	t.Helper()
	if p.Method == "" {
		p.Method = "GET"
	}
	if p.URL == "" {
		p.URL = apiURL
	}
	if p.AccessToken == "" {
		p.AccessToken = token
	}
	if p.IssuedAt.IsZero() {
		p.IssuedAt = now
	}
	s, err := k.ProofWith(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// Every rule of RFC 9449 §4.3, named after it.
func TestVerifyRules(t *testing.T) {
	k := newKey(t, "ES256")
	other := newKey(t, "ES256")
	rsaKey := newKey(t, "PS256")
	req := dpop.Request{Method: "GET", URL: apiURL, AccessToken: token, Thumbprint: k.Thumbprint()}
	good := proof(t, k, authtest.DPoPProof{})
	h, c, _ := strings.Cut(good, ".")
	_ = c
	for _, tc := range []struct {
		name  string
		proof string
		req   *dpop.Request // nil: req
		want  string        // substring of the reason; "" accepted
	}{
		{"valid_proof_accepted", good, nil, ""},
		{"not_a_jws", "abc", nil, "not a compact JWS"},
		{"five_parts_jwe", good + ".a.b", nil, "not a compact JWS"},
		{"too_large", proof(t, k, authtest.DPoPProof{Claims: map[string]any{"x": strings.Repeat("a", 9000)}}), nil, "too large"},
		{"typ_jwt_refused", proof(t, k, authtest.DPoPProof{Header: map[string]any{"typ": "JWT"}}), nil, "typ is not dpop+jwt"},
		{"typ_missing_refused", proof(t, k, authtest.DPoPProof{Header: map[string]any{"typ": nil}}), nil, "typ is not dpop+jwt"},
		{"typ_case_insensitive", proof(t, k, authtest.DPoPProof{Header: map[string]any{"typ": "DPoP+JWT"}}), nil, ""},
		{"alg_none_refused", enc(`{"typ":"dpop+jwt","alg":"none"}`) + good[len(h):], nil, "alg is not accepted"},
		{"alg_hs256_refused", proof(t, k, authtest.DPoPProof{Header: map[string]any{"alg": "HS256"}}), nil, "alg is not accepted"},
		{"alg_of_other_key_type_refused", proof(t, k, authtest.DPoPProof{Header: map[string]any{"alg": "PS256"}}), nil, "alg does not suit its key"},
		{"jwk_missing_refused", proof(t, k, authtest.DPoPProof{Header: map[string]any{"jwk": nil}}), nil, "has no jwk"},
		{"jwk_with_private_member_refused", proof(t, k, authtest.DPoPProof{Header: map[string]any{"jwk": withMember(k.JWK(), "d", "AAAA")}}), nil, "holds a private key"},
		{"jwk_symmetric_refused", proof(t, k, authtest.DPoPProof{Header: map[string]any{"jwk": map[string]any{"kty": "oct", "k": "c2VjcmV0"}}}), nil, "holds a private key"},
		{"jwk_unknown_kty_refused", proof(t, k, authtest.DPoPProof{Header: map[string]any{"jwk": map[string]any{"kty": "XYZ"}}}), nil, "unsupported key type"},
		{"jwk_small_order_ed25519_refused", proof(t, k, authtest.DPoPProof{Header: map[string]any{"jwk": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}}), nil, "small-order"},
		{"jwk_duplicate_member_refused", enc(`{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","kty":"RSA"}}`) + good[len(h):], nil, "not a JSON object of unique members"},
		{"jwk_off_curve_refused", proof(t, k, authtest.DPoPProof{Header: map[string]any{"jwk": withMember(k.JWK(), "y", enc(strings.Repeat("A", 32)))}}), nil, "not a point on its curve"},
		{"jwk_of_another_key_bad_signature", proof(t, k, authtest.DPoPProof{Header: map[string]any{"jwk": other.JWK()}}), nil, "signature is invalid"},
		{"jwk_rsa_short_refused", proof(t, rsaKey, authtest.DPoPProof{Header: map[string]any{"jwk": withMember(rsaKey.JWK(), "n", enc(strings.Repeat("\xff", 128)))}}), &dpop.Request{Method: "GET", URL: apiURL, AccessToken: token, Thumbprint: rsaKey.Thumbprint()}, "shorter than 2048 bits"},
		{"crit_refused", proof(t, k, authtest.DPoPProof{Header: map[string]any{"crit": []string{"exp"}}}), nil, "unsupported header parameters"},
		{"signature_tampered", good[:len(good)-4] + "AAAA", nil, "signature is invalid"},
		{"jti_missing_refused", proof(t, k, authtest.DPoPProof{Claims: map[string]any{"jti": nil}}), nil, "no valid jti"},
		{"jti_empty_refused", proof(t, k, authtest.DPoPProof{Claims: map[string]any{"jti": ""}}), nil, "no valid jti"},
		{"jti_huge_refused", proof(t, k, authtest.DPoPProof{ID: strings.Repeat("j", 300)}), nil, "no valid jti"},
		{"htm_missing_refused", proof(t, k, authtest.DPoPProof{Claims: map[string]any{"htm": nil}}), nil, "lacks htm or htu"},
		{"iat_missing_refused", proof(t, k, authtest.DPoPProof{Claims: map[string]any{"iat": nil}}), nil, "no valid iat"},
		{"iat_string_refused", proof(t, k, authtest.DPoPProof{Claims: map[string]any{"iat": "now"}}), nil, "of the right types"},
		{"htm_other_method_refused", proof(t, k, authtest.DPoPProof{Method: "POST"}), nil, "htm does not match"},
		{"htm_lowercase_refused", proof(t, k, authtest.DPoPProof{Method: "get"}), nil, "htm does not match"},
		{"htu_other_path_refused", proof(t, k, authtest.DPoPProof{URL: "https://api.example.test/api/v1/clients"}), nil, "htu does not match"},
		{"htu_other_host_refused", proof(t, k, authtest.DPoPProof{URL: "https://evil.example.test/api/v1/me"}), nil, "htu does not match"},
		{"htu_http_refused", proof(t, k, authtest.DPoPProof{URL: "http://api.example.test/api/v1/me"}), nil, "htu does not match"},
		{"htu_query_ignored", proof(t, k, authtest.DPoPProof{URL: apiURL + "?a=b#f"}), nil, ""},
		{"htu_case_and_default_port_normalized", proof(t, k, authtest.DPoPProof{URL: "HTTPS://API.Example.TEST:443/api/v1/me"}), nil, ""},
		{"htu_percent_encoding_normalized", proof(t, k, authtest.DPoPProof{URL: "https://api.example.test/api/v1/%6De"}), nil, ""},
		{"htu_dot_segments_normalized", proof(t, k, authtest.DPoPProof{URL: "https://api.example.test/api/x/../v1/./me"}), nil, ""},
		{"htu_encoded_slash_refused", proof(t, k, authtest.DPoPProof{URL: "https://api.example.test/api%2Fv1/me"}), nil, "htu does not match"},
		{"htu_path_case_refused", proof(t, k, authtest.DPoPProof{URL: "https://api.example.test/API/v1/me"}), nil, "htu does not match"},
		{"htu_trailing_dot_host_refused", proof(t, k, authtest.DPoPProof{URL: "https://api.example.test./api/v1/me"}), nil, "htu does not match"},
		{"htu_other_port_refused", proof(t, k, authtest.DPoPProof{URL: "https://api.example.test:8443/api/v1/me"}), nil, "htu does not match"},
		{"htu_userinfo_refused", proof(t, k, authtest.DPoPProof{URL: "https://user@api.example.test/api/v1/me"}), nil, "not an absolute http(s) URL"},
		{"htu_relative_refused", proof(t, k, authtest.DPoPProof{URL: "/api/v1/me"}), nil, "not an absolute http(s) URL"},
		{"iat_too_old_refused", proof(t, k, authtest.DPoPProof{IssuedAt: now.Add(-61 * time.Second)}), nil, "too old"},
		{"iat_within_max_age_accepted", proof(t, k, authtest.DPoPProof{IssuedAt: now.Add(-59 * time.Second)}), nil, ""},
		{"iat_future_refused", proof(t, k, authtest.DPoPProof{IssuedAt: now.Add(10 * time.Second)}), nil, "issued in the future"},
		{"iat_slightly_ahead_accepted", proof(t, k, authtest.DPoPProof{IssuedAt: now.Add(4 * time.Second)}), nil, ""},
		{"ath_missing_refused", proof(t, k, authtest.DPoPProof{Claims: map[string]any{"ath": nil}}), nil, "ath does not match"},
		{"ath_of_other_token_refused", proof(t, k, authtest.DPoPProof{AccessToken: "another-token"}), nil, "ath does not match"},
		{"key_not_bound_to_token_refused", proof(t, other, authtest.DPoPProof{}), nil, "not the one the access token is bound to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(t, dpop.Config{})
			r := req
			if tc.req != nil {
				r = *tc.req
			}
			_, err := v.Verify(context.Background(), tc.proof, r)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var pe *dpop.ProofError
			if !errors.As(err, &pe) || !errors.Is(err, dpop.ErrInvalidProof) || !strings.Contains(pe.Reason, tc.want) {
				t.Fatalf("err = %v, want a ProofError about %q", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.proof) || strings.Contains(err.Error(), k.Thumbprint()) {
				t.Fatalf("the error repeats the proof or the key: %v", err)
			}
		})
	}
}

func withMember(m map[string]any, name string, v any) map[string]any {
	m[name] = v
	return m
}

func TestEveryAlgorithm(t *testing.T) {
	for _, alg := range keyset.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			k := newKey(t, alg)
			v := newVerifier(t, dpop.Config{})
			_, err := v.Verify(context.Background(), proof(t, k, authtest.DPoPProof{}),
				dpop.Request{Method: "GET", URL: apiURL, AccessToken: token, Thumbprint: k.Thumbprint()})
			if err != nil {
				t.Fatalf("%s proof: %v", alg, err)
			}
		})
	}
	t.Run("allowlist_restricts", func(t *testing.T) {
		k := newKey(t, "PS256")
		v := newVerifier(t, dpop.Config{Algorithms: []string{"ES256", "EdDSA"}})
		if _, err := v.Verify(context.Background(), proof(t, k, authtest.DPoPProof{}),
			dpop.Request{Method: "GET", URL: apiURL, AccessToken: token, Thumbprint: k.Thumbprint()}); !errors.Is(err, dpop.ErrInvalidProof) {
			t.Fatalf("PS256 outside the allowlist: %v", err)
		}
		if got := strings.Join(v.Algorithms(), " "); got != "ES256 EdDSA" {
			t.Fatalf("Algorithms() = %s", got)
		}
	})
}

// Of many concurrent uses of one proof, exactly one is accepted.
func TestReplayRefusedUnderConcurrency(t *testing.T) {
	k := newKey(t, "EdDSA")
	v := newVerifier(t, dpop.Config{})
	p := proof(t, k, authtest.DPoPProof{})
	req := dpop.Request{Method: "GET", URL: apiURL, AccessToken: token, Thumbprint: k.Thumbprint()}
	var ok, replayed atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), p, req)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, dpop.ErrReplayed) && errors.Is(err, dpop.ErrInvalidProof):
				replayed.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || replayed.Load() != 99 {
		t.Fatalf("%d accepted, %d replays; want 1 and 99", ok.Load(), replayed.Load())
	}
	// Another proof of the same key is fresh.
	if _, err := v.Verify(context.Background(), proof(t, k, authtest.DPoPProof{}), req); err != nil {
		t.Fatalf("a new proof: %v", err)
	}
	// An invalid proof does not use up its jti.
	bad := proof(t, k, authtest.DPoPProof{ID: "once", Method: "POST"})
	if _, err := v.Verify(context.Background(), bad, req); !errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), proof(t, k, authtest.DPoPProof{ID: "once"}), req); err != nil {
		t.Fatalf("the jti of a refused proof was remembered: %v", err)
	}
}

func TestMemoryStore(t *testing.T) {
	clk := authtest.NewClock(now)
	s := dpop.NewMemoryStore(16*4, clk.Now)
	ctx := context.Background()
	if fresh, err := s.CheckAndSet(ctx, "a", now.Add(time.Minute)); !fresh || err != nil {
		t.Fatalf("first: %v %v", fresh, err)
	}
	if fresh, _ := s.CheckAndSet(ctx, "a", now.Add(time.Minute)); fresh {
		t.Fatal("second use of a key reported fresh")
	}
	clk.Advance(2 * time.Minute)
	if fresh, _ := s.CheckAndSet(ctx, "a", now.Add(3*time.Minute)); !fresh {
		t.Fatal("an expired key is not forgotten")
	}
	// Full: refuse rather than forget an unexpired proof.
	full := dpop.NewMemoryStore(16, clk.Now)
	var fullErr error
	for i := 0; i < 10_000 && fullErr == nil; i++ {
		_, fullErr = full.CheckAndSet(ctx, "k"+string(rune(i)), clk.Now().Add(time.Hour))
	}
	if !errors.Is(fullErr, dpop.ErrStoreFull) || full.Len() > 16 {
		t.Fatalf("full store: %v with %d entries", fullErr, full.Len())
	}
	// Through the verifier, a full store is a 503, not an acceptance.
	k := newKey(t, "ES256")
	v := newVerifier(t, dpop.Config{Replay: full, Now: clk.Now})
	_, err := v.Verify(ctx, proof(t, k, authtest.DPoPProof{IssuedAt: clk.Now()}),
		dpop.Request{Method: "GET", URL: apiURL, AccessToken: token, Thumbprint: k.Thumbprint()})
	if !errors.Is(err, dpop.ErrReplayUnavailable) {
		t.Fatalf("verify with a full store: %v", err)
	}
}

func TestNonces(t *testing.T) {
	clk := authtest.NewClock(now)
	n, err := dpop.NewHMACNonces([]byte(strings.Repeat("s", 32)), time.Minute, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dpop.NewHMACNonces([]byte("short"), 0, nil); err == nil {
		t.Fatal("a short secret was accepted")
	}
	v := newVerifier(t, dpop.Config{Nonces: n, Now: clk.Now})
	k := newKey(t, "ES256")
	req := dpop.Request{Method: "GET", URL: apiURL, AccessToken: token, Thumbprint: k.Thumbprint()}
	_, err = v.Verify(context.Background(), proof(t, k, authtest.DPoPProof{IssuedAt: clk.Now()}), req)
	var ne *dpop.NonceError
	if !errors.As(err, &ne) || !errors.Is(err, dpop.ErrUseNonce) || !n.Valid(ne.Nonce) {
		t.Fatalf("without nonce: %v", err)
	}
	if _, err := v.Verify(context.Background(), proof(t, k, authtest.DPoPProof{IssuedAt: clk.Now(), Nonce: ne.Nonce}), req); err != nil {
		t.Fatalf("with the nonce: %v", err)
	}
	clk.Advance(61 * time.Second) // the next step: still valid
	if !n.Valid(ne.Nonce) {
		t.Fatal("a nonce of the previous step refused")
	}
	clk.Advance(time.Minute)
	if n.Valid(ne.Nonce) {
		t.Fatal("a nonce two steps old accepted")
	}
	other, _ := dpop.NewHMACNonces([]byte(strings.Repeat("t", 32)), time.Minute, clk.Now)
	if n.Valid(other.Nonce()) || n.Valid("garbage") {
		t.Fatal("a nonce of another secret accepted")
	}
}

func TestNormalizeURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://api.example.test/a/b", "https://api.example.test/a/b"},
		{"HTTPS://API.EXAMPLE.TEST/a", "https://api.example.test/a"},
		{"https://api.example.test:443/a", "https://api.example.test/a"},
		{"http://api.example.test:80/a", "http://api.example.test/a"},
		{"http://api.example.test:443/a", "http://api.example.test:443/a"},
		{"https://api.example.test", "https://api.example.test/"},
		{"https://api.example.test/a?q=1#f", "https://api.example.test/a"},
		{"https://api.example.test/%7euser/%2f%41", "https://api.example.test/~user/%2FA"},
		{"https://api.example.test/a/./b/../c", "https://api.example.test/a/c"},
		{"https://api.example.test/a/b/..", "https://api.example.test/a/"},
		{"https://[::1]:8443/a", "https://[::1]:8443/a"},
		{"https://api.example.test/a%20b", "https://api.example.test/a%20b"},
	} {
		if got, err := dpop.NormalizeURL(tc.in); err != nil || got != tc.want {
			t.Errorf("NormalizeURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"/a", "ftp://x.test/a", "https://user:pw@x.test/a", "https:///a", "mailto:a@b", "https://x.test/%zz", "https://x.test/%4"} {
		if got, err := dpop.NormalizeURL(bad); err == nil {
			t.Errorf("NormalizeURL(%q) = %q, want an error", bad, got)
		}
	}
}

// RFC 7638 §3.1's example key and thumbprint.
func TestThumbprintRFC7638(t *testing.T) {
	jwk := `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`
	got, err := dpop.Thumbprint([]byte(jwk))
	if err != nil || got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("Thumbprint = %q, %v", got, err)
	}
	// authtest's keys agree with it.
	k := newKey(t, "ES384")
	b, _ := jsonMarshal(k.JWK())
	if got, err := dpop.Thumbprint(b); err != nil || got != k.Thumbprint() {
		t.Fatalf("authtest thumbprint %q, dpop %q (%v)", k.Thumbprint(), got, err)
	}
	_ = sha256.New
}

func TestConfigRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  dpop.Config
		want string
	}{
		{"empty_algorithms", dpop.Config{Algorithms: []string{}}, "Algorithms is empty"},
		{"symmetric_algorithm", dpop.Config{Algorithms: []string{"HS256"}}, `"HS256" is not an accepted`},
		{"negative_max_age", dpop.Config{MaxAge: -1}, "MaxAge"},
		{"huge_max_age", dpop.Config{MaxAge: time.Hour}, "MaxAge"},
		{"negative_leeway", dpop.Config{Leeway: -1}, "Leeway"},
		{"leeway_above_max_age", dpop.Config{MaxAge: 10 * time.Second, Leeway: 20 * time.Second}, "exceeds MaxAge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if v, err := dpop.New(tc.cfg); v != nil || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error with %q", v, err, tc.want)
			}
		})
	}
}

// At a token endpoint there is no token yet: the proof must have no ath,
// any key is accepted, and Verify says which.
func TestTokenRequestProofs(t *testing.T) {
	const tokenURL = "https://as.example.test/token"
	k := newKey(t, "EdDSA")
	v := newVerifier(t, dpop.Config{})
	p, err := k.ProofWith(authtest.DPoPProof{Method: "POST", URL: tokenURL, IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := v.Verify(context.Background(), p, dpop.Request{Method: "POST", URL: tokenURL})
	if err != nil || jkt != k.Thumbprint() {
		t.Fatalf("Verify = %q, %v; want the key's thumbprint", jkt, err)
	}
	withATH, _ := k.ProofWith(authtest.DPoPProof{Method: "POST", URL: tokenURL, IssuedAt: now, AccessToken: "x"})
	if _, err := v.Verify(context.Background(), withATH, dpop.Request{Method: "POST", URL: tokenURL}); !errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("token request proof with ath: %v", err)
	}
}

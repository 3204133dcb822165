package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
)

var (
	fixtureOnce sync.Once
	fixtureVal  *Fixture
	fixtureErr  error
)

// sharedFixture builds the fixture once per test binary: RSA key generation
// is slow and -count=6 reruns every benchmark function.
func sharedFixture(tb testing.TB) *Fixture {
	tb.Helper()
	fixtureOnce.Do(func() { fixtureVal, fixtureErr = NewFixture() })
	if fixtureErr != nil {
		tb.Fatal(fixtureErr)
	}
	return fixtureVal
}

type impl struct {
	name string
	fn   ValidateFunc
}

// impls builds every implementation for tokens of alg (auth0 takes one alg
// per validator; the others are configured with the allow-list Algs).
func impls(tb testing.TB, f *Fixture, alg string) []impl {
	tb.Helper()
	ours, err := f.Ours(-1)
	if err != nil {
		tb.Fatal(err)
	}
	cached, err := f.Ours(0)
	if err != nil {
		tb.Fatal(err)
	}
	gj, err := f.GolangJWT()
	if err != nil {
		tb.Fatal(err)
	}
	a0, err := f.Auth0(alg)
	if err != nil {
		tb.Fatal(err)
	}
	jx, err := f.JWX()
	if err != nil {
		tb.Fatal(err)
	}
	return []impl{
		{"ours", OursFunc(ours)},
		{"ours_cache_hit", OursFunc(cached)},
		{"golangjwt_keyfunc", gj},
		{"auth0", a0},
		{"jwx", jx},
	}
}

func b64(v any) string {
	j, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(j)
}

// TestSameVerdicts is what makes the benchmarks comparable: every
// implementation accepts the benchmark tokens with the same result and
// rejects each token that breaks one of the shared checks.
func TestSameVerdicts(t *testing.T) {
	f := sharedFixture(t)
	now := time.Now()
	type mint struct {
		claims map[string]any
		header map[string]any
		kid    string
	}
	cases := []struct {
		name   string
		accept bool
		mint   mint
		// forge, when set, builds the token by hand from a good one.
		forge func(good string, alg string) string
	}{
		{name: "benchmark_token_accepted", accept: true},
		// aud may be an array; containing the audience is enough.
		{name: "aud_array_containing_accepted", accept: true,
			mint: mint{claims: map[string]any{"aud": []string{"https://other.example.test", Audience}}}},
		// exp is required: a token without one would never expire.
		{name: "exp_missing_rejected", mint: mint{claims: map[string]any{"exp": nil}}},
		{name: "exp_passed_rejected", mint: mint{claims: map[string]any{"exp": now.Add(-time.Hour).Unix()}}},
		{name: "iat_future_rejected", mint: mint{claims: map[string]any{"iat": now.Add(time.Hour).Unix()}}},
		{name: "nbf_future_rejected", mint: mint{claims: map[string]any{"nbf": now.Add(time.Hour).Unix()}}},
		// iss is compared exactly: a trailing slash is another issuer.
		{name: "iss_trailing_slash_rejected", mint: mint{claims: map[string]any{"iss": Issuer + "/"}}},
		{name: "aud_other_rejected", mint: mint{claims: map[string]any{"aud": "https://other.example.test"}}},
		{name: "org_missing_rejected", mint: mint{claims: map[string]any{"organizationId": nil}}},
		{name: "org_empty_rejected", mint: mint{claims: map[string]any{"organizationId": ""}}},
		{name: "org_number_rejected", mint: mint{claims: map[string]any{"organizationId": 42}}},
		// A tab is outside the RFC 6749 scope-token grammar.
		{name: "scope_tab_rejected", mint: mint{claims: map[string]any{"scope": "read\tclients"}}},
		{name: "scope_number_rejected", mint: mint{claims: map[string]any{"scope": 7}}},
		{name: "kid_unknown_rejected", mint: mint{kid: "kid_nobody_published"}},
		{name: "signature_flipped_rejected", forge: func(good, _ string) string {
			i := strings.LastIndexByte(good, '.')
			sig := []byte(good[i+1:])
			if sig[3] == 'A' {
				sig[3] = 'B'
			} else {
				sig[3] = 'A'
			}
			return good[:i+1] + string(sig)
		}},
		// alg none: no signature at all.
		{name: "alg_none_rejected", forge: func(good, _ string) string {
			parts := strings.Split(good, ".")
			return b64(map[string]any{"alg": "none", "typ": "at+jwt"}) + "." + parts[1] + "."
		}},
		// HS256 with the published kid: the algorithm-confusion shape.
		{name: "alg_hs256_rejected", forge: func(good, alg string) string {
			parts := strings.Split(good, ".")
			kids := f.Provider.KIDs(alg)
			return b64(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": kids[len(kids)-1]}) + "." + parts[1] + "." +
				base64.RawURLEncoding.EncodeToString(make([]byte, 32))
		}},
	}
	ctx := context.Background()
	for _, alg := range Algs {
		ims := impls(t, f, alg)
		for _, tc := range cases {
			t.Run(alg+"/"+tc.name, func(t *testing.T) {
				tok := f.Tokens[alg]
				if tc.mint.claims != nil || tc.mint.header != nil || tc.mint.kid != "" {
					var err error
					tok, err = f.Provider.Mint(authtest.Token{Alg: alg, KID: tc.mint.kid, Header: tc.mint.header,
						Claims: Claims(now, tc.mint.claims)})
					if err != nil {
						t.Fatal(err)
					}
				}
				if tc.forge != nil {
					tok = tc.forge(tok, alg)
				}
				for _, im := range ims {
					res, err := im.fn(ctx, tok)
					if !tc.accept {
						if err == nil {
							t.Errorf("%s accepted it", im.name)
						}
						continue
					}
					if err != nil {
						t.Errorf("%s rejected it: %v", im.name, err)
						continue
					}
					want := strings.Fields(Scope)
					if res.Subject != "user_9f8e7d6c5b4a" || res.OrganizationID != authtest.DefaultOrganization ||
						!slices.Equal([]string(res.Scopes), want) {
						t.Errorf("%s: got %+v", im.name, res)
					}
				}
			})
		}
	}
}

package httpauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/clientcasa/oauthguard/adapters/internal/adaptertest"
)

// BenchmarkGuard measures a request through Authenticate, RequireAll and
// RequireOrganization to the handler, and a rejection, on top of
// validation (the token cache of the Validator makes repeats cheap).
func BenchmarkGuard(b *testing.B) {
	f := adaptertest.New(b)
	h := adaptertest.HTTPRouter(b, f.Options(adaptertest.Main, nil))
	tok := f.Mint(b, "EdDSA", map[string]any{"scope": "read:clients"}, nil)
	for name, auth := range map[string]string{"accepted": "Bearer " + tok, "no_credentials": ""} {
		b.Run(name, func(b *testing.B) {
			r := httptest.NewRequest("GET", adaptertest.AcmeClients, nil)
			if auth != "" {
				r.Header.Set("Authorization", auth)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK && auth != "" {
					b.Fatal(w.Code)
				}
			}
		})
	}
}

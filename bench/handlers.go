package bench

import (
	"net/http"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/clientcasa/oauthguard/middleware"
)

// OKBody is the tiny JSON every protected handler answers with.
var OKBody = []byte(`{"ok":true}`)

// WriteOK writes the tiny JSON 200.
func WriteOK(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(OKBody)
}

// NoAuthHandler is the baseline: the tiny 200, no authentication.
func NoAuthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { WriteOK(w) })
}

// OursHandler is the handler behind our guard: it reads the subject from the
// claims httpauth put in the context, then writes the tiny 200.
func OursHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := middleware.FromContext(r.Context()); !ok || c.Subject == "" {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		WriteOK(w)
	})
}

// Auth0Handler is the handler behind auth0's CheckJWT: it reads the subject
// from the claims auth0 put in the context, then writes the tiny 200.
func Auth0Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := r.Context().Value(jwtmiddleware.ContextKey{}).(*validator.ValidatedClaims)
		if !ok || c.RegisteredClaims.Subject == "" {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		WriteOK(w)
	})
}

package httpauth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/clientcasa/oauthguard/adapters/httpauth"
	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/middleware"
)

func ExampleGuard() {
	// An in-memory authorization server; in production the key source is
	// jwks.New(jwks.Config{Issuer: "https://auth.example.com/api/auth"}).
	as, _ := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.com/api/auth", Algs: []string{"EdDSA"}})
	keys := as.KeySet()

	v, err := middleware.New(middleware.Config{
		Issuers:   []string{"https://auth.example.com/api/auth"},
		Audiences: []string{"https://api.example.test"},
		Keys:      keys,
	})
	if err != nil {
		panic(err)
	}
	guard, err := httpauth.New(httpauth.Options{Validator: v, Renderer: middleware.Renderer{Realm: "api"}})
	if err != nil {
		panic(err)
	}
	readClients, err := guard.RequireAll("read:clients")
	if err != nil {
		panic(err)
	}
	listClients := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := middleware.FromContext(r.Context())
		fmt.Fprintf(w, "clients of %s", claims.OrganizationID) // act on this organization only
	})
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/clients", guard.Authenticate(readClients(listClients)))
	mux.Handle("GET /api/v1/orgs/{orgId}/clients",
		guard.Authenticate(readClients(guard.RequireOrganization(httpauth.PathValue("orgId"))(listClients))))

	reader, _ := as.Mint(authtest.Token{Claims: map[string]any{"scope": "read:clients", "organizationId": "org_acme"}})
	noScope, _ := as.Mint(authtest.Token{})
	for _, req := range []struct{ path, token string }{
		{"/api/v1/clients", reader},
		{"/api/v1/orgs/org_globex/clients", reader},
		{"/api/v1/clients", noScope},
		{"/api/v1/clients", ""},
	} {
		r := httptest.NewRequest("GET", req.path, nil)
		if req.token != "" {
			r.Header.Set("Authorization", "Bearer "+req.token)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
		if c := w.Header().Get("WWW-Authenticate"); c != "" {
			fmt.Println("   ", c)
		}
	}
	// Output:
	// 200 clients of org_acme
	// 403 {"error":"forbidden","error_description":"the access token is for another organization"}
	// 403 {"error":"insufficient_scope","error_description":"the access token lacks the required scope","scope":"read:clients"}
	//     Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope", scope="read:clients"
	// 401 {"error":"unauthorized","error_description":"bearer token required"}
	//     Bearer realm="api"
}

// A browser front-end on the same site sends its token in a cookie: the
// validator reads it there (opt-in), cross-site unsafe requests are refused
// by the standard library's CrossOriginProtection, and CORS preflights pass
// the guard to the CORS handler behind it.
func ExampleGuard_cookie() {
	as, _ := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.com", Algs: []string{"EdDSA"}})
	v, err := middleware.New(middleware.Config{
		Issuers:      []string{"https://auth.example.com"},
		Audiences:    []string{"https://api.example.test"},
		Keys:         as.KeySet(),
		TokenSources: middleware.TokenSources{Cookie: "access_token"},
	})
	if err != nil {
		panic(err)
	}
	guard, _ := httpauth.New(httpauth.Options{Validator: v, PassPreflight: true})
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions { // the CORS handler's job
			w.WriteHeader(http.StatusNoContent)
			return
		}
		c, _ := middleware.FromContext(r.Context())
		fmt.Fprintln(w, "hello", c.Subject)
	})
	mux := http.NewServeMux()
	mux.Handle("/api/v1/me", guard.Authenticate(me))
	h := http.NewCrossOriginProtection().Handler(mux)

	tok, _ := as.Mint(authtest.Token{})
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	r.AddCookie(&http.Cookie{Name: "access_token", Value: tok})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Print(rec.Code, " ", rec.Body)

	r = httptest.NewRequest("OPTIONS", "/api/v1/me", nil)
	r.Header.Set("Access-Control-Request-Method", "GET")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code)

	r = httptest.NewRequest("POST", "/api/v1/me", nil) // a cross-site form post
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.AddCookie(&http.Cookie{Name: "access_token", Value: tok})
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code)
	// Output:
	// 200 hello user_123
	// 204
	// 403
}

package introspect_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/introspect"
	"github.com/clientcasa/oauthguard/jwks"
)

const (
	secretToken = "the-opaque-token-under-test-0123456789"
	clientID    = "api:server"   // needs form-encoding: ':'
	secret      = "s3cret &+ %=" // and these
)

// endpoint is an httptest introspection endpoint whose handler the test
// sets; it records the last request's form and headers.
type endpoint struct {
	*httptest.Server
	handler atomic.Pointer[http.HandlerFunc]
	form    atomic.Pointer[map[string][]string]
	authz   atomic.Pointer[string]
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f := map[string][]string(r.PostForm)
		e.form.Store(&f)
		a := r.Header.Get("Authorization")
		e.authz.Store(&a)
		if h := e.handler.Load(); h != nil {
			(*h)(w, r)
		}
	}))
	t.Cleanup(e.Close)
	e.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, `{"active":true}`)
	})
	return e
}

func (e *endpoint) set(h http.HandlerFunc) { e.handler.Store(&h) }

func newClient(t *testing.T, cfg introspect.Config) *introspect.Client {
	t.Helper()
	if cfg.ClientID == "" {
		cfg.ClientID, cfg.ClientSecret = clientID, secret
	}
	c, err := introspect.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientAuthentication(t *testing.T) {
	e := newEndpoint(t)
	t.Run("client_secret_basic_form_encoded", func(t *testing.T) {
		c := newClient(t, introspect.Config{Endpoint: e.URL})
		if _, err := c.Introspect(context.Background(), secretToken); err != nil {
			t.Fatal(err)
		}
		// RFC 6749 §2.3.1: application/x-www-form-urlencoded, then Basic.
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte("api%3Aserver:s3cret+%26%2B+%25%3D"))
		form := *e.form.Load()
		if *e.authz.Load() != want || form["client_secret"] != nil || form["client_id"] != nil {
			t.Fatalf("Authorization %q, form %v; want %q and no credentials in the form", *e.authz.Load(), form, want)
		}
		if form["token"][0] != secretToken || form["token_type_hint"][0] != "access_token" {
			t.Fatalf("form %v", form)
		}
	})
	t.Run("client_secret_post", func(t *testing.T) {
		c := newClient(t, introspect.Config{Endpoint: e.URL, AuthMethod: introspect.ClientSecretPost})
		if _, err := c.Introspect(context.Background(), secretToken); err != nil {
			t.Fatal(err)
		}
		form := *e.form.Load()
		if *e.authz.Load() != "" || form["client_id"][0] != clientID || form["client_secret"][0] != secret {
			t.Fatalf("Authorization %q, form %v", *e.authz.Load(), form)
		}
	})
	// The provider enforces the method a client was registered with.
	t.Run("authtest_enforces_the_registered_method", func(t *testing.T) {
		as, err := authtest.Start(authtest.Options{Client: authtest.Client{ID: clientID, Secret: secret, Method: "client_secret_post"}})
		if err != nil {
			t.Fatal(err)
		}
		defer as.Close()
		tok, _ := as.MintOpaque(authtest.Token{})
		basic := newClient(t, introspect.Config{Endpoint: as.IntrospectionURL()})
		if _, err := basic.Introspect(context.Background(), tok); err == nil || !strings.Contains(err.Error(), "status 401") {
			t.Fatalf("basic against a post client: %v, want 401", err)
		}
		post := newClient(t, introspect.Config{Endpoint: as.IntrospectionURL(), AuthMethod: introspect.ClientSecretPost})
		body, err := post.Introspect(context.Background(), tok)
		if err != nil || !strings.Contains(string(body), `"active":true`) {
			t.Fatalf("post: %s, %v", body, err)
		}
	})
}

// Every answer but a 200 with a JSON body within the cap is an error that
// names neither the token nor the secret.
func TestResponseBounds(t *testing.T) {
	e := newEndpoint(t)
	redirected := atomic.Bool{}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { redirected.Store(true) }))
	t.Cleanup(target.Close)
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"status_401_refused", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		}, "status 401"},
		{"status_500_refused", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }, "status 500"},
		{"html_refused", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, `{"active":true}`)
		}, "Content-Type"},
		{"no_content_type_refused", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil
			_, _ = w.Write([]byte{0x7b, 0x7d})
		}, "Content-Type"},
		{"huge_body_refused", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"active":true,"x":"`+strings.Repeat("a", 70<<10)+`"}`)
		}, "larger than 65536 bytes"},
		{"slow_body_times_out", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"active":`)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, "deadline exceeded"},
		{"redirect_not_followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
		}, "status 307"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.set(tc.handler)
			c := newClient(t, introspect.Config{Endpoint: e.URL, Timeout: 300 * time.Millisecond})
			start := time.Now()
			body, err := c.Introspect(context.Background(), secretToken)
			if err == nil || body != nil || !errors.Is(err, introspect.ErrUnavailable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %q, %v; want ErrUnavailable with %q", body, err, tc.want)
			}
			if strings.Contains(err.Error(), secretToken) || strings.Contains(err.Error(), secret) {
				t.Fatalf("the error shows the token or the secret: %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
	if redirected.Load() {
		t.Fatal("the redirect was followed: the credentials reached another server")
	}
}

func TestConfigRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  introspect.Config
		want string
	}{
		{"credentials_required", introspect.Config{Endpoint: "https://as.test/introspect"}, "ClientID and Config.ClientSecret are required"},
		{"endpoint_or_discovery_required", introspect.Config{ClientID: "a", ClientSecret: "b"}, "Config.Endpoint or Config.Discovery is required"},
		{"http_endpoint_refused", introspect.Config{ClientID: "a", ClientSecret: "b", Endpoint: "http://as.example.com/introspect"}, "https"},
		{"unknown_method_refused", introspect.Config{ClientID: "a", ClientSecret: "b", Endpoint: "https://as.test/i", AuthMethod: "private_key_jwt"}, "private_key_jwt"},
		{"negative_timeout_refused", introspect.Config{ClientID: "a", ClientSecret: "b", Endpoint: "https://as.test/i", Timeout: -1}, "Timeout"},
		{"huge_cap_refused", introspect.Config{ClientID: "a", ClientSecret: "b", Endpoint: "https://as.test/i", MaxBodyBytes: 1 << 30}, "MaxBodyBytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := introspect.New(tc.cfg)
			if c != nil || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error with %q", c, err, tc.want)
			}
		})
	}
	if _, err := introspect.New(introspect.Config{ClientID: "a", ClientSecret: "b", Endpoint: "http://127.0.0.1:9/introspect"}); err != nil {
		t.Fatalf("loopback http refused: %v", err)
	}
}

// The endpoint comes from the metadata the key source already discovers.
func TestEndpointFromDiscovery(t *testing.T) {
	as, err := authtest.Start(authtest.Options{IssuerPath: "/api/auth",
		Client: authtest.Client{ID: clientID, Secret: secret, Method: "client_secret_basic"}})
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	keys, err := jwks.New(jwks.Config{Issuer: as.Issuer(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	c := newClient(t, introspect.Config{Discovery: keys})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if got, err := c.Endpoint(ctx); err != nil || got != as.IntrospectionURL() {
		t.Fatalf("Endpoint() = %q, %v; want %q", got, err, as.IntrospectionURL())
	}
	tok, _ := as.MintOpaque(authtest.Token{})
	if body, err := c.Introspect(ctx, tok); err != nil || !strings.Contains(string(body), `"active":true`) {
		t.Fatalf("Introspect: %s, %v", body, err)
	}
	// With the JWKS URL configured the key source needs no discovery; the
	// metadata is then discovered on demand, once.
	direct, err := jwks.New(jwks.Config{Issuer: as.Issuer(), JWKSURL: as.JWKSURL(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	if got, err := direct.IntrospectionEndpoint(ctx); err != nil || got != as.IntrospectionURL() {
		t.Fatalf("on-demand discovery: %q, %v", got, err)
	}
	// No issuer, nothing to discover: the error says so, as ErrUnavailable.
	noIssuer, err := jwks.New(jwks.Config{JWKSURL: as.JWKSURL(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer noIssuer.Close()
	if _, err := newClient(t, introspect.Config{Discovery: noIssuer}).Introspect(ctx, tok); !errors.Is(err, introspect.ErrUnavailable) ||
		!strings.Contains(err.Error(), "no Config.Issuer") {
		t.Fatalf("without issuer: %v", err)
	}
}

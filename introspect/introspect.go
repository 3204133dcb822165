package introspect

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/clientcasa/oauthguard/internal/fetch"
)

// Defaults used when the matching Config field is zero.
const (
	DefaultTimeout      = 2 * time.Second
	DefaultMaxBodyBytes = 64 << 10
)

// MaxBodyBytesLimit is the largest accepted Config.MaxBodyBytes.
const MaxBodyBytesLimit = 1 << 20

// AuthMethod is how the client authenticates to the introspection endpoint
// (RFC 7591 token_endpoint_auth_method values).
type AuthMethod string

// Op is the operation Config.Observe is called with.
const Op = "introspection"

// The supported client authentication methods.
const (
	// ClientSecretBasic sends the id and secret in an HTTP Basic
	// Authorization header, each form-encoded first (RFC 6749 §2.3.1).
	ClientSecretBasic AuthMethod = "client_secret_basic"
	// ClientSecretPost sends them as client_id and client_secret form
	// parameters.
	ClientSecretPost AuthMethod = "client_secret_post"
)

// Discovery supplies the introspection endpoint from the authorization
// server's metadata; *jwks.Source implements it with the metadata it
// discovers for its keys.
type Discovery interface {
	IntrospectionEndpoint(ctx context.Context) (string, error)
}

// Config configures a [Client]. ClientID, ClientSecret and one of Endpoint
// and Discovery are required.
type Config struct {
	// Endpoint is the introspection endpoint URL.
	Endpoint string
	// Discovery supplies the endpoint when Endpoint is empty, usually the
	// *jwks.Source of the same issuer.
	Discovery Discovery
	// ClientID and ClientSecret authenticate this resource server. Some
	// providers only answer for tokens issued to the introspecting client or
	// to a resource it is linked to (Better Auth); see the README.
	ClientID     string
	ClientSecret string
	// AuthMethod is how they are sent. Zero: ClientSecretBasic.
	AuthMethod AuthMethod

	// Observe, when set, is called before each introspection request with
	// Op and the endpoint: it returns the request's context (a span's, say)
	// and a function called with the outcome. otelguard.Metrics.Observe is
	// one. Zero: none.
	Observe func(ctx context.Context, op, url string) (context.Context, func(error))
	// HTTPClient makes the requests; its redirects are never followed.
	// Zero: a dedicated client.
	HTTPClient *http.Client
	// Timeout bounds each request. Zero: DefaultTimeout (2 s).
	Timeout time.Duration
	// MaxBodyBytes caps the response, at most MaxBodyBytesLimit. Zero:
	// DefaultMaxBodyBytes (64 KiB).
	MaxBodyBytes int64
	// AllowInsecureHTTP permits http:// endpoints on hosts other than
	// loopback. Zero: https only.
	AllowInsecureHTTP bool
}

// ErrUnavailable is what every error of Introspect matches: no answer could
// be had. It never holds the token or the secret.
var ErrUnavailable = errors.New("introspect: no introspection answer")

// Client asks an introspection endpoint about tokens. It implements
// middleware.Introspector. Safe for concurrent use.
type Client struct {
	cfg       Config
	http      fetch.Client
	authz     string // the Basic header, precomputed
	mu        sync.Mutex
	endpoint  string // resolved
	discovery Discovery
}

// New checks cfg and returns a Client. Every mistake is reported, joined in
// one error.
func New(cfg Config) (*Client, error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("introspect: "+format, args...)) }
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		add("Config.ClientID and Config.ClientSecret are required")
	}
	switch {
	case cfg.Endpoint == "" && cfg.Discovery == nil:
		add("Config.Endpoint or Config.Discovery is required")
	case cfg.Endpoint != "":
		if err := fetch.CheckURL(cfg.Endpoint, cfg.AllowInsecureHTTP); err != nil {
			add("Config.Endpoint: %w", err)
		}
	}
	switch cfg.AuthMethod {
	case "":
		cfg.AuthMethod = ClientSecretBasic
	case ClientSecretBasic, ClientSecretPost:
	default:
		add("Config.AuthMethod %q is neither %s nor %s", cfg.AuthMethod, ClientSecretBasic, ClientSecretPost)
	}
	if cfg.Timeout < 0 {
		add("Config.Timeout must not be negative (zero means the default)")
	}
	if cfg.MaxBodyBytes < 0 || cfg.MaxBodyBytes > MaxBodyBytesLimit {
		add("Config.MaxBodyBytes must be from 0 (default) to %d", MaxBodyBytesLimit)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout}
	}
	// Never follow a redirect: the credentials would go with it.
	noRedirect := *hc
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{cfg: cfg, endpoint: cfg.Endpoint, discovery: cfg.Discovery,
		http: fetch.Client{HTTP: &noRedirect, Timeout: cfg.Timeout, MaxBody: cfg.MaxBodyBytes, Observe: cfg.Observe}}
	if cfg.AuthMethod == ClientSecretBasic {
		c.authz = "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(cfg.ClientID)+":"+url.QueryEscape(cfg.ClientSecret)))
	}
	return c, nil
}

// Endpoint returns the introspection endpoint, discovering it first if
// needed (once; a failure is retried on the next call).
func (c *Client) Endpoint(ctx context.Context) (string, error) {
	c.mu.Lock()
	e := c.endpoint
	c.mu.Unlock()
	if e != "" {
		return e, nil
	}
	e, err := c.discovery.IntrospectionEndpoint(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: discovering the endpoint: %w", ErrUnavailable, err)
	}
	if err := fetch.CheckURL(e, c.cfg.AllowInsecureHTTP); err != nil {
		return "", fmt.Errorf("%w: introspection_endpoint: %w", ErrUnavailable, err)
	}
	c.mu.Lock()
	c.endpoint = e
	c.mu.Unlock()
	return e, nil
}

// Introspect posts token to the introspection endpoint and returns the
// JSON answer of a 200 response (see middleware.Introspector). Errors match
// ErrUnavailable.
func (c *Client) Introspect(ctx context.Context, token string) ([]byte, error) {
	endpoint, err := c.Endpoint(ctx)
	if err != nil {
		return nil, err
	}
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	if c.cfg.AuthMethod == ClientSecretPost {
		form.Set("client_id", c.cfg.ClientID)
		form.Set("client_secret", c.cfg.ClientSecret)
	}
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.authz != "" {
		req.Header.Set("Authorization", c.authz)
	}
	body, hdr, err := c.http.Do(ctx, Op, req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if mt, _, err := mime.ParseMediaType(hdr.Get("Content-Type")); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, fmt.Errorf("%w: POST %s: Content-Type %q, want application/json", ErrUnavailable, endpoint, hdr.Get("Content-Type"))
	}
	return body, nil
}

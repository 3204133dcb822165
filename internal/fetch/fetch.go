// Package fetch is the one place where oauthguard talks to an authorization
// server over HTTP: the URL rule (https, or http for loopback hosts), a
// dedicated client whose redirects are few and held to the same rule, a
// timeout on every request, a cap on every body and status 200 only. The
// JWKS fetch, metadata discovery and token introspection all go through it.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxRedirects is the number of redirects a request follows, each held to
// the URL rule.
const MaxRedirects = 3

// ErrInsecureURL is returned for a URL that is neither https nor http to a
// loopback host (unless http is allowed).
var ErrInsecureURL = errors.New("URL must use https (plain http only for loopback hosts)")

// ErrInvalidURL is returned for a URL that is not absolute, or carries user
// info or a fragment.
var ErrInvalidURL = errors.New("not an absolute http(s) URL without user info or fragment")

// CheckURL reports whether raw may be fetched: an absolute https URL, or
// http when the host is loopback (127.0.0.0/8, ::1, localhost) or allowHTTP
// is set; never with user info or a fragment. The error names the URL, which
// is configuration, never a token.
func CheckURL(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || (u.Scheme != "https" && u.Scheme != "http") {
		if err == nil && u.Host != "" && u.Scheme != "" && u.Scheme != "https" && u.Scheme != "http" {
			return fmt.Errorf("%w: %q", ErrInsecureURL, raw)
		}
		return fmt.Errorf("%w: %q", ErrInvalidURL, raw)
	}
	if u.Scheme == "http" && !allowHTTP && !IsLoopback(u.Hostname()) {
		return fmt.Errorf("%w: %q", ErrInsecureURL, raw)
	}
	return nil
}

// IsLoopback reports whether host (without port) is localhost or a
// loopback IP address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewHTTPClient returns a dedicated client with the timeout that follows at
// most MaxRedirects redirects, each checked with CheckURL.
func NewHTTPClient(timeout time.Duration, allowHTTP bool) *http.Client {
	return &http.Client{
		Timeout: timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return fmt.Errorf("more than %d redirects", MaxRedirects)
			}
			return CheckURL(req.URL.String(), allowHTTP)
		},
	}
}

// StatusError is a response with a status other than 200.
type StatusError struct {
	Method, URL string
	Code        int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: status %d, want 200", e.Method, e.URL, e.Code)
}

// Client makes bounded requests.
type Client struct {
	// HTTP makes the requests; see NewHTTPClient.
	HTTP *http.Client
	// Timeout bounds each request, reading the body included.
	Timeout time.Duration
	// MaxBody caps each response body, in bytes.
	MaxBody int64
	// Observe, when set, is called before each request with its operation
	// and URL (query redacted); it returns the request's context and a
	// function called with the outcome.
	Observe func(ctx context.Context, op, url string) (context.Context, func(error))
}

// Do sends req for the operation op (bounded by Timeout and ctx) and returns the body of a 200
// response that fits in MaxBody. Any other status is a *StatusError.
// Errors name the method and URL, never a request body.
func (c Client) Do(ctx context.Context, op string, req *http.Request) (body []byte, hdr http.Header, err error) {
	if c.Observe != nil {
		var done func(error)
		ctx, done = c.Observe(ctx, op, redact(req.URL))
		defer func() { done(err) }()
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req = req.WithContext(ctx)
	where := req.Method + " " + redact(req.URL)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is named once, below
		}
		return nil, nil, fmt.Errorf("%s: %w", where, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, nil, &StatusError{Method: req.Method, URL: redact(req.URL), Code: resp.StatusCode}
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, c.MaxBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: reading body: %w", where, err)
	}
	if int64(len(body)) > c.MaxBody {
		return nil, nil, fmt.Errorf("%s: body larger than %d bytes", where, c.MaxBody)
	}
	return body, resp.Header, nil
}

// Get fetches u for the operation op, asking for JSON.
func (c Client) Get(ctx context.Context, op, u string) ([]byte, http.Header, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	return c.Do(ctx, op, req)
}

// redact is u without its query, which may hold a credential in some
// deployments' URLs.
func redact(u *url.URL) string {
	c := *u
	if c.RawQuery != "" {
		c.RawQuery = "..."
	}
	c.User = nil
	return c.String()
}

package jwks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
)

// ErrInsecureURL is returned for a URL that is neither https nor loopback
// http (unless Config.AllowInsecureHTTP).
var ErrInsecureURL = errors.New("jwks: URL must use https (http only for loopback hosts)")

func checkURL(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("jwks: invalid URL %q", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowHTTP || isLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrInsecureURL, raw)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newHTTPClient(cfg Config) *http.Client {
	return &http.Client{
		Timeout: cfg.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("jwks: too many redirects")
			}
			return checkURL(req.URL.String(), cfg.AllowInsecureHTTP)
		},
	}
}

// get fetches url and returns its body, which must come with status 200 and
// fit in MaxBodyBytes.
func (s *Source) get(url string) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("jwks: GET %s: %w", url, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("jwks: GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, nil, &statusError{url: url, code: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("jwks: GET %s: reading body: %w", url, err)
	}
	if int64(len(body)) > s.cfg.MaxBodyBytes {
		return nil, nil, fmt.Errorf("jwks: GET %s: body larger than %d bytes", url, s.cfg.MaxBodyBytes)
	}
	return body, resp.Header, nil
}

type statusError struct {
	url  string
	code int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("jwks: GET %s: status %d, want 200", e.url, e.code)
}

// fetch discovers the JWKS URL if needed, fetches and installs the JWKS, and
// returns the interval until the next refresh.
func (s *Source) fetch() (time.Duration, error) {
	s.mu.Lock()
	jwksURL := s.jwksURL
	s.mu.Unlock()
	if jwksURL == "" {
		u, err := s.discover()
		if err != nil {
			return 0, err
		}
		s.mu.Lock()
		s.jwksURL = u
		s.mu.Unlock()
		s.log.Info("jwks: discovered the JWKS URL", "issuer", s.cfg.Issuer, "jwks_uri", u)
		jwksURL = u
	}
	s.fetches.Add(1)
	body, hdr, err := s.get(jwksURL)
	if err != nil {
		return 0, err
	}
	if err := s.install(body); err != nil {
		return 0, err
	}
	s.log.Debug("jwks: refreshed", "keys", s.Health().KeyCount)
	return s.interval(hdr.Get("Cache-Control")), nil
}

// interval honours a Cache-Control max-age within the configured bounds.
func (s *Source) interval(cc string) time.Duration {
	for _, d := range strings.Split(cc, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		if !strings.EqualFold(name, "max-age") {
			continue
		}
		secs, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
		if err != nil || secs < 0 {
			break
		}
		age := time.Duration(min(secs, int64(s.cfg.MaxRefreshInterval/time.Second)+1)) * time.Second
		return min(max(age, s.cfg.MinRefreshInterval), s.cfg.MaxRefreshInterval)
	}
	return s.cfg.RefreshInterval
}

// MetadataURLs returns the metadata locations tried for issuer, in order:
// RFC 8414 §3.1 (path-insert), the path-append form Better Auth serves, and
// OpenID Connect Discovery. For an issuer without a path the first two are
// the same and listed once.
func MetadataURLs(issuer string) ([]string, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("jwks: invalid issuer %q", issuer)
	}
	origin := u.Scheme + "://" + u.Host
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	urls := []string{origin + "/.well-known/oauth-authorization-server" + path}
	if path != "" {
		urls = append(urls, origin+path+"/.well-known/oauth-authorization-server")
	}
	return append(urls, origin+path+"/.well-known/openid-configuration"), nil
}

// ErrIssuerMismatch is returned when metadata names another issuer.
var ErrIssuerMismatch = errors.New("jwks: metadata issuer does not match the configured issuer")

func (s *Source) discover() (string, error) {
	urls, err := MetadataURLs(s.cfg.Issuer)
	if err != nil {
		return "", err
	}
	var errs []error
	for _, u := range urls {
		body, _, err := s.get(u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := json.Unmarshal(body, &meta); err != nil {
			errs = append(errs, fmt.Errorf("jwks: %s: not a metadata document", u))
			continue
		}
		if meta.Issuer != s.cfg.Issuer {
			errs = append(errs, fmt.Errorf("%w: %s names %q", ErrIssuerMismatch, u, meta.Issuer))
			continue
		}
		if meta.JWKSURI == "" {
			errs = append(errs, fmt.Errorf("jwks: %s has no jwks_uri", u))
			continue
		}
		if err := checkURL(meta.JWKSURI, s.cfg.AllowInsecureHTTP); err != nil {
			errs = append(errs, err)
			continue
		}
		return meta.JWKSURI, nil
	}
	return "", fmt.Errorf("jwks: discovery for issuer %q failed: %w", s.cfg.Issuer, errors.Join(errs...))
}

package jwks

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/clientcasa/oauthguard/internal/fetch"
	"github.com/go-json-experiment/json"
)

// fetch discovers the JWKS URL if needed, fetches and installs the JWKS, and
// returns the interval until the next refresh.
func (s *Source) fetch() (time.Duration, error) {
	s.mu.Lock()
	jwksURL := s.jwksURL
	s.mu.Unlock()
	if jwksURL == "" {
		m, err := s.discover(s.ctx)
		if err != nil {
			return 0, err
		}
		s.mu.Lock()
		s.jwksURL = m.JWKSURI
		s.mu.Unlock()
		s.log.Info("jwks: discovered the JWKS URL", "issuer", s.cfg.Issuer, "jwks_uri", m.JWKSURI)
		jwksURL = m.JWKSURI
	}
	s.fetches.Add(1)
	body, hdr, err := s.http.Get(s.ctx, OpJWKS, jwksURL)
	if err != nil {
		return 0, fmt.Errorf("jwks: %w", err)
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

// Metadata is what a Source read from the authorization server's metadata
// document (RFC 8414 §2, OpenID Connect Discovery 1.0 §3).
type Metadata struct {
	// Issuer equals Config.Issuer (checked).
	Issuer string
	// JWKSURI is jwks_uri.
	JWKSURI string
	// IntrospectionEndpoint is introspection_endpoint (RFC 7662), "" when
	// the server announces none.
	IntrospectionEndpoint string
}

// Metadata returns the authorization server's metadata, from the discovery
// the Source makes for its keys (waiting for it, within ctx), or, when the
// JWKS URL was configured and no discovery was needed, from one made now
// (and kept once it succeeds). It needs Config.Issuer.
func (s *Source) Metadata(ctx context.Context) (Metadata, error) {
	if m := s.meta.Load(); m != nil {
		return *m, nil
	}
	if s.cfg.Issuer == "" {
		return Metadata{}, errors.New("jwks: no Config.Issuer to discover the metadata from")
	}
	if s.cfg.JWKSURL == "" {
		select {
		case <-s.discovered:
			return *s.meta.Load(), nil
		case <-ctx.Done():
			return Metadata{}, fmt.Errorf("jwks: waiting for discovery: %w (last attempt: %s)", ctx.Err(), s.Health().LastError)
		}
	}
	s.discoverMu.Lock()
	defer s.discoverMu.Unlock()
	if m := s.meta.Load(); m != nil {
		return *m, nil
	}
	return s.discover(ctx)
}

// IntrospectionEndpoint returns the metadata's introspection_endpoint, for
// introspect.Config.Discovery.
func (s *Source) IntrospectionEndpoint(ctx context.Context) (string, error) {
	m, err := s.Metadata(ctx)
	if err != nil {
		return "", err
	}
	if m.IntrospectionEndpoint == "" {
		return "", fmt.Errorf("jwks: the metadata of %q has no introspection_endpoint", m.Issuer)
	}
	return m.IntrospectionEndpoint, nil
}

// discover tries each metadata location in turn and keeps the first good
// document.
func (s *Source) discover(ctx context.Context) (Metadata, error) {
	urls, err := MetadataURLs(s.cfg.Issuer)
	if err != nil {
		return Metadata{}, err
	}
	var errs []error
	for _, u := range urls {
		body, _, err := s.http.Get(ctx, OpDiscovery, u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var meta struct {
			Issuer                string `json:"issuer"`
			JWKSURI               string `json:"jwks_uri"`
			IntrospectionEndpoint string `json:"introspection_endpoint"`
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
		if err := fetch.CheckURL(meta.JWKSURI, s.cfg.AllowInsecureHTTP); err != nil {
			errs = append(errs, fmt.Errorf("jwks: jwks_uri: %w", err))
			continue
		}
		m := &Metadata{Issuer: meta.Issuer, JWKSURI: meta.JWKSURI, IntrospectionEndpoint: meta.IntrospectionEndpoint}
		if s.meta.CompareAndSwap(nil, m) {
			close(s.discovered)
		}
		return *m, nil
	}
	return Metadata{}, fmt.Errorf("jwks: discovery for issuer %q failed: %w", s.cfg.Issuer, errors.Join(errs...))
}

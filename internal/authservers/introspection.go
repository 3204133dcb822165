//go:build unix

package authservers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// OpaqueResource is the resource indicator that makes oidc-provider issue an
// opaque access token (introspectable and revocable) with the configured
// audience. Better Auth issues opaque tokens when no resource is requested
// at all.
const OpaqueResource = "urn:test:format:opaque"

// postForm posts form to u as client c and returns the status and body.
func (s *Server) postForm(ctx context.Context, u string, form url.Values, c Client) (int, []byte, error) {
	if c.AuthMethod == "client_secret_post" {
		form.Set("client_id", c.ID)
		form.Set("client_secret", c.Secret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	if c.AuthMethod != "client_secret_post" {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, b, err := send(s.http, req)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}

// Introspect asks the server's introspection endpoint (RFC 7662) about
// token as client c, with token_type_hint access_token, and returns the
// decoded answer.
func (s *Server) Introspect(ctx context.Context, token string, c Client) (map[string]any, error) {
	status, body, err := s.postForm(ctx, s.IntrospectionEndpoint, url.Values{"token": {token}, "token_type_hint": {"access_token"}}, c)
	if err != nil {
		return nil, fmt.Errorf("authservers: introspect: %w", err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("authservers: introspect: status %d: %s", status, truncate(body))
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("authservers: introspect: %w: %s", err, truncate(body))
	}
	return m, nil
}

// Revoke revokes token at the server's revocation endpoint (RFC 7009) as
// client c. Both servers revoke opaque access tokens and refresh tokens;
// they refuse JWT access tokens (unsupported_token_type).
func (s *Server) Revoke(ctx context.Context, token, hint string, c Client) error {
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	status, body, err := s.postForm(ctx, s.RevocationEndpoint, form, c)
	if err != nil {
		return fmt.Errorf("authservers: revoke: %w", err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("authservers: revoke: status %d: %s", status, truncate(body))
	}
	return nil
}

// testHook posts a JSON body to one of the Better Auth script's /__test
// endpoints.
func (s *Server) testHook(ctx context.Context, path string, in any) error {
	if s.Kind != BetterAuth {
		return fmt.Errorf("authservers: %s has no %s", s.Kind, path)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.baseURL()+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, body, err := send(s.http, req)
	if err != nil {
		return fmt.Errorf("authservers: %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("authservers: %s: %s: %s", path, resp.Status, truncate(body))
	}
	return nil
}

// EndSessions ends every session of the Better Auth user with that email,
// as signing out everywhere or an administrator's session revocation does:
// the user's JWTs (which carry sid) then introspect as inactive.
func (s *Server) EndSessions(ctx context.Context, email string) error {
	return s.testHook(ctx, "/__test/end-sessions", map[string]string{"email": email})
}

// SetClientDisabled disables (or enables again) a Better Auth client: its
// tokens then introspect as inactive.
func (s *Server) SetClientDisabled(ctx context.Context, clientID string, disabled bool) error {
	return s.testHook(ctx, "/__test/client-disabled", map[string]any{"client_id": clientID, "disabled": disabled})
}

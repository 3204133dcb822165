//go:build unix

package authservers

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/clientcasa/oauthguard/authtest"
)

// TokenResponse is a successful token endpoint response (RFC 6749 §5.1).
type TokenResponse struct {
	// AccessToken is the raw access token, a compact JWS for the JWT
	// resources.
	AccessToken  string
	TokenType    string // "Bearer", or "DPoP" for DPoP-bound tokens
	RefreshToken string // empty when none was issued
	IDToken      string // only when openid was requested
	Scope        string
	ExpiresIn    int64
	// JSON is the whole decoded response.
	JSON map[string]any
}

// TokenError is an error response of the token endpoint (RFC 6749 §5.2), or
// any other non-2xx answer.
type TokenError struct {
	StatusCode  int
	Code        string // "error", e.g. invalid_scope, invalid_target
	Description string // "error_description"
	Body        string
}

func (e *TokenError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("authservers: token endpoint: %d %s: %s", e.StatusCode, e.Code, e.Description)
	}
	return fmt.Sprintf("authservers: token endpoint: %d: %s", e.StatusCode, e.Body)
}

// ClientCredentials runs the client_credentials grant. Empty resource or
// scope are left out of the request (each server then applies its defaults:
// oidc-provider issues a token for the configured audience; Better Auth an
// opaque token without aud).
func (s *Server) ClientCredentials(ctx context.Context, clientID, secret, resource, scope string) (*TokenResponse, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	setIf(form, "resource", resource)
	setIf(form, "scope", scope)
	return s.token(ctx, clientID, secret, form, nil)
}

// Refresh runs the refresh_token grant for the Full client, which
// AuthCodePKCE uses. resource may be empty. Better Auth rotates refresh
// tokens: use the RefreshToken of the response for the next refresh.
func (s *Server) Refresh(ctx context.Context, refreshToken, resource string) (*TokenResponse, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	setIf(form, "resource", resource)
	return s.token(ctx, s.Clients.Full.ID, s.Clients.Full.Secret, form, nil)
}

// DPoPClientCredentials runs the client_credentials grant with a DPoP proof
// (RFC 9449) made with key, so the access token is bound to the key: its
// token_type is DPoP and its payload carries cnf.jkt == key.Thumbprint().
// Both servers support it. Use key.Proof to call a resource server with the
// token.
func (s *Server) DPoPClientCredentials(ctx context.Context, key *authtest.DPoPKey, clientID, secret, resource, scope string) (*TokenResponse, error) {
	if key == nil {
		return nil, errors.New("authservers: DPoPClientCredentials needs a key (authtest.NewDPoPKey)")
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	setIf(form, "resource", resource)
	setIf(form, "scope", scope)
	return s.token(ctx, clientID, secret, form, key)
}

// AuthCodePKCE runs the authorization code flow with PKCE (S256) for the
// Full client and the given user, headlessly: oidc-provider's development
// login and consent forms, or Better Auth's email sign-in. user is a
// Users[i].Login ("alice", "bob"); oidc-provider accepts any other login
// too (organisation org_default). offline_access is added to scope when
// missing so that a refresh token is issued. resource may be empty.
func (s *Server) AuthCodePKCE(ctx context.Context, user, scope, resource string) (*TokenResponse, error) {
	return s.authCode(ctx, user, scope, resource, nil)
}

// AuthCodePKCEDPoP is AuthCodePKCE with a DPoP proof made with key at the
// token endpoint, so the access token is bound to the key.
func (s *Server) AuthCodePKCEDPoP(ctx context.Context, key *authtest.DPoPKey, user, scope, resource string) (*TokenResponse, error) {
	return s.authCode(ctx, user, scope, resource, key)
}

func (s *Server) authCode(ctx context.Context, user, scope, resource string, key *authtest.DPoPKey) (*TokenResponse, error) {
	scopes := strings.Fields(scope)
	if !slices.Contains(scopes, "offline_access") {
		scopes = append(scopes, "offline_access")
	}
	verifier := randomString(32)
	challenge := sha256.Sum256([]byte(verifier))
	state := randomString(16)
	client := s.Clients.Full

	q := url.Values{
		"client_id":             {client.ID},
		"response_type":         {"code"},
		"redirect_uri":          {s.RedirectURI},
		"scope":                 {strings.Join(scopes, " ")},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
		"state":                 {state},
	}
	if resource != "" {
		q.Set("resource", resource)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	browser := &http.Client{
		Jar:           jar,
		Transport:     s.http.Transport,
		Timeout:       s.http.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	authURL := s.AuthorizationEndpoint + "?" + q.Encode()

	var redirect string
	switch s.Kind {
	case OIDCProvider:
		redirect, err = s.oidcInteractions(ctx, browser, authURL, user)
	case BetterAuth:
		redirect, err = s.betterAuthSignIn(ctx, browser, authURL, user)
	default:
		err = fmt.Errorf("unknown kind %v", s.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("authservers: %s auth code flow for %q: %w", s.Kind, user, err)
	}
	cb, err := url.Parse(redirect)
	if err != nil {
		return nil, fmt.Errorf("authservers: callback %q: %w", redirect, err)
	}
	params := cb.Query()
	if e := params.Get("error"); e != "" {
		return nil, fmt.Errorf("authservers: authorization error %s: %s", e, params.Get("error_description"))
	}
	if params.Get("state") != state {
		return nil, fmt.Errorf("authservers: callback state %q, want %q", params.Get("state"), state)
	}
	if iss := params.Get("iss"); iss != "" && iss != s.Issuer {
		return nil, fmt.Errorf("authservers: callback iss %q, want %q (RFC 9207)", iss, s.Issuer)
	}
	code := params.Get("code")
	if code == "" {
		return nil, fmt.Errorf("authservers: callback without code: %s", redirect)
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {s.RedirectURI},
		"code_verifier": {verifier},
	}
	setIf(form, "resource", resource)
	return s.token(ctx, client.ID, client.Secret, form, key)
}

var (
	formAction  = regexp.MustCompile(`<form[^>]*\saction="([^"]*)"`)
	formPrompt  = regexp.MustCompile(`name="prompt"\s+value="([a-z_]+)"`)
	maxBodySize = int64(1 << 20)
)

// oidcInteractions follows oidc-provider's redirects, submitting the
// development login and consent forms, until the redirect to RedirectURI.
func (s *Server) oidcInteractions(ctx context.Context, browser *http.Client, next, user string) (string, error) {
	method, body := http.MethodGet, url.Values(nil)
	for range 12 {
		resp, page, err := do(ctx, browser, method, next, body)
		if err != nil {
			return "", err
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			target, err := resp.Request.URL.Parse(loc)
			if err != nil {
				return "", err
			}
			if strings.HasPrefix(target.String(), s.RedirectURI) {
				return target.String(), nil
			}
			method, body, next = http.MethodGet, nil, target.String()
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s %s: %s: %s", method, next, resp.Status, truncate(page))
		}
		prompt := formPrompt.FindSubmatch(page)
		if prompt == nil {
			return "", fmt.Errorf("no interaction form at %s: %s", next, truncate(page))
		}
		action := next
		if m := formAction.FindSubmatch(page); m != nil {
			target, err := resp.Request.URL.Parse(html.UnescapeString(string(m[1])))
			if err != nil {
				return "", err
			}
			action = target.String()
		}
		switch string(prompt[1]) {
		case "login":
			body = url.Values{"prompt": {"login"}, "login": {user}, "password": {"any-password"}}
		case "consent":
			body = url.Values{"prompt": {"consent"}}
		default:
			return "", fmt.Errorf("unexpected prompt %q at %s", prompt[1], next)
		}
		method, next = http.MethodPost, action
	}
	return "", errors.New("too many interaction steps")
}

// betterAuthSignIn follows the authorize redirect to the login page and
// signs in with email and password, passing the login page's signed query
// as oauth_query; Better Auth answers with the client redirect (consent is
// skipped for the seeded clients).
func (s *Server) betterAuthSignIn(ctx context.Context, browser *http.Client, authURL, login string) (string, error) {
	var user *User
	for i := range s.Users {
		if s.Users[i].Login == login || s.Users[i].Email == login {
			user = &s.Users[i]
		}
	}
	if user == nil {
		return "", fmt.Errorf("no seeded Better Auth user %q", login)
	}
	resp, page, err := do(ctx, browser, http.MethodGet, authURL, nil)
	if err != nil {
		return "", err
	}
	loc := resp.Header.Get("Location")
	if resp.StatusCode/100 != 3 || loc == "" {
		return "", fmt.Errorf("authorize: %s (want a redirect to the login page): %s", resp.Status, truncate(page))
	}
	loginURL, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(loginURL.String(), s.RedirectURI) {
		return loginURL.String(), nil // an error redirect, reported by the caller
	}
	reqBody, err := json.Marshal(map[string]string{
		"email":       user.Email,
		"password":    user.Password,
		"oauth_query": loginURL.RawQuery,
	})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Issuer+"/sign-in/email", strings.NewReader(string(reqBody)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", s.baseURL())
	resp, page, err = send(browser, req)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("sign-in: %s: %s", resp.Status, truncate(page))
	}
	var out struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(page, &out); err != nil || out.URL == "" {
		return "", fmt.Errorf("sign-in response without url: %s", truncate(page))
	}
	if !strings.HasPrefix(out.URL, s.RedirectURI) {
		return "", fmt.Errorf("sign-in redirected to %s, not the client (consent or another step needed?)", out.URL)
	}
	return out.URL, nil
}

// Rotation is the answer of POST /__test/rotate.
type Rotation struct {
	// Kids maps each signing alg to the key id that now signs its tokens.
	Kids map[string]string `json:"kids"`
	// Retired are the previous key ids; both servers keep publishing them
	// in the JWKS so tokens issued before the rotation still verify.
	Retired []string `json:"retired"`
}

// Rotate replaces the server's signing keys with new ones (new key ids).
// The issuer and port stay the same; tokens issued afterwards carry the new
// kids, which the JWKS lists from then on.
func (s *Server) Rotate(ctx context.Context) (*Rotation, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.baseURL()+"/__test/rotate", nil)
	if err != nil {
		return nil, err
	}
	resp, body, err := send(s.http, req)
	if err != nil {
		return nil, fmt.Errorf("authservers: rotate: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("authservers: rotate: %s: %s", resp.Status, truncate(body))
	}
	var r Rotation
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("authservers: rotate: %w", err)
	}
	if len(r.Kids) == 0 {
		return nil, fmt.Errorf("authservers: rotate: no kids in %s", truncate(body))
	}
	return &r, nil
}

// token posts a token request with the client's authentication method and,
// when key is set, a DPoP proof (retried once with a server nonce if the
// server asks for one).
func (s *Server) token(ctx context.Context, clientID, secret string, form url.Values, key *authtest.DPoPKey) (*TokenResponse, error) {
	post := false // the client's registered authentication method
	for _, c := range s.Clients.All() {
		post = post || (c.ID == clientID && c.AuthMethod == "client_secret_post")
	}
	var nonce string
	body := form.Encode()
	if post {
		body += "&" + url.Values{"client_id": {clientID}, "client_secret": {secret}}.Encode()
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.TokenEndpoint, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		if !post {
			req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
		}
		if key != nil {
			proof, err := key.ProofWith(authtest.DPoPProof{Method: http.MethodPost, URL: s.TokenEndpoint, Nonce: nonce})
			if err != nil {
				return nil, err
			}
			req.Header.Set("DPoP", proof)
		}
		resp, respBody, err := send(s.http, req)
		if err != nil {
			return nil, fmt.Errorf("authservers: token request: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			te := &TokenError{StatusCode: resp.StatusCode, Body: string(respBody)}
			var e struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if json.Unmarshal(respBody, &e) == nil {
				te.Code, te.Description = e.Error, e.Description
			}
			if key != nil && attempt == 0 && te.Code == "use_dpop_nonce" && resp.Header.Get("DPoP-Nonce") != "" {
				nonce = resp.Header.Get("DPoP-Nonce")
				continue
			}
			return nil, te
		}
		return parseTokenResponse(respBody)
	}
}

func parseTokenResponse(body []byte) (*TokenResponse, error) {
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("authservers: token response: %w: %s", err, truncate(body))
	}
	str := func(k string) string { v, _ := raw[k].(string); return v }
	tr := &TokenResponse{
		AccessToken:  str("access_token"),
		TokenType:    str("token_type"),
		RefreshToken: str("refresh_token"),
		IDToken:      str("id_token"),
		Scope:        str("scope"),
		JSON:         raw,
	}
	if v, ok := raw["expires_in"].(float64); ok {
		tr.ExpiresIn = int64(v)
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("authservers: token response without access_token: %s", truncate(body))
	}
	return tr, nil
}

func do(ctx context.Context, c *http.Client, method, u string, form url.Values) (*http.Response, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return send(c, req)
}

// send does the request and reads the (bounded) body.
func send(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodySize))
	if err != nil {
		return nil, nil, err
	}
	return resp, body, nil
}

func setIf(v url.Values, k, value string) {
	if value != "" {
		v.Set(k, value)
	}
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

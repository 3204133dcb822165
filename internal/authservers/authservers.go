//go:build unix

package authservers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Kind selects which authorization server [Start] runs.
type Kind int

const (
	// OIDCProvider is oidc-provider 9.13.3 (oidc-provider.mjs). Its issuer
	// is http://127.0.0.1:<port>.
	OIDCProvider Kind = iota + 1
	// BetterAuth is Better Auth 1.7.5 with @better-auth/oauth-provider
	// (better-auth.mjs). Its issuer is http://127.0.0.1:<port>/api/auth.
	BetterAuth
)

// String returns the name used in test names and error messages.
func (k Kind) String() string {
	switch k {
	case OIDCProvider:
		return "oidc-provider"
	case BetterAuth:
		return "better-auth"
	default:
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
}

func (k Kind) script() (string, error) {
	switch k {
	case OIDCProvider:
		return "oidc-provider.mjs", nil
	case BetterAuth:
		return "better-auth.mjs", nil
	default:
		return "", fmt.Errorf("authservers: unknown kind %d", int(k))
	}
}

const (
	// DefaultAudience is the audience of the default resource when
	// Options.Audience is empty.
	DefaultAudience = "https://api.example.test"
	// OtherAudience is a resource indicator whose tokens carry this
	// audience instead of the configured one (wrong-audience tests).
	OtherAudience = "https://other.example.test"

	// ScopeRead and ScopeWrite are the resource scopes the servers grant.
	ScopeRead  = "read:clients"
	ScopeWrite = "write:invoices"
)

// AlgResource returns the resource indicator whose tokens are signed with
// alg and still carry the configured audience. See [Server.Algs] for the
// algs each server offers.
func AlgResource(alg string) string { return "urn:test:alg:" + alg }

// TTLResource returns the resource indicator whose tokens carry the
// configured audience and expire after the given number of seconds
// (1 to 999999).
func TTLResource(seconds int) string { return "urn:test:ttl:" + strconv.Itoa(seconds) }

// Client is a confidential OAuth client registered on both servers. It
// authenticates with AuthMethod (client_secret_basic unless set) and may use
// the client_credentials, authorization_code and refresh_token grants.
type Client struct {
	ID     string
	Secret string
	// AuthMethod is "client_secret_post" for the one client registered so;
	// "" means client_secret_basic.
	AuthMethod string
	// Organization is the organizationId claim of its client-credentials
	// tokens.
	Organization string
	// Scope is the space-separated set of resource scopes it may obtain.
	Scope string
}

// Clients are the fixed clients every server registers.
type Clients struct {
	Full   Client // org_acme, read:clients write:invoices
	Reader Client // org_acme, read:clients only
	Globex Client // org_globex, read:clients write:invoices
	// API is the resource server itself, for token introspection: it uses
	// client_secret_post, and on Better Auth it is linked to the audience
	// resource, so it may introspect every token issued for it.
	API Client
	// Disposable is for tests that disable a client (org_acme, both scopes).
	Disposable Client
}

// All returns the clients in a fixed order.
func (c Clients) All() []Client { return []Client{c.Full, c.Reader, c.Globex, c.API, c.Disposable} }

var fixedClients = Clients{
	Full:       Client{ID: "test-client", Secret: "test-secret", Organization: "org_acme", Scope: ScopeRead + " " + ScopeWrite},
	Reader:     Client{ID: "reader-client", Secret: "reader-secret", Organization: "org_acme", Scope: ScopeRead},
	Globex:     Client{ID: "globex-client", Secret: "globex-secret", Organization: "org_globex", Scope: ScopeRead + " " + ScopeWrite},
	API:        Client{ID: "api-server", Secret: "api-server-secret", AuthMethod: "client_secret_post", Organization: "org_api", Scope: ScopeRead},
	Disposable: Client{ID: "disposable-client", Secret: "disposable-secret", Organization: "org_acme", Scope: ScopeRead + " " + ScopeWrite},
}

// User is an end user for the authorization code flow.
type User struct {
	// Login is the name passed to [Server.AuthCodePKCE].
	Login string
	// Email and Password sign in to Better Auth. oidc-provider's
	// development login accepts any login and password; the login becomes
	// the token's sub.
	Email    string
	Password string
	// Organization is the organizationId claim of the user's tokens.
	Organization string
}

var fixedUsers = []User{
	{Login: "alice", Email: "alice@example.test", Password: "alice-password", Organization: "org_acme"},
	{Login: "bob", Email: "bob@example.test", Password: "bob-password", Organization: "org_globex"},
}

// Options configures [Start].
type Options struct {
	// Audience is the aud of tokens for the default resource and of the
	// AlgResource and TTLResource indicators. Empty means DefaultAudience.
	Audience string
	// Env adds or overrides environment variables of the node process.
	// AT_ALG chooses the alg that signs tokens for the plain Audience
	// (default RS256 for oidc-provider, EdDSA for Better Auth; it becomes
	// Algs[0]). PORT, AUDIENCE and AUTHSERVER_WATCH_STDIN are set by Start;
	// Env wins over them.
	Env map[string]string
	// ReadyTimeout bounds the wait for the READY line once node has been
	// spawned. Zero means 60 seconds: a start normally takes 0.3 s
	// (oidc-provider) or 0.8 s (Better Auth), but a loaded 2-core CI machine
	// has been seen to need 10 s and more; a server that crashes is reported
	// at once anyway. The npm install before it is bounded by ctx only.
	ReadyTimeout time.Duration
}

// Server is a running authorization server. Its fields are read-only.
type Server struct {
	Kind Kind
	// Issuer is the issuer announced on the READY line, also the iss of
	// every token: http://127.0.0.1:<port> (oidc-provider) or
	// http://127.0.0.1:<port>/api/auth (Better Auth).
	Issuer string
	// Audience is the configured audience.
	Audience string
	// MetadataURL is where the server itself serves its RFC 8414 metadata:
	// the root /.well-known/oauth-authorization-server for oidc-provider,
	// the path-append form {Issuer}/.well-known/oauth-authorization-server
	// for Better Auth.
	MetadataURL string
	// RFC8414MetadataURL is the RFC 8414 §3.1 path-insert location
	// (/.well-known/oauth-authorization-server{issuer path}). For
	// oidc-provider it equals MetadataURL; for Better Auth the test server
	// serves it too.
	RFC8414MetadataURL string
	// Endpoints read from the metadata at start.
	JWKSURI               string
	TokenEndpoint         string
	AuthorizationEndpoint string
	IntrospectionEndpoint string
	RevocationEndpoint    string
	// RedirectURI is registered for every client. Nothing listens on it;
	// the helpers only read the code from the redirect.
	RedirectURI string
	// Algs are the signing algs available through AlgResource; the first
	// one signs tokens for the plain Audience by default.
	Algs []string
	// Clients and Users are the seeded clients and users.
	Clients Clients
	Users   []User

	cmd      *exec.Cmd
	stdin    io.WriteCloser
	done     chan struct{} // closed when the process has exited and its output is drained
	waitErr  error
	logs     *tailBuffer
	http     *http.Client
	stopOnce sync.Once
}

// Start installs the npm dependencies when needed and starts an
// authorization server of the given kind on a free port of 127.0.0.1. ctx
// bounds installation and start-up only; the server runs until Stop. The
// caller must call Stop (t.Cleanup or a deferred call in TestMain).
func Start(ctx context.Context, kind Kind, opt Options) (*Server, error) {
	script, err := kind.script()
	if err != nil {
		return nil, err
	}
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	if err := EnsureInstalled(ctx); err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("authservers: node (Node.js 20 or later) is required: %w", err)
	}
	audience := opt.Audience
	if audience == "" {
		audience = DefaultAudience
	}
	readyTimeout := opt.ReadyTimeout
	if readyTimeout <= 0 {
		readyTimeout = 60 * time.Second
	}

	s := &Server{
		Kind:     kind,
		Audience: audience,
		Clients:  fixedClients,
		Users:    append([]User(nil), fixedUsers...),
		done:     make(chan struct{}),
		logs:     newTailBuffer(64 << 10),
		http: &http.Client{
			Timeout:   15 * time.Second,
			Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8, IdleConnTimeout: 30 * time.Second},
		},
	}

	env := map[string]string{"PORT": "0", "AUDIENCE": audience, "AUTHSERVER_WATCH_STDIN": "1"}
	for k, v := range opt.Env {
		env[k] = v
	}
	cmd := exec.Command(node, script)
	cmd.Dir = dir
	cmd.Env = mergeEnv(os.Environ(), env)
	// Own process group, so Stop can kill everything node may have spawned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Closing stdin (Stop, or the OS when this process dies) makes the
	// server exit, so a crashed test binary leaves no server behind.
	s.stdin, err = cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("authservers: %w", err)
	}
	ready := make(chan string, 1)
	var clientsLine string
	var clientsMu sync.Mutex
	cmd.Stdout = &lineWriter{line: func(line string) {
		switch {
		case strings.HasPrefix(line, "READY "):
			select {
			case ready <- strings.TrimSpace(strings.TrimPrefix(line, "READY ")):
			default:
			}
		case strings.HasPrefix(line, "CLIENTS "):
			clientsMu.Lock()
			clientsLine = strings.TrimPrefix(line, "CLIENTS ")
			clientsMu.Unlock()
		default:
			s.logs.Write([]byte("stdout: " + line + "\n"))
		}
	}}
	cmd.Stderr = s.logs
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		s.stdin.Close()
		return nil, fmt.Errorf("authservers: start %s: %w", kind, err)
	}
	s.cmd = cmd
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()

	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	var issuer string
	select {
	case issuer = <-ready:
	case <-s.done:
		s.Stop()
		return nil, fmt.Errorf("authservers: %s exited before READY (%v); stderr tail:\n%s", kind, s.waitErr, s.logs.String())
	case <-timer.C:
		s.Stop()
		return nil, fmt.Errorf("authservers: %s not READY after %s; stderr tail:\n%s", kind, readyTimeout, s.logs.String())
	case <-ctx.Done():
		s.Stop()
		return nil, fmt.Errorf("authservers: %s start: %w; stderr tail:\n%s", kind, ctx.Err(), s.logs.String())
	}
	clientsMu.Lock()
	cl := clientsLine
	clientsMu.Unlock()
	if err := s.configure(ctx, issuer, cl, opt.Env["AT_ALG"]); err != nil {
		s.Stop()
		return nil, fmt.Errorf("authservers: %s: %w; stderr tail:\n%s", kind, err, s.logs.String())
	}
	return s, nil
}

// configure checks the READY and CLIENTS lines and reads the metadata.
func (s *Server) configure(ctx context.Context, issuer, clientsJSON, defaultAlg string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
		return fmt.Errorf("READY issuer %q is not http://127.0.0.1:<port>[path]", issuer)
	}
	wantPath := ""
	if s.Kind == BetterAuth {
		wantPath = "/api/auth"
	}
	if u.Path != wantPath || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("READY issuer %q: want path %q", issuer, wantPath)
	}
	s.Issuer = issuer
	base := u.Scheme + "://" + u.Host
	switch s.Kind {
	case OIDCProvider:
		s.MetadataURL = base + "/.well-known/oauth-authorization-server"
		s.RFC8414MetadataURL = s.MetadataURL
		s.RedirectURI = "http://127.0.0.1:9999/callback"
		s.Algs = []string{"RS256", "PS256", "ES256", "EdDSA", "Ed25519"}
	case BetterAuth:
		s.MetadataURL = issuer + "/.well-known/oauth-authorization-server"
		s.RFC8414MetadataURL = base + "/.well-known/oauth-authorization-server" + u.Path
		s.RedirectURI = "https://client.example.test/callback"
		s.Algs = []string{"EdDSA", "RS256", "ES256"}
	}
	if defaultAlg != "" {
		if !slices.Contains(s.Algs, defaultAlg) {
			return fmt.Errorf("AT_ALG %q: want one of %v", defaultAlg, s.Algs)
		}
		s.Algs = moveFirst(s.Algs, defaultAlg)
	}

	var announced []struct {
		ClientID       string `json:"client_id"`
		OrganizationID string `json:"organization_id"`
		Scope          string `json:"scope"`
	}
	if err := json.Unmarshal([]byte(clientsJSON), &announced); err != nil {
		return fmt.Errorf("CLIENTS line %q: %v", clientsJSON, err)
	}
	for _, want := range s.Clients.All() {
		found := false
		for _, got := range announced {
			if got.ClientID == want.ID && got.OrganizationID == want.Organization && got.Scope == want.Scope {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("CLIENTS line %s lacks %+v", clientsJSON, want)
		}
	}

	var md struct {
		Issuer                string `json:"issuer"`
		JWKSURI               string `json:"jwks_uri"`
		TokenEndpoint         string `json:"token_endpoint"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		IntrospectionEndpoint string `json:"introspection_endpoint"`
		RevocationEndpoint    string `json:"revocation_endpoint"`
	}
	if err := s.getJSON(ctx, s.MetadataURL, &md); err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	if md.Issuer != s.Issuer || md.JWKSURI == "" || md.TokenEndpoint == "" || md.AuthorizationEndpoint == "" ||
		md.IntrospectionEndpoint == "" || md.RevocationEndpoint == "" {
		return fmt.Errorf("metadata at %s: issuer %q (want %q), jwks_uri %q, token_endpoint %q, authorization_endpoint %q, introspection_endpoint %q, revocation_endpoint %q",
			s.MetadataURL, md.Issuer, s.Issuer, md.JWKSURI, md.TokenEndpoint, md.AuthorizationEndpoint, md.IntrospectionEndpoint, md.RevocationEndpoint)
	}
	s.JWKSURI, s.TokenEndpoint, s.AuthorizationEndpoint = md.JWKSURI, md.TokenEndpoint, md.AuthorizationEndpoint
	s.IntrospectionEndpoint, s.RevocationEndpoint = md.IntrospectionEndpoint, md.RevocationEndpoint
	return nil
}

func moveFirst(algs []string, first string) []string {
	out := []string{first}
	for _, a := range algs {
		if a != first {
			out = append(out, a)
		}
	}
	return out
}

// Stop ends the server's process group (SIGTERM, then SIGKILL after two
// seconds) and waits until it has exited. It is safe to call more than once
// and from several goroutines.
func (s *Server) Stop() {
	if s == nil || s.cmd == nil {
		return
	}
	s.stopOnce.Do(func() {
		_ = s.stdin.Close()
		pgid := s.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(2 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-s.done
		}
		// Anything node left in its group (nothing, normally).
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		s.http.CloseIdleConnections()
	})
}

// Logs returns the tail of the server's stderr (and of stray stdout lines),
// for failure messages.
func (s *Server) Logs() string { return s.logs.String() }

// baseURL is scheme://host of the issuer.
func (s *Server) baseURL() string {
	u, _ := url.Parse(s.Issuer)
	return u.Scheme + "://" + u.Host
}

func (s *Server) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, truncate(body))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// Dir returns this package's directory, which holds the server scripts,
// package.json and node_modules. It is found from the source file's path, or
// else (for -trimpath builds) from the module root above the working
// directory.
func Dir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dir := filepath.Dir(file)
		if fileExists(filepath.Join(dir, "package.json")) {
			return dir, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("authservers: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, "go.mod")) {
			dir := filepath.Join(d, "internal", "authservers")
			if fileExists(filepath.Join(dir, "package.json")) {
				return dir, nil
			}
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", errors.New("authservers: cannot find internal/authservers/package.json")
}

var install struct {
	sync.Mutex
	done bool
}

const stampName = ".authservers-installed"

// EnsureInstalled runs npm ci in [Dir] unless node_modules holds an install
// of the current package-lock.json (a stamp file records the lock file's
// SHA-256). Concurrent callers, also in other processes, are serialised
// with an exclusive flock on Dir()/.npm-install.lock. Start calls it.
func EnsureInstalled(ctx context.Context) error {
	install.Lock()
	defer install.Unlock()
	if install.done {
		return nil
	}
	dir, err := Dir()
	if err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".npm-install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("authservers: %w", err)
	}
	defer lock.Close()
	for {
		err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return fmt.Errorf("authservers: flock: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("authservers: waiting for another npm ci: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	lockJSON, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("authservers: %w", err)
	}
	sum := sha256.Sum256(lockJSON)
	want := hex.EncodeToString(sum[:])
	stamp := filepath.Join(dir, "node_modules", stampName)
	if got, err := os.ReadFile(stamp); err == nil && strings.TrimSpace(string(got)) == want {
		install.done = true
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("authservers: npm is required to install the test servers: %w", err)
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("authservers: npm ci in %s: %w\n%s", dir, err, tail(out.Bytes(), 4096))
	}
	if err := os.WriteFile(stamp, []byte(want+"\n"), 0o644); err != nil {
		return fmt.Errorf("authservers: %w", err)
	}
	install.done = true
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func mergeEnv(base []string, set map[string]string) []string {
	out := make([]string, 0, len(base)+len(set))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			out = append(out, kv)
		}
	}
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	return out
}

// lineWriter calls line for every complete line written to it.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	line func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(strings.TrimSuffix(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a runaway line: keep memory bounded
		w.line(string(w.buf))
		w.buf = nil
	}
	return len(p), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func truncate(b []byte) string {
	const n = 512
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

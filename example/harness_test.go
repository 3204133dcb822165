// Package example_test checks the contract of the two example servers from
// outside: it builds example/nethttp and example/gin, runs them as processes
// on 127.0.0.1:0 and talks to them over HTTP, against in-process fake
// authorization servers (authtest) or in dev mode.
package example_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
)

// binaries are the example programs under test, built once by TestMain.
var binaries = []string{"nethttp", "gin"}

// tools are the other programs TestMain builds: the DPoP client dev mode
// prints.
var tools = []string{"dpopclient", "grpc"}

// binDir holds the built programs; empty under -short.
var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "oauthguard-example-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(binaries))
	all := append(append([]string(nil), binaries...), tools...)
	errs = make([]error, len(all))
	for i, b := range all {
		wg.Go(func() {
			out, err := exec.Command("go", "build", "-o", filepath.Join(dir, b), "./"+b).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("go build ./%s: %v\n%s", b, err, out)
			}
		})
	}
	wg.Wait()
	code := 0
	for _, err := range errs {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	if code == 0 {
		binDir = dir
		code = m.Run()
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// forEachBinary runs f for each program in parallel subtests.
func forEachBinary(t *testing.T, f func(t *testing.T, bin string)) {
	t.Helper()
	if binDir == "" {
		t.Skip("builds and runs the example programs; skipped with -short")
	}
	for _, b := range binaries {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

// readyLine is the line a server writes once it listens.
var readyLine = regexp.MustCompile(`listening on (http://[^\s"]+)`)

// output collects a process's stdout and stderr and reports the first ready
// line's URL on ready.
type output struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	seen  bool
	ready chan string
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	if !o.seen {
		if m := readyLine.FindSubmatch(o.buf.Bytes()); m != nil {
			o.seen = true
			o.ready <- string(m[1])
		}
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// proc is a running example program.
type proc struct {
	URL  string
	cmd  *exec.Cmd
	out  *output
	done chan struct{}
	err  error // Wait's result, once done is closed
}

// launch starts bin with args and exactly the configuration variables in
// env (the servers' variables are removed from the inherited environment). The process is killed when the test ends.
func launch(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, bin), args...)
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "ADDR", "ISSUER", "JWKS_URL", "AUDIENCE", "LEEWAY", "INTROSPECTION_CLIENT_ID", "INTROSPECTION_CLIENT_SECRET",
			"INTROSPECTION_URL", "INTROSPECTION_AUTH", "INTROSPECTION_ALLOW_NO_AUDIENCE", "REVOCATION_CHECK", "DPOP",
			"EXTERNAL_URL", "REDIS_URL", "METRICS_ADDR":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	p := &proc{cmd: cmd, out: &output{ready: make(chan string, 1)}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s output:\n%s", bin, p.out)
		}
	})
	return p
}

// start launches bin and waits for its ready line.
func start(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := launch(t, bin, env, args...)
	select {
	case p.URL = <-p.out.ready:
	case <-p.done:
		t.Fatalf("%s exited before it was ready (%v):\n%s", bin, p.err, p.out)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s printed no ready line within 30 s:\n%s", bin, p.out)
	}
	return p
}

// waitExit waits for p to exit on its own and returns Wait's result.
func (p *proc) waitExit(t *testing.T) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(30 * time.Second):
		t.Fatalf("still running after 30 s:\n%s", p.out)
		return nil
	}
}

// waitReady polls /readyz until the server holds signing keys.
func (p *proc) waitReady(t *testing.T) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for {
		if r := do(t, request{path: p.URL + "/readyz"}); r.status == http.StatusOK {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("/readyz never answered 200:\n%s", p.out)
		}
	}
}

// request is an HTTP request to send.
type request struct {
	method string // zero: GET, or POST with a body
	path   string // absolute URL
	auth   []string
	body   string
	// contentType replaces the application/json sent with a body ("-":
	// none).
	contentType string
}

// response is what came back.
type response struct {
	status int
	header http.Header
	body   []byte
}

var client = &http.Client{
	Timeout:       15 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func do(t *testing.T, rq request) response {
	t.Helper()
	return doWith(t, rq, nil)
}

// doWith is do with more request headers set by headers.
func doWith(t *testing.T, rq request, headers func(map[string][]string)) response {
	t.Helper()
	m := rq.method
	if m == "" {
		m = map[bool]string{false: "GET", true: "POST"}[rq.body != ""]
	}
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	req, err := http.NewRequest(m, rq.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rq.auth {
		req.Header.Add("Authorization", a)
	}
	switch {
	case rq.contentType == "-":
	case rq.contentType != "":
		req.Header.Set("Content-Type", rq.contentType)
	case rq.body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	if headers != nil {
		headers(req.Header)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", m, rq.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// jsonOf decodes a JSON object body, failing the test on anything else.
func jsonOf(t *testing.T, r response) map[string]any {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// authServer starts a fake authorization server for the test.
func authServer(t *testing.T, opts authtest.Options) *authtest.Server {
	t.Helper()
	as, err := authtest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(as.Close)
	return as
}

func mint(t *testing.T, p *authtest.Provider, tok authtest.Token) string {
	t.Helper()
	s, err := p.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func bearer(tok string) []string { return []string{"Bearer " + tok} }

// interrupt is SIGINT (on Windows, Signal fails and the test is skipped).
var interrupt = os.Interrupt

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// decodeSegment decodes a base64url JSON segment of a JWT into v.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

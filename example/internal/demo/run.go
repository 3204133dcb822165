package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Main runs a server whose router routes builds, and exits: 0 after a
// graceful shutdown on SIGINT or SIGTERM, 2 on bad configuration, 1 when
// serving fails. Logs (log/slog) and the dev-mode samples go to stderr, and
// so does the one ready line "listening on http://host:port", written once
// the listener is bound.
func Main(routes func(*Env) (http.Handler, error)) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stderr, routes)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer,
	routes func(*Env) (http.Handler, error)) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ln, env, code := Listen(args, getenv, stderr, "127.0.0.1:8080", log)
	if env == nil {
		return code
	}
	defer ln.Close()
	defer env.Close()
	base := "http://" + Reachable(ln.Addr())
	h, err := routes(env)
	if err != nil {
		fmt.Fprintf(stderr, "configuration error: %v\n", err)
		return 2
	}
	if env.Dev != nil {
		env.PrintSamples(stderr)
	} else {
		log.Info("trusting issuers, each verified with its own keys", "issuers", env.Issuers, "audience", env.Audience)
	}

	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      20 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	// The ready line, plain so that the URL is easy to take from it.
	fmt.Fprintf(stderr, "listening on %s\n", base)

	select {
	case err := <-served:
		log.Error("serving failed", "error", err.Error())
		return 1
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		log.Error("shutdown incomplete", "error", err.Error())
		return 1
	}
	return 0
}

// Listen is what every example does before it serves: it parses the
// configuration in args (defaultAddr is -addr's default), binds the
// listener and builds the Env, whose base URL is http:// and the listener's
// reachable address. When it cannot go on it has said why on stderr and
// returns a nil Env and the exit code (0 for -h, 2 for a configuration
// error). Close both when done.
func Listen(args []string, getenv func(string) string, stderr io.Writer, defaultAddr string, log *slog.Logger) (net.Listener, *Env, int) {
	cfg, err := ParseConfigAddr(args, getenv, stderr, defaultAddr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return nil, nil, 0
	case err != nil:
		fmt.Fprintf(stderr, "configuration error: %v (see -h)\n", err)
		return nil, nil, 2
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintf(stderr, "configuration error: -addr %q: %v\n", cfg.Addr, err)
		return nil, nil, 2
	}
	env, err := NewEnv(cfg, "http://"+Reachable(ln.Addr()), log)
	if err == nil && env.metrics != nil {
		if err = env.metrics.serve(cfg.MetricsAddr, stderr, log); err != nil {
			env.Close()
		}
	}
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "configuration error: %v\n", err)
		return nil, nil, 2
	}
	return ln, env, 0
}

// Reachable is addr as a client dials it: an unspecified IP (0.0.0.0, ::)
// becomes the loopback address of its family.
func Reachable(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	ip := tcp.IP
	switch {
	case ip.IsUnspecified() && ip.To4() != nil:
		ip = net.IPv4(127, 0, 0, 1)
	case ip.IsUnspecified():
		ip = net.IPv6loopback
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// Mux is an http.ServeMux whose own errors are the JSON bodies NotFound
// and MethodNotAllowed instead of text: its routes are "METHOD /path"
// patterns, and Handler adds, for each path, a pattern without a method
// answering 405 with the Allow header the ServeMux would send (the path's
// methods, HEAD with GET, sorted), and "/" answering 404. Explicit patterns
// rather than a ResponseWriter wrapper: a request to a route costs no
// more than on a plain ServeMux.
type Mux struct {
	mux     *http.ServeMux
	methods map[string][]string // path: its methods, as registered
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{mux: http.NewServeMux(), methods: map[string][]string{}} }

// Handle registers h for pattern, "METHOD /path".
func (m *Mux) Handle(pattern string, h http.Handler) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/") {
		panic("demo.Mux: pattern " + pattern + " is not METHOD /path")
	}
	m.mux.Handle(pattern, h)
	m.methods[path] = append(m.methods[path], method)
}

// HandleFunc registers f for pattern, "METHOD /path".
func (m *Mux) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(f))
}

// Handler registers the 404 and 405 answers and returns the ServeMux; call
// it once, after the routes.
func (m *Mux) Handler() http.Handler {
	for path, methods := range m.methods {
		if slices.Contains(methods, http.MethodGet) {
			methods = append(methods, http.MethodHead)
		}
		slices.Sort(methods)
		allow := strings.Join(slices.Compact(methods), ", ")
		m.mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", allow)
			MethodNotAllowed.Write(w)
		})
	}
	m.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { NotFound.Write(w) })
	return m.mux
}

// Bench is what BenchMe needs of a *testing.B.
type Bench interface {
	Fatal(args ...any)
	ReportAllocs()
	Loop() bool
}

// BenchMe measures GET /api/v1/me through the router of routes with one
// dev-mode token repeated (a token cache hit), in process: the request
// path that bench's floor mode measures under loopback load. Each
// example's BenchmarkMe calls it.
func BenchMe(b Bench, routes func(*Env) (http.Handler, error)) {
	env, err := NewEnv(Config{Audience: "https://api.example.test"}, "http://127.0.0.1:8080", slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	h, err := routes(env)
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "http://127.0.0.1:8080/api/v1/me", nil)
	r.Header.Set("Authorization", "Bearer "+env.Samples[0].Token)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body)
		}
	}
}

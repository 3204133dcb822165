// Command loadgen drives in-process loopback HTTP servers guarded by
// oauthguard and by auth0/go-jwt-middleware with a bounded number of
// requests, and prints requests/s, latency percentiles and CPU per request.
//
// Throughput mode starts, in this process, one net/http server per scenario on
// 127.0.0.1:0, each serving a tiny JSON handler:
//
//	noauth        no authentication (the baseline)
//	ours_cache    httpauth.Guard over a Validator with the default cache
//	ours_nocache  the same with CacheBytes -1
//	auth0         jwtmiddleware.New(validator.ValidateToken).CheckJWT
//
// and sends it -n requests (after a warm-up) over -c keep-alive connections,
// every request carrying the same valid token.
//
// Rotation mode measures the guarded server while its key source is in
// trouble: an authtest JWKS endpoint on loopback serves the keys; after a
// steady phase the provider rotates its key and its JWKS endpoint starts to
// hang, a refresh is kept in flight against the hanging endpoint and a
// prober sends tokens signed with the new (unknown) key. The measured requests
// carry a token whose key is already held; their p99 before and during the
// hang are compared.
//
// Client and server share this process and its cores, so CPU figures are of
// the whole process: the difference from the noauth scenario is what the
// guard costs. Only 127.0.0.1 is ever dialled, and every loop is bounded by a
// request count and by the -deadline.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/clientcasa/oauthguard/adapters/httpauth"
	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/bench"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/middleware"
)

type config struct {
	n, conns, warmup, rounds int
	alg, mode                string
	scenarios                []string
	rotN, rotCycles          int
	rotRate                  float64
	deadline                 time.Duration
	// floor mode
	nethttpBin, ginBin    string
	floorDistinct         int
	floorModes, floorAlgs []string
	floorRate             float64
}

func main() {
	var c config
	var scen string
	flag.IntVar(&c.n, "n", 50000, "measured requests per throughput scenario and round")
	flag.IntVar(&c.conns, "c", 64, "keep-alive connections (one client goroutine each)")
	flag.IntVar(&c.warmup, "warmup", 2000, "unmeasured requests before each measured phase")
	flag.IntVar(&c.rounds, "rounds", 3, "throughput rounds; the scenarios are interleaved and the median round reported")
	flag.StringVar(&c.alg, "alg", "RS256", "token algorithm: RS256, ES256 or EdDSA")
	flag.StringVar(&c.mode, "mode", "all", "throughput, rotation, all (both) or floor")
	flag.StringVar(&scen, "scenarios", "noauth,ours_cache,ours_nocache,auth0", "throughput scenarios, in order")
	flag.IntVar(&c.rotN, "rotation-n", 6000, "measured requests per rotation phase")
	flag.IntVar(&c.rotCycles, "rotation-cycles", 3, "rotation cycles (steady phase, then rotated-and-hanging phase)")
	flag.Float64Var(&c.rotRate, "rotation-rate", 3000, "paced requests/s in rotation mode (well below capacity, so p99 is service time)")
	flag.DurationVar(&c.deadline, "deadline", 150*time.Second, "hard deadline for the whole run")
	flag.StringVar(&c.nethttpBin, "nethttp-bin", "", "floor mode: the built example/nethttp binary")
	flag.StringVar(&c.ginBin, "gin-bin", "", "floor mode: the built example/gin binary")
	flag.StringVar(&serverCPU, "server-cpu", "", "floor mode: run the servers pinned to this CPU list (taskset -c), such as 1; run loadgen itself on the others")
	flag.IntVar(&c.floorDistinct, "floor-distinct", 3000, "floor mode: distinct tokens per alg (each sent once)")
	flag.Float64Var(&c.floorRate, "floor-rate", 0, "floor mode: paced requests/s (0: as fast as the connections go); "+
		"paced, both servers get the same arrivals, so their CPU per request compares with less noise")
	floorModes := flag.String("floor-modes", "repeated,distinct", "floor mode: repeated (one token) and/or distinct tokens")
	floorAlgs := flag.String("floor-algs", strings.Join(bench.Algs, ","), "floor mode: token algorithms")
	serveFloorStack := flag.String("serve-floor", "", "serve the no-auth floor of a stack (nethttp or gin) on 127.0.0.1:0 and nothing else")
	flag.Parse()
	if *serveFloorStack != "" {
		if err := serveFloor(*serveFloorStack, "127.0.0.1:0"); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	c.floorModes, c.floorAlgs = strings.Split(*floorModes, ","), strings.Split(*floorAlgs, ",")
	c.scenarios = strings.Split(scen, ",")
	if c.n <= 0 || c.conns <= 0 || c.warmup < 0 || c.rounds <= 0 || c.rotN <= 0 || c.rotCycles <= 0 || c.rotRate <= 0 || c.deadline <= 0 {
		fmt.Fprintln(os.Stderr, "loadgen: -n, -c, -rounds, -rotation-n, -rotation-cycles, -rotation-rate and -deadline must be positive, -warmup not negative")
		os.Exit(2)
	}
	if !slices.Contains(bench.Algs, c.alg) {
		fmt.Fprintf(os.Stderr, "loadgen: -alg must be one of %v\n", bench.Algs)
		os.Exit(2)
	}
	if c.mode == "floor" && c.nethttpBin == "" && c.ginBin == "" {
		fmt.Fprintln(os.Stderr, "loadgen:", errFloorFlags)
		os.Exit(2)
	}
	if c.mode != "throughput" && c.mode != "rotation" && c.mode != "all" && c.mode != "floor" {
		fmt.Fprintf(os.Stderr, "loadgen: unknown -mode %q\n", c.mode)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.deadline)
	// A watchdog in case something ignores the context.
	watchdog := time.AfterFunc(c.deadline+10*time.Second, func() {
		fmt.Fprintln(os.Stderr, "loadgen: hard deadline exceeded, exiting")
		os.Exit(3)
	})
	err := run(ctx, c, os.Stdout)
	watchdog.Stop()
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config, out io.Writer) error {
	fmt.Fprintf(out, "loadgen: %s, GOMAXPROCS=%d, NumCPU=%d, alg=%s, c=%d, warmup=%d\n",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), c.alg, c.conns, c.warmup)
	fmt.Fprintln(out, "client and server share this process and its cores: cpu/req is the whole process's")
	fmt.Fprintln(out, "user+system CPU (getrusage) per request; the difference from noauth is the guard's.")
	if c.mode == "throughput" || c.mode == "all" {
		if err := throughput(ctx, c, out); err != nil {
			return err
		}
	}
	if c.mode == "floor" {
		return floorMode(ctx, c, out)
	}
	if c.mode == "rotation" || c.mode == "all" {
		for _, cache := range []bool{true, false} {
			if err := rotation(ctx, c, cache, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// handlers builds the throughput scenarios' handlers over one fixture.
func handlers(f *bench.Fixture, alg string) (map[string]http.Handler, error) {
	guard := func(cacheBytes int64) (http.Handler, error) {
		v, err := f.Ours(cacheBytes)
		if err != nil {
			return nil, err
		}
		g, err := httpauth.New(httpauth.Options{Validator: v})
		if err != nil {
			return nil, err
		}
		return g.Authenticate(bench.OursHandler()), nil
	}
	cached, err := guard(0)
	if err != nil {
		return nil, err
	}
	uncached, err := guard(-1)
	if err != nil {
		return nil, err
	}
	kf, err := bench.Auth0KeyFunc(f.JWKS)
	if err != nil {
		return nil, err
	}
	av, err := bench.Auth0Validator(kf, alg)
	if err != nil {
		return nil, err
	}
	return map[string]http.Handler{
		"noauth":       bench.NoAuthHandler(),
		"ours_cache":   cached,
		"ours_nocache": uncached,
		"auth0":        jwtmiddleware.New(av.ValidateToken).CheckJWT(bench.Auth0Handler()),
	}, nil
}

// throughput runs every scenario -rounds times, interleaved so that a burst
// of noise from elsewhere on the machine hits all of them alike, and
// summarises each scenario by its median round (by requests/s).
func throughput(ctx context.Context, c config, out io.Writer) error {
	f, err := bench.NewFixture()
	if err != nil {
		return err
	}
	hs, err := handlers(f, c.alg)
	if err != nil {
		return err
	}
	token := f.Tokens[c.alg]
	servers := map[string]*server{}
	for _, name := range c.scenarios {
		h, ok := hs[name]
		if !ok {
			return fmt.Errorf("unknown scenario %q", name)
		}
		if servers[name], err = serve(h); err != nil {
			return err
		}
		defer servers[name].close()
	}
	fmt.Fprintf(out, "\n== throughput: %d requests per scenario and round, one %s token repeated, closed loop\n", c.n, c.alg)
	fmt.Fprintln(out, header)
	runs := map[string][]*stats{}
	for round := 1; round <= c.rounds; round++ {
		for _, name := range c.scenarios {
			tr := newTransport(c.conns)
			st, err := drive(ctx, tr, servers[name].url, []string{token}, c.warmup, c.n, c.conns, 0)
			tr.CloseIdleConnections()
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			runs[name] = append(runs[name], st)
			fmt.Fprintln(out, st.line(fmt.Sprintf("r%d %s", round, name)))
		}
	}
	fmt.Fprintf(out, "\n-- median of %d rounds (by req/s)\n", c.rounds)
	fmt.Fprintln(out, header)
	var base *stats
	for _, name := range c.scenarios {
		rs := slices.Clone(runs[name])
		slices.SortFunc(rs, func(a, b *stats) int { return cmp.Compare(a.rps(), b.rps()) })
		lo, med, hi := rs[0], rs[len(rs)/2], rs[len(rs)-1]
		fmt.Fprintln(out, med.line(name))
		note := fmt.Sprintf("req/s range %.0f..%.0f", lo.rps(), hi.rps())
		if name == "noauth" {
			base = med
		} else if base != nil {
			note += fmt.Sprintf("; %.2fx the req/s of noauth; %+.1fµs CPU/req over noauth", med.rps()/base.rps(),
				med.cpuPerReq()-base.cpuPerReq())
		}
		fmt.Fprintf(out, "   %s\n", note)
	}
	return nil
}

// rotation measures the guarded server before and during a key rotation
// whose JWKS endpoint then hangs. Each cycle has a fresh authtest server, key
// source, validator and guarded server, and runs a steady phase then a
// rotated-and-hanging phase (the hang cannot be undone without the source
// learning that the held key is gone); cycles alternate the two phases so
// that noise from elsewhere on the machine falls on both alike. The p99s are
// of all cycles' latencies pooled per phase.
func rotation(ctx context.Context, c config, cache bool, out io.Writer) error {
	name := "ours_nocache"
	if cache {
		name = "ours_cache"
	}
	fmt.Fprintf(out, "\n== rotation, %s, %s: %d cycles of two phases, %d requests per phase paced at %.0f/s, token's key held\n",
		name, c.alg, c.rotCycles, c.rotN, c.rotRate)
	fmt.Fprintln(out, header)
	var steady, hang, quietSteady, quietHang stats
	quiet := 0
	for cycle := 1; cycle <= c.rotCycles; cycle++ {
		s, h, err := rotationCycle(ctx, c, cache, cycle, out)
		if err != nil {
			return err
		}
		steady.add(s)
		hang.add(h)
		if s.others >= 0 && h.others >= 0 && s.othersPct() < quietPct && h.othersPct() < quietPct {
			quietSteady.add(s)
			quietHang.add(h)
			quiet++
		}
	}
	compare := func(label string, s, h *stats) {
		fmt.Fprintln(out, s.line(label+" steady"))
		fmt.Fprintln(out, h.line(label+" rotated+hanging"))
		p99s, p99h := s.pct(0.99), h.pct(0.99)
		verdict := "within"
		if float64(p99h) > 1.2*float64(p99s) {
			verdict = "OUTSIDE"
		}
		fmt.Fprintf(out, "   %s: p99 hanging/steady = %.2f (%s the 1.2x target); p50 hanging/steady = %.2f\n",
			label, float64(p99h)/float64(p99s), verdict, float64(h.pct(0.5))/float64(s.pct(0.5)))
	}
	compare("all", &steady, &hang)
	if quiet > 0 && quiet < c.rotCycles {
		fmt.Fprintf(out, "   %d of %d cycles had both phases quiet (other processes < %.0f%% of the machine):\n", quiet, c.rotCycles, quietPct)
		compare("quiet", &quietSteady, &quietHang)
	} else if quiet == 0 {
		fmt.Fprintf(out, "   no cycle had both phases quiet (other processes < %.0f%% of the machine)\n", quietPct)
	}
	return nil
}

// quietPct is the share of the machine other processes may take during a
// rotation phase for its cycle to count as quiet.
const quietPct = 10.0

func rotationCycle(ctx context.Context, c config, cache bool, cycle int, out io.Writer) (steady, hang *stats, err error) {
	as, err := authtest.Start(authtest.Options{Algs: []string{c.alg}})
	if err != nil {
		return nil, nil, err
	}
	defer as.Close()
	src, err := jwks.New(jwks.Config{
		JWKSURL:            as.JWKSURL(),
		Timeout:            2 * time.Second,
		UnknownKIDInterval: 100 * time.Millisecond,
		Logger:             bench.Quiet(),
	})
	if err != nil {
		return nil, nil, err
	}
	defer src.Close()
	if err := src.WaitReady(ctx); err != nil {
		return nil, nil, err
	}
	cacheBytes := int64(-1)
	if cache {
		cacheBytes = 0
	}
	cfg := bench.OursConfig(src, cacheBytes)
	cfg.Issuers = []string{as.Issuer()}
	cfg.Audiences = []string{as.Audience()}
	v, err := middleware.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	g, err := httpauth.New(httpauth.Options{Validator: v})
	if err != nil {
		return nil, nil, err
	}
	srv, err := serve(g.Authenticate(bench.OursHandler()))
	if err != nil {
		return nil, nil, err
	}
	defer srv.close()
	held, err := as.Mint(authtest.Token{Alg: c.alg, Claims: bench.Claims(time.Now(), nil)})
	if err != nil {
		return nil, nil, err
	}
	// One client for both phases: the hang phase must not pay for new
	// connections the steady phase had already set up.
	tr := newTransport(c.conns)
	defer tr.CloseIdleConnections()
	steady, err = drive(ctx, tr, srv.url, []string{held}, c.warmup, c.rotN, c.conns, c.rotRate)
	if err != nil {
		return nil, nil, fmt.Errorf("steady: %w", err)
	}
	fmt.Fprintln(out, steady.line(fmt.Sprintf("c%d steady", cycle)))

	// The authorization server rotates, and its JWKS endpoint hangs before
	// the source has seen the new document (the fault is set first, so no
	// fetch can slip in between).
	fetchesBefore := as.JWKSFetches()
	as.SetFault(authtest.FaultHang)
	if _, err := as.Rotate(c.alg); err != nil {
		return nil, nil, err
	}
	fresh, err := as.Mint(authtest.Token{Alg: c.alg, Claims: bench.Claims(time.Now(), nil)})
	if err != nil {
		return nil, nil, err
	}
	trouble, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Keep a refresh in flight against the hanging endpoint, as the
	// background schedule would.
	wg.Go(func() {
		for trouble.Err() == nil {
			rctx, cancel := context.WithTimeout(trouble, 5*time.Second)
			_ = src.Refresh(rctx)
			cancel()
		}
	})
	// Clients holding new tokens: their kid is unknown and the refresh it
	// joins hangs, so each waits (at most UnknownKIDWait) and gets 401.
	probe := &probeStats{statuses: map[int]int{}}
	wg.Go(func() { probe.run(trouble, srv.url, fresh) })

	hang, err = drive(ctx, tr, srv.url, []string{held}, 0, c.rotN, c.conns, c.rotRate)
	stop()
	wg.Wait()
	if err != nil {
		return nil, nil, fmt.Errorf("during hang: %w", err)
	}
	fmt.Fprintln(out, hang.line(fmt.Sprintf("c%d rotated+hanging", cycle)))
	fmt.Fprintf(out, "   JWKS requests during the hang: %d; new-kid probes: %d answered, %s, p50 %s\n",
		as.JWKSFetches()-fetchesBefore, probe.sent.Load(), probe.statusSummary(), probe.p50())
	return steady, hang, nil
}

type server struct {
	url   string
	close func()
}

// serve starts h on 127.0.0.1:0.
func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: nil}
	go func() { _ = s.Serve(ln) }()
	return &server{url: "http://" + ln.Addr().String() + "/api/v1/clients", close: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	}}, nil
}

// loopbackOnly dials 127.0.0.1 and nothing else.
func loopbackOnly(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host != "127.0.0.1" {
		return nil, fmt.Errorf("refusing to dial %q: only 127.0.0.1 is a target", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func newTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         loopbackOnly,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true,
		IdleConnTimeout:     30 * time.Second,
	}
}

type stats struct {
	lat      []time.Duration // sorted
	errors   int
	firstErr error
	elapsed  time.Duration
	cpu      time.Duration // process user+system CPU over the measured phase
	// others is the CPU time other processes used meanwhile (-1: unknown).
	others time.Duration
}

const header = "scenario                  requests  errors   req/s     p50       p99       max       cpu/req   cpu util  others"

// add pools o's requests into s (latencies re-sorted; times and CPU summed).
func (s *stats) add(o *stats) {
	s.lat = append(s.lat, o.lat...)
	slices.Sort(s.lat)
	s.errors += o.errors
	s.elapsed += o.elapsed
	s.cpu += o.cpu
	if s.others >= 0 && o.others >= 0 {
		s.others += o.others
	} else {
		s.others = -1
	}
}

func (s *stats) rps() float64 { return float64(len(s.lat)) / s.elapsed.Seconds() }

func (s *stats) cpuPerReq() float64 {
	return float64(s.cpu.Microseconds()) / float64(max(len(s.lat)+s.errors, 1))
}

func (s *stats) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	return s.lat[min(int(p*float64(len(s.lat))), len(s.lat)-1)]
}

func (s *stats) line(name string) string {
	util := s.cpu.Seconds() / s.elapsed.Seconds() / float64(runtime.GOMAXPROCS(0))
	others := "      ?"
	if s.others >= 0 {
		others = fmt.Sprintf("%6.0f%%", s.othersPct())
	}
	return fmt.Sprintf("%-22s %9d %7d %9.0f %9s %9s %9s %7.1fµs %7.0f%% %s", name, len(s.lat), s.errors, s.rps(),
		round(s.pct(0.5)), round(s.pct(0.99)), round(s.lat[len(s.lat)-1]), s.cpuPerReq(), 100*util, others)
}

// othersPct is the share of the machine (all its CPUs over the phase) that
// other processes took: noise from elsewhere.
func (s *stats) othersPct() float64 {
	return 100 * s.others.Seconds() / (s.elapsed.Seconds() * float64(runtime.NumCPU()))
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d >= 10*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}

// drive sends warmup and then n requests over conns connections of tr,
// request j carrying tokens[j % len(tokens)] (the warm-up: tokens[0]),
// each connection's requests one after another, and returns the measured
// phase's statistics. With rate > 0 the measured requests are paced at that
// many per second overall (request j is sent no earlier than j/rate after the
// start), so latency is service time rather than queueing; with rate 0 every
// connection sends as fast as it can. Any status other than 200 is an error;
// the run fails when more than 1% of requests fail or the deadline passes.
func drive(ctx context.Context, tr *http.Transport, url string, tokens []string, warmup, n, conns int, rate float64) (*stats, error) {
	return driveCPU(ctx, tr, url, tokens, warmup, n, conns, rate, bench.ProcessCPU)
}

// driveCPU is drive with cpu as the CPU clock of the measured phase (the
// server process's, in floor mode).
func driveCPU(ctx context.Context, tr *http.Transport, url string, tokens []string, warmup, n, conns int, rate float64,
	cpu func() time.Duration) (*stats, error) {
	var next atomic.Int64
	var errCount atomic.Int64
	var firstErr atomic.Value
	phase := func(total int, record bool, rate float64) [][]time.Duration {
		next.Store(0)
		lats := make([][]time.Duration, conns)
		start := time.Now()
		var wg sync.WaitGroup
		for i := range conns {
			wg.Go(func() {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				req.Header.Set("Authorization", "Bearer "+tokens[0])
				var mine []time.Duration
				if record {
					mine = make([]time.Duration, 0, total/conns+1)
				}
				for ctx.Err() == nil {
					j := next.Add(1) - 1
					if j >= int64(total) {
						break
					}
					if rate > 0 {
						if wait := time.Until(start.Add(time.Duration(float64(j) / rate * float64(time.Second)))); wait > 0 {
							time.Sleep(wait)
						}
					}
					if record && len(tokens) > 1 {
						req.Header.Set("Authorization", "Bearer "+tokens[j%int64(len(tokens))])
					}
					t0 := time.Now()
					err := roundTrip(tr, req)
					d := time.Since(t0)
					if err != nil {
						if record {
							errCount.Add(1)
						}
						firstErr.CompareAndSwap(nil, err)
						continue
					}
					if record {
						mine = append(mine, d)
					}
				}
				lats[i] = mine
			})
		}
		wg.Wait()
		return lats
	}
	if warmup > 0 {
		phase(warmup, false, 0)
	}
	runtime.GC()
	busy0, okBusy0 := bench.MachineBusy()
	cpu0, t0 := cpu(), time.Now()
	lats := phase(n, true, rate)
	st := &stats{elapsed: time.Since(t0), cpu: cpu() - cpu0, errors: int(errCount.Load()), others: -1}
	if busy1, ok := bench.MachineBusy(); ok && okBusy0 {
		st.others = max(busy1-busy0-st.cpu, 0)
	}
	for _, l := range lats {
		st.lat = append(st.lat, l...)
	}
	slices.Sort(st.lat)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("deadline passed after %d of %d requests: %w", len(st.lat), n, err)
	}
	if e, _ := firstErr.Load().(error); e != nil {
		st.firstErr = e
	}
	if len(st.lat) == 0 || st.errors*100 > n {
		return nil, fmt.Errorf("%d of %d requests failed; first: %v", st.errors, n, st.firstErr)
	}
	return st, nil
}

var errStatus = errors.New("unexpected status")

func roundTrip(tr http.RoundTripper, req *http.Request) error {
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w %d", errStatus, resp.StatusCode)
	}
	return nil
}

// probeStats are the requests with a token signed by the rotated-in key that
// the source has not seen.
type probeStats struct {
	sent     atomic.Int64
	mu       sync.Mutex
	statuses map[int]int
	lat      []time.Duration
}

// run starts one probe every 20 ms, each on its own goroutine (they wait
// for the hanging refresh concurrently, as real clients would), at most 1000,
// until ctx ends; it returns when they all have.
func (p *probeStats) run(ctx context.Context, url, token string) {
	tr := newTransport(64)
	defer tr.CloseIdleConnections()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for range 1000 {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return
			}
			req.Header.Set("Authorization", "Bearer "+token)
			start := time.Now()
			resp, err := tr.RoundTrip(req)
			if err != nil {
				return // cancelled at the end of the phase
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			d := time.Since(start)
			p.sent.Add(1)
			p.mu.Lock()
			p.statuses[resp.StatusCode]++
			p.lat = append(p.lat, d)
			p.mu.Unlock()
		})
	}
}

func (p *probeStats) statusSummary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var parts []string
	for code, n := range p.statuses {
		parts = append(parts, fmt.Sprintf("%d× %d", n, code))
	}
	slices.Sort(parts)
	return "statuses: " + strings.Join(parts, ", ")
}

func (p *probeStats) p50() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.lat) == 0 {
		return 0
	}
	l := slices.Clone(p.lat)
	slices.Sort(l)
	return round(l[len(l)/2])
}

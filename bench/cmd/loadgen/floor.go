package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/bench"
)

// Floor mode compares the example servers with the floor: each example
// binary (-nethttp-bin, -gin-bin) runs as its own process, trusting an
// authtest issuer served here, beside a process of this program serving
// the same routes with the same stack and no authentication
// (-serve-floor). Both get the same requests, GET /api/v1/me, with one
// token repeated and with distinct tokens, for each alg; the figure is the
// server process's CPU per request (the sum of its threads' on-CPU time,
// /proc/PID/task/*/schedstat), so the client's own work does not count.

const floorAudience = "https://api.example.test"

// serverCPU is -server-cpu: the CPU list (taskset -c) the server processes
// run on; empty: not pinned.
var serverCPU string

// serveFloor is -serve-floor: the floor server of stack on addr, with the
// ready line the examples print.
func serveFloor(stack, addr string) error {
	h := bench.FloorNetHTTP()
	if stack == "gin" {
		h = bench.FloorGin()
	} else if stack != "nethttp" {
		return fmt.Errorf("-serve-floor %q: want nethttp or gin", stack)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 20 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 32 << 10}
	return srv.Serve(ln)
}

// child is a server process.
type child struct {
	name string
	url  string
	cmd  *exec.Cmd
}

var listening = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)

// startChild runs bin with args, with a bare environment, and waits for its
// ready line and, when it has one, a 200 from /readyz.
func startChild(ctx context.Context, name, bin string, args ...string) (*child, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	if serverCPU != "" { // pinned: the server alone on its core, the client on the other
		cmd = exec.CommandContext(ctx, "taskset", append([]string{"-c", serverCPU, bin}, args...)...)
	}
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{name: name, cmd: cmd}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case c.url = <-found:
	case <-time.After(20 * time.Second):
		c.stop()
		return nil, fmt.Errorf("%s printed no ready line", name)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(c.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("%s: /readyz never answered 200", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *child) stop() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

// cpu is the process's CPU time: its threads' on-CPU nanoseconds.
func (c *child) cpu() time.Duration {
	dir := fmt.Sprintf("/proc/%d/task", c.cmd.Process.Pid)
	tasks, _ := os.ReadDir(dir)
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			total += n
		}
	}
	return time.Duration(total)
}

// floorMode runs the comparison: for each stack, its example and its floor;
// for each round, mode and alg, both servers in turn.
func floorMode(ctx context.Context, c config, out io.Writer) error {
	bins := map[string]string{"nethttp": c.nethttpBin, "gin": c.ginBin}
	as, err := authtest.Start(authtest.Options{Algs: bench.Algs, Audience: floorAudience})
	if err != nil {
		return err
	}
	defer as.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	type key struct{ stack, mode, alg, server string }
	runs := map[key][]*stats{}
	// tokens returns one token repeated, or tokens never sent before (so
	// that each is verified, in every round).
	tokens := func(mode, alg string) ([]string, error) {
		n := 1
		if mode == "distinct" {
			n = c.floorDistinct
		}
		out := make([]string, 0, n)
		for range n {
			t, err := as.Mint(authtest.Token{Alg: alg, Subject: bench.FloorIdentity.Sub, Scopes: bench.FloorIdentity.Scopes})
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
		return out, nil
	}
	fmt.Fprintf(out, "\n== floor: GET /api/v1/me, each example process beside its no-auth floor process; "+
		"cpu/req is the server process's (schedstat), %d rounds\n", c.rounds)
	for _, stack := range []string{"nethttp", "gin"} {
		if bins[stack] == "" {
			continue
		}
		ex, err := startChild(ctx, stack, bins[stack], "-addr", "127.0.0.1:0", "-issuer", as.Issuer(),
			"-jwks-url", as.JWKSURL(), "-audience", floorAudience)
		if err != nil {
			return err
		}
		defer ex.stop()
		fl, err := startChild(ctx, stack+" floor", self, "-serve-floor", stack)
		if err != nil {
			return err
		}
		defer fl.stop()
		fmt.Fprintln(out, header)
		for round := 1; round <= c.rounds; round++ {
			for _, mode := range c.floorModes {
				for _, alg := range c.floorAlgs {
					toks, err := tokens(mode, alg)
					if err != nil {
						return err
					}
					n := c.n
					if mode == "distinct" {
						n = len(toks) // each token once: every one is verified
					}
					// Which server goes first alternates from round to
					// round, so that an order effect cancels out.
					order := []*child{fl, ex}
					if round%2 == 0 {
						order = []*child{ex, fl}
					}
					for _, srv := range order {
						// Distinct tokens: the floor ignores them, so both
						// servers may get the same ones.
						tr := newTransport(c.conns)
						st, err := driveCPU(ctx, tr, srv.url+"/api/v1/me", toks, c.warmup, n, c.conns, c.floorRate, srv.cpu)
						tr.CloseIdleConnections()
						if err != nil {
							return fmt.Errorf("%s %s %s: %w", srv.name, mode, alg, err)
						}
						name := "example"
						if srv == fl {
							name = "floor"
						}
						runs[key{stack, mode, alg, name}] = append(runs[key{stack, mode, alg, name}], st)
						fmt.Fprintln(out, st.line(fmt.Sprintf("r%d %s %s %s %s", round, stack, mode, alg, name)))
					}
				}
			}
		}
		ex.stop() // stopped twice (deferred too): Kill and Wait of an ended process only err
		fl.stop()
	}
	fmt.Fprintf(out, "\n-- server CPU per request, median of %d rounds (range); example ÷ floor is the median of the "+
		"rounds' own ratios (each round runs both servers back to back), with their range\n", c.rounds)
	fmt.Fprintln(out, "stack    mode      alg     floor                 example               example ÷ floor")
	pooled := map[[2]string][]float64{}
	for _, stack := range []string{"nethttp", "gin"} {
		for _, mode := range c.floorModes {
			for _, alg := range c.floorAlgs {
				f, e := runs[key{stack, mode, alg, "floor"}], runs[key{stack, mode, alg, "example"}]
				if len(f) == 0 || len(f) != len(e) {
					continue
				}
				var fv, ev, ratio []float64
				for i := range f {
					fv, ev = append(fv, f[i].cpuPerReq()), append(ev, e[i].cpuPerReq())
					ratio = append(ratio, e[i].cpuPerReq()/f[i].cpuPerReq())
				}
				fl, fm, fh := medianRange(fv)
				el, em, eh := medianRange(ev)
				rl, rm, rh := medianRange(ratio)
				fmt.Fprintf(out, "%-8s %-9s %-7s %5.1fµs (%4.1f–%4.1f)  %5.1fµs (%4.1f–%4.1f)  %.3f (%.3f–%.3f)\n",
					stack, mode, alg, fm, fl, fh, em, el, eh, rm, rl, rh)
				pooled[[2]string{stack, mode}] = append(pooled[[2]string{stack, mode}], ratio...)
			}
		}
	}
	fmt.Fprintln(out, "\n-- example ÷ floor, every round's ratio of every alg pooled: median and its distribution-free 95% confidence interval")
	for _, stack := range []string{"nethttp", "gin"} {
		for _, mode := range c.floorModes {
			if r := pooled[[2]string{stack, mode}]; len(r) > 0 {
				lo, med, hi := medianCI(r)
				fmt.Fprintf(out, "%-8s %-9s %3d rounds  %.3f (%.3f–%.3f)\n", stack, mode, len(r), med, lo, hi)
			}
		}
	}
	return nil
}

// medianCI returns the median of v and the order statistics that bound a
// 95% confidence interval for it (the normal approximation of the binomial:
// ranks n/2 ∓ 0.98·√n), without assuming how v is distributed.
func medianCI(v []float64) (lo, med, hi float64) {
	v = slices.Clone(v)
	slices.SortFunc(v, cmp.Compare[float64])
	n := float64(len(v))
	l := max(int(math.Floor(n/2-0.98*math.Sqrt(n))), 0)
	h := min(int(math.Ceil(n/2+0.98*math.Sqrt(n))), len(v)-1)
	_, med, _ = medianRange(v)
	return v[l], med, v[h]
}

// medianRange returns the smallest, the median and the largest of v.
func medianRange(v []float64) (lo, med, hi float64) {
	v = slices.Clone(v)
	slices.SortFunc(v, cmp.Compare[float64])
	return v[0], v[len(v)/2], v[len(v)-1]
}

var errFloorFlags = errors.New("-mode floor needs -nethttp-bin or -gin-bin")

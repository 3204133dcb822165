// Command benchtables reads the raw output of the bench module's benchmarks
// (go test -bench, any -count) and prints the README's tables as Markdown:
// the median of each benchmark's runs, the overhead of ours above the
// signature-verification floor, ours against each peer, the parallel
// figures and the full-request ratios with their targets.
//
// Usage: go run ./cmd/benchtables results/bench.txt
//
// benchstat gives the spread and the confidence intervals; this gives the
// derived figures benchstat cannot (differences to the floor, ratios between
// implementations).
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// sample is one benchmark's runs: wall time, process CPU time, bytes and
// allocations per op.
type sample struct{ ns, cpu, bytes, allocs []float64 }

// key is family ("Validate"), alg and impl.
type key struct{ family, alg, impl string }

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtables <go test -bench output>")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	data, err := parse(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	report(os.Stdout, data)
}

// parse reads lines such as
//
//	BenchmarkValidate/alg=RS256/impl=ours-2  9080  27243 ns/op  2800 B/op  17 allocs/op
func parse(r io.Reader) (map[key]*sample, error) {
	data := map[key]*sample{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := fields[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the -GOMAXPROCS suffix
			}
		}
		parts := strings.Split(strings.TrimPrefix(name, "Benchmark"), "/")
		k := key{family: parts[0]}
		for _, p := range parts[1:] {
			switch {
			case strings.HasPrefix(p, "alg="):
				k.alg = p[4:]
			case strings.HasPrefix(p, "impl="):
				k.impl = p[5:]
			case strings.HasPrefix(p, "part="):
				k.impl = p[5:]
			}
		}
		s := data[k]
		if s == nil {
			s = &sample{}
			data[k] = s
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", sc.Text(), err)
			}
			switch fields[i+1] {
			case "ns/op":
				s.ns = append(s.ns, v)
			case "cpu-ns/op":
				s.cpu = append(s.cpu, v)
			case "B/op":
				s.bytes = append(s.bytes, v)
			case "allocs/op":
				s.allocs = append(s.allocs, v)
			}
		}
	}
	return data, sc.Err()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is (max-min)/median in percent, a plain noise indicator.
func spread(v []float64) float64 {
	m := median(v)
	if m == 0 {
		return 0
	}
	return 100 * (slices.Max(v) - slices.Min(v)) / m
}

var algs = []string{"RS256", "ES256", "EdDSA"}

func dur(ns float64) string {
	switch {
	case ns >= 1000:
		return fmt.Sprintf("%.1f µs", ns/1000)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// wall and cpu are the medians of a sample's two time metrics.
func wall(s *sample) float64 { return median(s.ns) }
func cpu(s *sample) float64 {
	if len(s.cpu) == 0 {
		return median(s.ns)
	}
	return median(s.cpu)
}

func report(w io.Writer, d map[key]*sample) {
	get := func(family, alg, impl string) *sample { return d[key{family, alg, impl}] }
	n := 0
	for _, s := range d {
		n = max(n, len(s.ns))
	}
	fmt.Fprintf(w, "Medians of up to %d runs each. time = wall time per op (ns/op); cpu = process CPU time per op\n", n)
	fmt.Fprintln(w, "(cpu-ns/op, getrusage: GC on the other core included, time descheduled by other processes excluded).")
	fmt.Fprintln(w, "spread = (max-min)/median of the runs, a plain noise indicator.")

	impls := []string{"floor", "ours", "ours_cache_hit", "golangjwt_keyfunc", "auth0", "jwx"}
	fmt.Fprintln(w, "\n### Per validation (BenchmarkValidate)")
	for _, alg := range algs {
		floor, ours := get("Validate", alg, "floor"), get("Validate", alg, "ours")
		if floor == nil || ours == nil {
			continue
		}
		fmt.Fprintf(w, "\n%s\n\n| impl | time/op | spread | cpu/op | spread | B/op | allocs/op | cpu × floor | cpu × ours |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n", alg)
		for _, impl := range impls {
			s := get("Validate", alg, impl)
			if s == nil {
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %.0f%% | %s | %.0f%% | %.0f | %.0f | %.2f | %.2f |\n", impl, dur(wall(s)), spread(s.ns),
				dur(cpu(s)), spread(s.cpu), median(s.bytes), median(s.allocs), cpu(s)/cpu(floor), cpu(s)/cpu(ours))
		}
	}

	fmt.Fprintln(w, "\n### Ours above the floor (no cache)")
	fmt.Fprintln(w, "\n| alg | floor time | ours time | overhead (time) | floor cpu | ours cpu | overhead (cpu) | overhead allocs | overhead B |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, alg := range algs {
		floor, ours := get("Validate", alg, "floor"), get("Validate", alg, "ours")
		if floor == nil || ours == nil {
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2f µs | %s | %s | %.2f µs | %+.0f | %+.0f |\n", alg,
			dur(wall(floor)), dur(wall(ours)), (wall(ours)-wall(floor))/1000,
			dur(cpu(floor)), dur(cpu(ours)), (cpu(ours)-cpu(floor))/1000,
			median(ours.allocs)-median(floor.allocs), median(ours.bytes)-median(floor.bytes))
	}

	peers := []string{"golangjwt_keyfunc", "auth0", "jwx"}
	fmt.Fprintln(w, "\n### Peers relative to ours (cpu/op)")
	fmt.Fprintln(w, "\npeer ÷ ours: whole validation; overhead ratio: (peer − floor) ÷ (ours − floor), the work each adds to the signature check.")
	fmt.Fprintln(w, "\n| alg | golangjwt_keyfunc ÷ ours | auth0 ÷ ours | jwx ÷ ours | overhead golangjwt | overhead auth0 | overhead jwx | auth0 ÷ ours_cache_hit |\n|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, alg := range algs {
		floor, ours, hit := get("Validate", alg, "floor"), get("Validate", alg, "ours"), get("Validate", alg, "ours_cache_hit")
		if floor == nil || ours == nil || hit == nil {
			continue
		}
		row := "| " + alg
		for _, p := range peers {
			if s := get("Validate", alg, p); s != nil {
				row += fmt.Sprintf(" | %.2f×", cpu(s)/cpu(ours))
			} else {
				row += " | –"
			}
		}
		for _, p := range peers {
			if s := get("Validate", alg, p); s != nil {
				row += fmt.Sprintf(" | %.1f×", (cpu(s)-cpu(floor))/(cpu(ours)-cpu(floor)))
			} else {
				row += " | –"
			}
		}
		if a := get("Validate", alg, "auth0"); a != nil {
			row += fmt.Sprintf(" | %.0f×", cpu(a)/cpu(hit))
		}
		fmt.Fprintln(w, row+" |")
	}

	fmt.Fprintln(w, "\n### Parallel (BenchmarkValidateParallel: every core busy; time = wall per validation, cpu = CPU per validation)")
	fmt.Fprintln(w, "\n| alg | ours time | ours_cache_hit time | auth0 time | ours ÷ auth0 (time) | ours cpu | auth0 cpu |\n|---|---:|---:|---:|---:|---:|---:|")
	for _, alg := range algs {
		o, h, a := get("ValidateParallel", alg, "ours"), get("ValidateParallel", alg, "ours_cache_hit"), get("ValidateParallel", alg, "auth0")
		if o == nil || h == nil || a == nil {
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.2f | %s | %s |\n", alg, dur(wall(o)), dur(wall(h)), dur(wall(a)),
			wall(o)/wall(a), dur(cpu(o)), dur(cpu(a)))
	}

	fmt.Fprintln(w, "\n### Full request through httptest (BenchmarkRequest)")
	fmt.Fprintln(w, "\nEach ratio by time, then by cpu; met = both meet the target, borderline = one does.")
	fmt.Fprintln(w, "\n| alg | noauth | ours | ours_cache_hit | auth0 | allocs noauth/ours/hit/auth0 | ours ÷ auth0 (target ≤ 0.6) | auth0 ÷ ours_cache_hit (target ≥ 40) |\n|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, alg := range algs {
		na, o, h, a := get("Request", alg, "noauth"), get("Request", alg, "ours"), get("Request", alg, "ours_cache_hit"), get("Request", alg, "auth0")
		if na == nil || o == nil || h == nil || a == nil {
			continue
		}
		r1, c1 := wall(o)/wall(a), cpu(o)/cpu(a)
		r2, c2 := wall(a)/wall(h), cpu(a)/cpu(h)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.0f/%.0f/%.0f/%.0f | %.2f / %.2f %s | %.1f / %.1f %s |\n", alg,
			dur(wall(na)), dur(wall(o)), dur(wall(h)), dur(wall(a)),
			median(na.allocs), median(o.allocs), median(h.allocs), median(a.allocs),
			r1, c1, verdict(r1 <= 0.6, c1 <= 0.6), r2, c2, verdict(r2 >= 40, c2 >= 40))
	}

	fmt.Fprintln(w, "\n### What our guard adds to a cache-hit request (BenchmarkRequestParts, time/op)")
	fmt.Fprintln(w, "\n| alg | bearer_token | validate_cache_hit | claims_in_context | sum | request ours_cache_hit − noauth |\n|---|---:|---:|---:|---:|---:|")
	for _, alg := range algs {
		bt, vc, cc := get("RequestParts", alg, "bearer_token"), get("RequestParts", alg, "validate_cache_hit"), get("RequestParts", alg, "claims_in_context")
		na, h := get("Request", alg, "noauth"), get("Request", alg, "ours_cache_hit")
		if bt == nil || vc == nil || cc == nil || na == nil || h == nil {
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", alg, dur(wall(bt)), dur(wall(vc)), dur(wall(cc)),
			dur(wall(bt)+wall(vc)+wall(cc)), dur(wall(h)-wall(na)))
	}
}

func verdict(a, b bool) string {
	switch {
	case a && b:
		return "met"
	case a || b:
		return "borderline"
	}
	return "**missed**"
}

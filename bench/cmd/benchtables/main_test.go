package main

import (
	"strings"
	"testing"
)

const rawOutput = `goos: linux
BenchmarkValidate/alg=RS256/impl=floor-2  100  20000 ns/op  1000 B/op  9 allocs/op
BenchmarkValidate/alg=RS256/impl=floor-2  100  22000 ns/op  1000 B/op  9 allocs/op
BenchmarkValidate/alg=RS256/impl=floor-2  100  21000 ns/op  1000 B/op  9 allocs/op
BenchmarkValidate/alg=RS256/impl=ours-2  100  24000 ns/op  2000 B/op  17 allocs/op
BenchmarkValidate/alg=RS256/impl=ours_cache_hit-2  100  250 ns/op  256 B/op  1 allocs/op
BenchmarkValidate/alg=RS256/impl=auth0-2  100  45000 ns/op  9000 B/op  185 allocs/op
BenchmarkRequest/alg=RS256/impl=noauth-2  100  400 ns/op  1000 B/op  9 allocs/op
BenchmarkRequest/alg=RS256/impl=ours-2  100  25000 ns/op  4000 B/op  28 allocs/op
BenchmarkRequest/alg=RS256/impl=ours_cache_hit-2  100  1000 ns/op  1600 B/op  12 allocs/op
BenchmarkRequest/alg=RS256/impl=auth0-2  100  50000 ns/op  15000 B/op  202 allocs/op
PASS
`

func TestReport(t *testing.T) {
	d, err := parse(strings.NewReader(rawOutput))
	if err != nil {
		t.Fatal(err)
	}
	if got := median(d[key{"Validate", "RS256", "floor"}].ns); got != 21000 {
		t.Errorf("median floor = %v, want 21000", got)
	}
	var out strings.Builder
	report(&out, d)
	for _, want := range []string{
		"| RS256 | 21.0 µs | 24.0 µs | 3.00 µs | 21.0 µs | 24.0 µs | 3.00 µs | +8 | +1000 |", // overhead above the floor
		"| 0.50 / 0.50 met | 50.0 / 50.0 met |",                                              // full-request ratios and targets
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

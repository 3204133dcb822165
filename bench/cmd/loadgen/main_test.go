package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunSmall runs both modes with a handful of requests: every scenario
// answers 200 over loopback and the report has every section.
func TestRunSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := config{n: 200, conns: 4, warmup: 20, rounds: 1, alg: "EdDSA", mode: "all",
		scenarios: []string{"noauth", "ours_cache", "ours_nocache", "auth0"}, rotN: 300, rotCycles: 2, rotRate: 3000, deadline: time.Minute}
	var out strings.Builder
	if err := run(ctx, c, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"\nnoauth ", "\nours_cache ", "\nours_nocache ", "\nauth0 ", "== rotation, ours_cache",
		"== rotation, ours_nocache", "p99 hanging/steady"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestLoopbackOnly: the dialer refuses every address but 127.0.0.1, before
// any connection is attempted.
func TestLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"10.0.0.1:80", "[::1]:80", "localhost:80", "example.com:443", "127.0.0.2:80"} {
		if _, err := loopbackOnly(context.Background(), "tcp", addr); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("%s: got %v, want a refusal", addr, err)
		}
	}
}

// medianCI: the median and the ranks n/2 ∓ 0.98·√n of the sorted values.
func TestMedianCI(t *testing.T) {
	v := make([]float64, 100)
	for i := range v {
		v[i] = float64(100 - i) // unsorted on purpose
	}
	if lo, med, hi := medianCI(v); lo != 41 || med != 51 || hi != 61 {
		t.Errorf("medianCI(1..100) = %v, %v, %v; want 41, 51, 61", lo, med, hi)
	}
	if lo, med, hi := medianCI([]float64{2}); lo != 2 || med != 2 || hi != 2 {
		t.Errorf("one value: %v, %v, %v", lo, med, hi)
	}
}

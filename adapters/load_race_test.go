//go:build race

package adapters_test

// loadRequests is smaller under the race detector, which slows every request
// about tenfold on these loopback requests; the full count runs without it.
const loadRequests = 2_000

//go:build !race

package adapters_test

// loadRequests is the request count of TestLoadWithJWKSFaults.
const loadRequests = 100_000

package grpcauth_test

import (
	"context"
	"sync"
	"testing"

	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/middleware"
	"google.golang.org/grpc/metadata"
)

// decisions is a middleware.Observer that counts by reason ("" accepted).
type decisions struct {
	mu      sync.Mutex
	n       map[string]int
	issuers map[string]string // reason -> the issuer reported with it
}

func (d *decisions) Decided(_ context.Context, issuer string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n, d.issuers = map[string]int{}, map[string]string{}
	}
	d.n[middleware.Reason(err)]++
	d.issuers[middleware.Reason(err)] = issuer
}

// TestObserverOncePerCall: each unary call and each stream is one
// decision, the stream's when its first message passed the organization
// rule; public calls without a token are none.
func TestObserverOncePerCall(t *testing.T) {
	var d decisions
	f := newFixtureDown(t, methods(), false, &d)
	read := metadata.Pairs("authorization", "Bearer "+f.mint(t, authtest.Token{Scopes: []string{"read:clients"}}))
	none := metadata.Pairs("authorization", "Bearer "+f.mint(t, authtest.Token{}))
	for _, c := range []struct {
		method, org string
		md          metadata.MD
		ok          bool
	}{
		{check, "org_acme", read, true}, {check, "org_acme", read, true}, {check, "org_globex", read, false},
		{check, "org_acme", none, false}, {check, "org_acme", nil, false},
		{watch, "org_acme", read, true}, {watch, "org_globex", read, false}, {list, "", nil, true},
	} {
		if _, err := f.call(c.method, c.org, c.md); (err == nil) != c.ok {
			t.Fatalf("%s %s: %v", c.method, c.org, err)
		}
	}
	want := map[string]int{"": 3, "forbidden": 2, "insufficient_scope": 1, "no_credentials": 1}
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, v := range want {
		if d.n[k] != v {
			t.Errorf("decisions %q = %d, want %d (all: %v)", k, d.n[k], v, d.n)
		}
	}
	if len(d.n) != len(want) {
		t.Errorf("decisions %v, want %v", d.n, want)
	}
	// A rule's refusal names the verified token's issuer; a missing token none.
	for reason, iss := range map[string]string{"insufficient_scope": f.p.Issuer(), "forbidden": f.p.Issuer(), "no_credentials": ""} {
		if d.issuers[reason] != iss {
			t.Errorf("%s reported with issuer %q, want %q", reason, d.issuers[reason], iss)
		}
	}
}

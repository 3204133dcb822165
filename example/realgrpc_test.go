//go:build unix

package example_test

import (
	"context"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/example/grpc/demov1"
	"github.com/clientcasa/oauthguard/internal/authservers"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

var grpcReady = regexp.MustCompile(`listening on grpc://(\S+)`)

// grpcAPI runs the gRPC example against the real server with the issuer
// alone: client-credentials tokens of every alg pass, scopes and
// organizations are enforced, the other instance's tokens are refused.
// grpcAddr waits for the gRPC example's ready line and returns its address.
func grpcAddr(t *testing.T, p *proc) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := grpcReady.FindStringSubmatch(p.out.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("the gRPC example never listened:\n%s", p.out)
	return ""
}

func (s *realSetup) grpcAPI(t *testing.T) {
	p := launch(t, "grpc", []string{"LEEWAY=" + realLeeway.String()}, "-addr", "127.0.0.1:0", "-issuer", s.as.Issuer, "-audience", audience)
	addr := grpcAddr(t, p)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := demov1.NewDemoClient(conn)
	with := func(tok string) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t.Cleanup(cancel)
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	// The keys are discovered in the background: the first call may meet
	// Unavailable for a moment.
	first := s.algTokens[s.as.Algs[0]]
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, err := c.Me(with(first), &demov1.MeRequest{})
		if status.Code(err) != codes.Unavailable || time.Now().After(deadline) {
			break
		}
	}
	for _, alg := range s.as.Algs {
		tok := ccToken(t, s.as, s.as.Clients.Full, authservers.AlgResource(alg), s.as.Clients.Full.Scope)
		r, err := c.ListClients(with(tok), &demov1.ListClientsRequest{})
		if err != nil || len(r.GetClients()) == 0 || r.GetClients()[0].GetOrganizationId() != s.as.Clients.Full.Organization {
			t.Errorf("%s token: ListClients = %v, %v", alg, r, err)
		}
	}
	reader := ccToken(t, s.as, s.as.Clients.Reader, audience, s.as.Clients.Reader.Scope)
	if _, err := c.CreateInvoice(with(reader), &demov1.CreateInvoiceRequest{ClientId: "cli_acme_1", Amount: 1}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("reader CreateInvoice: %v, want PermissionDenied", err)
	}
	globex := ccToken(t, s.as, s.as.Clients.Globex, audience, s.as.Clients.Globex.Scope)
	if _, err := c.ListOrganizationClients(with(globex), &demov1.ListOrganizationClientsRequest{OrganizationId: s.as.Clients.Full.Organization}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("globex token for org_acme: %v, want PermissionDenied", err)
	}
	foreign := ccToken(t, s.other, s.other.Clients.Full, audience, s.other.Clients.Full.Scope)
	if _, err := c.Me(with(foreign), &demov1.MeRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("other instance's token: %v, want Unauthenticated", err)
	}

	// Rotation while the gRPC server runs: a token of the new kid passes
	// once the unknown kid's refresh is done (as over HTTP, a few tries on
	// a loaded machine), and one signed before the rotation still does.
	full := s.as.Clients.Full
	before := ccToken(t, s.as, full, audience, full.Scope)
	rot, err := s.as.Rotate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	after := ccToken(t, s.as, full, audience, full.Scope)
	if kidOf(t, after) == kidOf(t, before) || !slices.Contains(rot.Retired, kidOf(t, before)) {
		t.Fatalf("rotation %+v: kid %s before, %s after", rot, kidOf(t, before), kidOf(t, after))
	}
	for deadline := time.Now().Add(15 * time.Second); ; waitUntil(t, time.Now().Add(200*time.Millisecond)) {
		r, err := c.Me(with(after), &demov1.MeRequest{})
		if err == nil && r.GetSub() == full.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a token of the new kid %s over gRPC: %v", kidOf(t, after), err)
		}
	}
	if r, err := c.Me(with(before), &demov1.MeRequest{}); err != nil || r.GetOrganizationId() != full.Organization {
		t.Fatalf("a token signed before the rotation, over gRPC: %v, %v", r, err)
	}
}

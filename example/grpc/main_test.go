package main

import (
	"context"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/example/grpc/demov1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// syncBuffer is the server's stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	listening = regexp.MustCompile(`listening on grpc://(\S+)`)
	sample    = regexp.MustCompile(`(?m)^go run ./example/grpc/client -addr \S+ -token (\S+).* (\w+)$`)
)

// TestDevMode runs the server in dev mode on 127.0.0.1:0, takes the tokens
// it prints and holds the service to its contract over a real connection.
func TestDevMode(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, func(string) string { return "" }, out) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit code %d after the interrupt", code)
		}
	})
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("no ready line:\n%s", out)
	}
	tokens := map[string][]string{} // by method printed
	for _, m := range sample.FindAllStringSubmatch(out.String(), -1) {
		tokens[m[2]] = append(tokens[m[2]], m[1])
	}
	// The HTTP samples: reader, writer, globex reader, expired, opaque, revoked.
	if len(tokens["ListClients"]) != 2 || len(tokens["CreateInvoice"]) != 1 || len(tokens["ListOrganizationClients"]) != 1 || len(tokens["Me"]) != 2 {
		t.Fatalf("printed samples %v:\n%s", tokens, out)
	}
	reader, writer, globex := tokens["ListClients"][0], tokens["CreateInvoice"][0], tokens["ListOrganizationClients"][0]
	opaque, expired := tokens["ListClients"][1], tokens["Me"][0]

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := demov1.NewDemoClient(conn)
	with := func(tok string) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t.Cleanup(cancel)
		if tok == "" {
			return ctx
		}
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	want := func(t *testing.T, err error, code codes.Code, trailer metadata.MD, challenge string) {
		t.Helper()
		if status.Code(err) != code {
			t.Fatalf("status %v, want %v", err, code)
		}
		ch := trailer.Get("www-authenticate")
		if challenge == "" && len(ch) != 0 || challenge != "" && (len(ch) != 1 || !strings.HasPrefix(ch[0], challenge)) {
			t.Fatalf("www-authenticate %q, want %q", ch, challenge)
		}
	}

	t.Run("me", func(t *testing.T) {
		r, err := c.Me(with(reader), &demov1.MeRequest{})
		if err != nil || r.GetSub() != "user_alice" || r.GetOrganizationId() != "org_acme" || !slices.Equal(r.GetScopes(), []string{"read:clients"}) {
			t.Fatalf("Me = %v, %v", r, err)
		}
		var tr metadata.MD
		_, err = c.Me(with(""), &demov1.MeRequest{}, grpc.Trailer(&tr))
		want(t, err, codes.Unauthenticated, tr, `Bearer realm="api"`)
		_, err = c.Me(with(expired), &demov1.MeRequest{}, grpc.Trailer(&tr))
		want(t, err, codes.Unauthenticated, tr, `Bearer realm="api", error="invalid_token"`)
	})
	t.Run("list_clients", func(t *testing.T) {
		for _, tok := range []string{reader, opaque} {
			r, err := c.ListClients(with(tok), &demov1.ListClientsRequest{})
			if err != nil || len(r.GetClients()) != 3 || r.GetClients()[0].GetOrganizationId() != "org_acme" {
				t.Fatalf("ListClients = %v, %v", r, err)
			}
		}
		r, err := c.ListClients(with(reader), &demov1.ListClientsRequest{PageSize: 2})
		if err != nil || len(r.GetClients()) != 2 {
			t.Fatalf("ListClients page_size 2 = %v, %v", r, err)
		}
	})
	t.Run("create_invoice", func(t *testing.T) {
		inv, err := c.CreateInvoice(with(writer), &demov1.CreateInvoiceRequest{ClientId: "cli_acme_2", Amount: 500})
		if err != nil || inv.GetId() == "" || inv.GetClientId() != "cli_acme_2" || inv.GetAmount() != 500 || inv.GetOrganizationId() != "org_acme" {
			t.Fatalf("CreateInvoice = %v, %v", inv, err)
		}
		_, err = c.CreateInvoice(with(writer), &demov1.CreateInvoiceRequest{ClientId: "cli_globex_1", Amount: 500})
		want(t, err, codes.NotFound, nil, "")
		var tr metadata.MD
		_, err = c.CreateInvoice(with(reader), &demov1.CreateInvoiceRequest{ClientId: "cli_acme_2", Amount: 500}, grpc.Trailer(&tr))
		want(t, err, codes.PermissionDenied, tr, `Bearer realm="api", error="insufficient_scope"`)
	})
	t.Run("list_organization_clients", func(t *testing.T) {
		r, err := c.ListOrganizationClients(with(globex), &demov1.ListOrganizationClientsRequest{OrganizationId: "org_globex"})
		if err != nil || len(r.GetClients()) != 3 || r.GetClients()[0].GetOrganizationId() != "org_globex" {
			t.Fatalf("ListOrganizationClients = %v, %v", r, err)
		}
		var tr metadata.MD
		_, err = c.ListOrganizationClients(with(reader), &demov1.ListOrganizationClientsRequest{OrganizationId: "org_globex"}, grpc.Trailer(&tr))
		want(t, err, codes.PermissionDenied, tr, "")
	})
	t.Run("watch_clients", func(t *testing.T) {
		st, err := c.WatchClients(with(reader), &demov1.ListClientsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		for {
			m, err := st.Recv()
			if err == io.EOF {
				break
			}
			if err != nil || m.GetOrganizationId() != "org_acme" {
				t.Fatalf("Recv = %v, %v", m, err)
			}
			n++
		}
		if n != 3 {
			t.Fatalf("%d clients streamed, want 3", n)
		}
		st, err = c.WatchClients(with(""), &demov1.ListClientsRequest{})
		if err == nil {
			_, err = st.Recv()
		}
		want(t, err, codes.Unauthenticated, st.Trailer(), `Bearer realm="api"`)
	})
	t.Run("public_health_and_reflection", func(t *testing.T) {
		h, err := healthpb.NewHealthClient(conn).Check(with(""), &healthpb.HealthCheckRequest{})
		if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health = %v, %v", h, err)
		}
		rs, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(with(""))
		if err != nil {
			t.Fatal(err)
		}
		if err := rs.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		resp, err := rs.Recv()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range resp.GetListServicesResponse().GetService() {
			names = append(names, s.GetName())
		}
		if !slices.Contains(names, "oauthguard.example.v1.Demo") || !slices.Contains(names, "grpc.health.v1.Health") {
			t.Fatalf("reflection lists %v", names)
		}
	})
}

// Command grpc is the example API over gRPC (service oauthguard.example.v1.Demo,
// demov1/demo.proto): the demo data, rules, flags, environment variables and
// dev mode of the HTTP examples, guarded by adapters/grpcauth. Server
// reflection and grpc.health.v1.Health are public; -addr defaults to
// 127.0.0.1:9090.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/clientcasa/oauthguard/adapters/grpcauth"
	"github.com/clientcasa/oauthguard/example/grpc/demov1"
	"github.com/clientcasa/oauthguard/example/internal/demo"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

// methods is the guard's table: every Demo method with its scope, the
// organization rule of ListOrganizationClients, and the public services.
func methods() map[string]grpcauth.Method {
	const svc = "/oauthguard.example.v1.Demo/"
	read := scopes.All(demo.ScopeReadClients)
	return map[string]grpcauth.Method{
		svc + "Me":            {},
		svc + "ListClients":   {Scopes: read},
		svc + "CreateInvoice": {Scopes: scopes.All(demo.ScopeWriteInvoices)},
		svc + "ListOrganizationClients": {Scopes: read, Organization: func(req any) string {
			return req.(*demov1.ListOrganizationClientsRequest).GetOrganizationId()
		}},
		svc + "WatchClients":                          {Scopes: read},
		"/grpc.health.v1.Health/*":                    {Public: true},
		"/grpc.reflection.v1.ServerReflection/*":      {Public: true},
		"/grpc.reflection.v1alpha.ServerReflection/*": {Public: true},
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ln, env, code := demo.Listen(args, getenv, stderr, "127.0.0.1:9090", log)
	if env == nil {
		return code
	}
	defer ln.Close()
	defer env.Close()
	addr := demo.Reachable(ln.Addr())
	guard, err := grpcauth.New(grpcauth.Options{Validator: env.Validator, Methods: methods(),
		Renderer: middleware.Renderer{Realm: "api"}, Observer: env.Observer, RejectionLog: log})
	if err != nil {
		fmt.Fprintf(stderr, "configuration error: %v\n", err)
		return 2
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(guard.UnaryServerInterceptor()),
		grpc.StreamInterceptor(guard.StreamServerInterceptor()))
	demov1.RegisterDemoServer(srv, &server{app: env.App})
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)

	if env.Dev != nil {
		printSamples(stderr, env, addr)
	} else {
		log.Info("trusting issuers, each verified with its own keys", "issuers", env.Issuers, "audience", env.Audience)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stderr, "listening on grpc://%s\n", addr)
	select {
	case err := <-served:
		log.Error("serving failed", "error", err.Error())
		return 1
	case <-ctx.Done():
		hs.Shutdown()
		srv.GracefulStop()
		return 0
	}
}

// printSamples writes dev mode's sample calls, with the example's client.
func printSamples(w io.Writer, env *demo.Env, addr string) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nDev mode: tokens of an in-process authorization server (issuer %s, audience %s), valid for 1 h.\n",
		env.Issuers[0], env.Audience)
	rpc := map[string]string{"/api/v1/clients": "ListClients", "/api/v1/me": "Me", "/api/v1/invoices": "CreateInvoice",
		"/api/v1/orgs/org_globex/clients": "ListOrganizationClients"}
	for _, s := range env.Samples {
		path := s.URL[strings.Index(s.URL, "/api/"):]
		m := rpc[path]
		arg := ""
		switch m {
		case "CreateInvoice":
			arg = " -client-id cli_acme_1 -amount 1234"
		case "ListOrganizationClients":
			arg = " -organization-id org_globex"
		}
		fmt.Fprintf(&b, "\n# %s\ngo run ./example/grpc/client -addr %s -token %s%s %s\n", s.Title, addr, s.Token, arg, m)
	}
	b.WriteString("\n")
	_, _ = io.WriteString(w, b.String())
}

// server implements demov1.DemoServer on the demo App, acting on the
// token's organization only.
type server struct {
	demov1.UnimplementedDemoServer
	app *demo.App
}

func claims(ctx context.Context) *middleware.Claims {
	c, _ := middleware.FromContext(ctx)
	return c
}

func (s *server) Me(ctx context.Context, _ *demov1.MeRequest) (*demov1.MeResponse, error) {
	c := claims(ctx)
	return &demov1.MeResponse{Sub: c.Subject, OrganizationId: c.OrganizationID, Scopes: c.Scopes}, nil
}

func (s *server) ListClients(ctx context.Context, req *demov1.ListClientsRequest) (*demov1.ListClientsResponse, error) {
	return list(claims(ctx).OrganizationID, req.GetPageSize())
}

func (s *server) ListOrganizationClients(ctx context.Context, req *demov1.ListOrganizationClientsRequest) (*demov1.ListClientsResponse, error) {
	return list(req.GetOrganizationId(), 0) // the guard checked it is the token's
}

func list(org string, pageSize int32) (*demov1.ListClientsResponse, error) {
	if pageSize < 0 {
		return nil, status.Error(codes.InvalidArgument, "page_size must not be negative")
	}
	out := &demov1.ListClientsResponse{}
	for _, c := range demo.ClientsOf(org, int(pageSize)) {
		out.Clients = append(out.Clients, &demov1.Client{Id: c.ID, Name: c.Name, OrganizationId: c.OrganizationID})
	}
	return out, nil
}

func (s *server) CreateInvoice(ctx context.Context, req *demov1.CreateInvoiceRequest) (*demov1.Invoice, error) {
	inv, err := s.app.NewInvoice(claims(ctx).OrganizationID, req.GetClientId(), req.GetAmount())
	switch {
	case errors.Is(err, demo.ErrNoSuchClient):
		return nil, status.Error(codes.NotFound, err.Error())
	case err != nil:
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &demov1.Invoice{Id: inv.ID, ClientId: inv.ClientID, Amount: inv.Amount, OrganizationId: inv.OrganizationID}, nil
}

func (s *server) WatchClients(req *demov1.ListClientsRequest, stream grpc.ServerStreamingServer[demov1.Client]) error {
	resp, err := list(claims(stream.Context()).OrganizationID, req.GetPageSize())
	if err != nil {
		return err
	}
	for _, c := range resp.Clients {
		if err := stream.Send(c); err != nil {
			return err
		}
	}
	return nil
}

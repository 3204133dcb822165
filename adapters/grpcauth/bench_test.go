package grpcauth_test

import (
	"context"
	"net"
	"testing"

	"github.com/clientcasa/oauthguard/authtest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// BenchmarkUnary: a unary Check over a loopback connection, through the
// guard with a repeated token (a verified-token cache hit), beside the floor:
// the same call on a server without the interceptor.
func BenchmarkUnary(b *testing.B) {
	run := func(b *testing.B, conn *grpc.ClientConn, ctx context.Context) {
		c := healthpb.NewHealthClient(conn)
		req := &healthpb.HealthCheckRequest{Service: "org_acme"}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Check(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("floor_no_auth", func(b *testing.B) {
		srv := grpc.NewServer()
		hs := health.NewServer()
		hs.SetServingStatus("org_acme", healthpb.HealthCheckResponse_SERVING)
		healthpb.RegisterHealthServer(srv, hs)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Stop()
		conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		run(b, conn, context.Background())
	})
	b.Run("guarded_cache_hit", func(b *testing.B) {
		f := newFixtureTB(b, methods())
		tok, err := f.p.Mint(authtest.Token{Scopes: []string{"read:clients"}})
		if err != nil {
			b.Fatal(err)
		}
		f.rec.seen = nil // not recorded
		run(b, f.conn, metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok))
	})
}

// BenchmarkInterceptor: the unary interceptor alone, with a repeated token,
// around a handler that does nothing: what the guard adds to a call, without
// the transport's noise.
func BenchmarkInterceptor(b *testing.B) {
	f := newFixtureTB(b, methods())
	tok, err := f.p.Mint(authtest.Token{Scopes: []string{"read:clients"}})
	if err != nil {
		b.Fatal(err)
	}
	g := f.guard
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
	req := &healthpb.HealthCheckRequest{Service: "org_acme"}
	info := &grpc.UnaryServerInfo{FullMethod: check}
	handler := func(ctx context.Context, req any) (any, error) { return nil, nil }
	intercept := g.UnaryServerInterceptor()
	if _, err := intercept(ctx, req, info, handler); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := intercept(ctx, req, info, handler); err != nil {
			b.Fatal(err)
		}
	}
}

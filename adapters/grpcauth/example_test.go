package grpcauth_test

import (
	"context"
	"fmt"
	"net"

	"github.com/clientcasa/oauthguard/adapters/grpcauth"
	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// A gRPC server whose methods are guarded per the table: the health
// service's Check needs read:clients, List is public, and every method not
// listed is refused. In production the keys are jwks.New(...).
func ExampleGuard() {
	as, _ := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.com", Algs: []string{"EdDSA"}})
	v, err := middleware.New(middleware.Config{Issuers: []string{as.Issuer()}, Audiences: []string{"https://api.example.test"}, Keys: as.KeySet()})
	if err != nil {
		panic(err)
	}
	guard, err := grpcauth.New(grpcauth.Options{Validator: v, Methods: map[string]grpcauth.Method{
		"/grpc.health.v1.Health/Check": {Scopes: scopes.All("read:clients")},
		"/grpc.health.v1.Health/List":  {Public: true},
	}})
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(guard.UnaryServerInterceptor()), grpc.StreamInterceptor(guard.StreamServerInterceptor()))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Stop()

	conn, _ := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	tok, _ := as.Mint(authtest.Token{Scopes: []string{"read:clients"}})
	withToken := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)

	resp, err := client.Check(withToken, &healthpb.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err)
	var trailer metadata.MD
	_, err = client.Check(context.Background(), &healthpb.HealthCheckRequest{}, grpc.Trailer(&trailer))
	fmt.Println(status.Code(err), trailer.Get("www-authenticate"))
	_, err = must(client.Watch(withToken, &healthpb.HealthCheckRequest{})).Recv() // not in the table
	fmt.Println(status.Code(err))
	// Output:
	// SERVING <nil>
	// Unauthenticated [Bearer realm="api"]
	// PermissionDenied
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

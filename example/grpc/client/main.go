// Command client calls the gRPC example: go run ./example/grpc/client -addr
// 127.0.0.1:9090 -token <token> Me (or ListClients, CreateInvoice -client-id
// cli_acme_1 -amount 1234, ListOrganizationClients -organization-id org_acme,
// WatchClients). It prints the answer as JSON, or the status and the
// www-authenticate trailer, and exits 1 on an error status.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/clientcasa/oauthguard/example/grpc/demov1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9090", "server `address`")
	token := fs.String("token", os.Getenv("TOKEN"), "access token [TOKEN]")
	clientID := fs.String("client-id", "", "CreateInvoice: the client")
	amount := fs.Int64("amount", 0, "CreateInvoice: the amount in cents")
	org := fs.String("organization-id", "", "ListOrganizationClients: the organization")
	pageSize := fs.Int("page-size", 0, "ListClients, WatchClients: at most this many")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: client [flags] Me|ListClients|CreateInvoice|ListOrganizationClients|WatchClients")
		return 2
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if *token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+*token)
	}
	c := demov1.NewDemoClient(conn)
	var trailer metadata.MD
	var out []proto.Message
	switch fs.Arg(0) {
	case "Me":
		err = one[*demov1.MeResponse](&out)(c.Me(ctx, &demov1.MeRequest{}, grpc.Trailer(&trailer)))
	case "ListClients":
		err = one[*demov1.ListClientsResponse](&out)(c.ListClients(ctx, &demov1.ListClientsRequest{PageSize: int32(*pageSize)}, grpc.Trailer(&trailer)))
	case "CreateInvoice":
		err = one[*demov1.Invoice](&out)(c.CreateInvoice(ctx, &demov1.CreateInvoiceRequest{ClientId: *clientID, Amount: *amount}, grpc.Trailer(&trailer)))
	case "ListOrganizationClients":
		err = one[*demov1.ListClientsResponse](&out)(c.ListOrganizationClients(ctx, &demov1.ListOrganizationClientsRequest{OrganizationId: *org}, grpc.Trailer(&trailer)))
	case "WatchClients":
		var st grpc.ServerStreamingClient[demov1.Client]
		if st, err = c.WatchClients(ctx, &demov1.ListClientsRequest{PageSize: int32(*pageSize)}); err == nil {
			for {
				var m *demov1.Client
				if m, err = st.Recv(); err != nil {
					break
				}
				out = append(out, m)
			}
			if err == io.EOF {
				err = nil
			}
			trailer = st.Trailer()
		}
	default:
		fmt.Fprintf(stderr, "unknown method %q\n", fs.Arg(0))
		return 2
	}
	for _, m := range out {
		b, _ := protojson.Marshal(m)
		fmt.Fprintln(stdout, string(b))
	}
	if err != nil {
		st := status.Convert(err)
		fmt.Fprintf(stdout, "%s: %s\n", st.Code(), st.Message())
		for _, ch := range trailer.Get("www-authenticate") {
			fmt.Fprintf(stdout, "www-authenticate: %s\n", ch)
		}
		return 1
	}
	return 0
}

// one collects a unary answer.
func one[T proto.Message](out *[]proto.Message) func(T, error) error {
	return func(m T, err error) error {
		if err == nil {
			*out = append(*out, m)
		}
		return err
	}
}

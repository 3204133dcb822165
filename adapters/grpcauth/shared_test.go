package grpcauth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/adapters/grpcauth"
	"github.com/clientcasa/oauthguard/adapters/internal/adaptertest"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The HTTP table's routes as methods of one service, with the same rules.
const (
	tableMe       = "/oauthguard.test.Table/Me"
	tableInvoices = "/oauthguard.test.Table/Invoices"
	tableClients  = "/oauthguard.test.Table/Clients"
	tableTier     = "/oauthguard.test.Table/Tier"
	tableRoles    = "/oauthguard.test.Table/Roles"
	tableTrusted  = "/oauthguard.test.Table/Trusted"
)

// route maps a case of the HTTP table to its method and request message
// (the organization, for Clients), or reports that the case is about HTTP
// alone: token sources, preflights, Optional, guards without Authenticate,
// and DPoP, which is out of scope over gRPC.
func route(c adaptertest.Case) (method, org string, ok bool) {
	if c.Cookie != "" || c.Form != "" || c.Header != nil || c.DPoP != nil || c.On == adaptertest.Browser || c.Method == "OPTIONS" {
		return "", "", false
	}
	for _, a := range c.Auth {
		if strings.HasPrefix(strings.ToLower(a), "dpop ") {
			return "", "", false
		}
	}
	switch c.Path {
	case adaptertest.Me:
		return tableMe, "", true
	case adaptertest.Invoices:
		return tableInvoices, "", true
	case adaptertest.AcmeClients:
		return tableClients, "org_acme", true
	case adaptertest.GlobexClients:
		return tableClients, "org_globex", true
	case adaptertest.Tier:
		return tableTier, "", true
	case adaptertest.Roles:
		return tableRoles, "", true
	case adaptertest.Trusted:
		return tableTrusted, "", true
	}
	return "", "", false
}

// tableServer serves every method of the table through a stream handler
// that answers what adaptertest.Hello writes, guarded by v.
func tableServer(t *testing.T, v *middleware.Validator) *grpc.ClientConn {
	t.Helper()
	org := func(req any) string { return req.(*wrapperspb.StringValue).GetValue() }
	g, err := grpcauth.New(grpcauth.Options{Validator: v, Renderer: adaptertest.Renderer, Methods: map[string]grpcauth.Method{
		tableMe:       {},
		tableInvoices: {Scopes: scopes.All("write:invoices")},
		tableClients:  {Scopes: scopes.All("read:clients"), Organization: org},
		tableTier:     {Rules: []middleware.Rule{adaptertest.TierGold}},
		tableRoles:    {Rules: []middleware.Rule{adaptertest.BillingRole}},
		tableTrusted:  {Rules: []middleware.Rule{adaptertest.TrustedClient}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	hello := func(_ any, ss grpc.ServerStream) error {
		var in wrapperspb.StringValue
		if err := ss.RecvMsg(&in); err != nil {
			return err
		}
		body := "anonymous\n"
		if c, ok := middleware.FromContext(ss.Context()); ok {
			body = "hello " + c.Subject + " of " + c.OrganizationID + "\n"
		}
		return ss.SendMsg(wrapperspb.String(body))
	}
	srv := grpc.NewServer(grpc.StreamInterceptor(g.StreamServerInterceptor()), grpc.UnknownServiceHandler(hello))
	return serve(t, srv)
}

// TestSharedCases runs the case table of the HTTP adapters through real
// gRPC connections: every case about the Authorization header (its values
// sent as authorization metadata) and the token, with the status each
// HTTP answer maps to (200 OK; 400 and 401 Unauthenticated; 403
// PermissionDenied; 503 Unavailable), the same RFC 6750 challenge in the
// www-authenticate trailer, and the same body.
func TestSharedCases(t *testing.T) {
	f := adaptertest.New(t)
	conns := map[adaptertest.Target]*grpc.ClientConn{adaptertest.Main: tableServer(t, f.Validator), adaptertest.Down: tableServer(t, f.Down)}
	want := map[int]codes.Code{200: codes.OK, 400: codes.Unauthenticated, 401: codes.Unauthenticated, 403: codes.PermissionDenied, 503: codes.Unavailable}
	ran := 0
	for _, c := range f.Cases(t) {
		method, org, ok := route(c)
		if !ok {
			continue
		}
		ran++
		t.Run(c.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for _, a := range c.Auth {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
			}
			var out wrapperspb.StringValue
			var trailer metadata.MD
			err := conns[c.On].Invoke(ctx, method, wrapperspb.String(org), &out, grpc.Trailer(&trailer))
			if got := status.Code(err); got != want[c.Status] {
				t.Fatalf("status %v (%v), want %v for HTTP %d", got, err, want[c.Status], c.Status)
			}
			ch := strings.Join(trailer.Get("www-authenticate"), ", ")
			switch {
			case c.Status == http.StatusOK:
				if out.GetValue() != c.Body {
					t.Fatalf("body %q, want %q", out.GetValue(), c.Body)
				}
			case c.Code == "unauthorized":
				if !strings.HasPrefix(ch, "Bearer ") || strings.Contains(ch, "error=") {
					t.Fatalf("challenge %q, want a bare Bearer one", ch)
				}
			case c.Status == http.StatusServiceUnavailable, c.Code == "forbidden":
				if ch != "" {
					t.Fatalf("challenge %q, want none (RFC 6750 has no code for it)", ch)
				}
				if !strings.Contains(status.Convert(err).Message(), c.Code) {
					t.Fatalf("message %q does not name %s", status.Convert(err).Message(), c.Code)
				}
			default:
				if !strings.Contains(ch, `error="`+c.Code+`"`) || (c.Scope != "" && !strings.Contains(ch, `scope="`+c.Scope+`"`)) {
					t.Fatalf("challenge %q, want error=%q scope=%q", ch, c.Code, c.Scope)
				}
			}
		})
	}
	if ran < 30 {
		t.Fatalf("only %d cases of the shared table apply to gRPC; the check would prove little", ran)
	}
	t.Logf("%d cases of the shared table run over gRPC", ran)
}

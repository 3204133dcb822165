package grpcauth_test

import (
	"context"
	"crypto"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/adapters/grpcauth"
	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/keyset"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// The health service is the test's service: Check is unary, Watch server
// streaming, and its request names a "service", which stands for the
// organization of the organization rule.
const (
	check = "/grpc.health.v1.Health/Check"
	watch = "/grpc.health.v1.Health/Watch"
	list  = "/grpc.health.v1.Health/List"
)

// recorder wraps the health server and records the claims each call saw.
type recorder struct {
	*health.Server
	seen chan *middleware.Claims
}

func (r *recorder) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if r.seen != nil {
		c, _ := middleware.FromContext(ctx)
		r.seen <- c
	}
	return r.Server.Check(ctx, req)
}

func (r *recorder) Watch(req *healthpb.HealthCheckRequest, s healthpb.Health_WatchServer) error {
	c, _ := middleware.FromContext(s.Context())
	r.seen <- c
	return r.Server.Watch(req, s)
}

type fixture struct {
	p     *authtest.Provider
	guard *grpcauth.Guard
	conn  *grpc.ClientConn
	rec   *recorder
	errs  chan error
}

func newFixture(t *testing.T, methods map[string]grpcauth.Method, down bool) *fixture {
	return newFixtureDown(t, methods, down)
}

func newFixtureTB(t testing.TB, methods map[string]grpcauth.Method) *fixture {
	return newFixtureDown(t, methods, false)
}

func newFixtureDown(t testing.TB, methods map[string]grpcauth.Method, down bool, obs ...middleware.Observer) *fixture {
	t.Helper()
	p, err := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.test", Algs: []string{"EdDSA"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()}, Keys: p.KeySet()}
	if down {
		cfg.Keys = unavailable{}
	}
	v, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 100)
	o := grpcauth.Options{Validator: v, Methods: methods, Renderer: middleware.Renderer{Realm: "api"},
		OnError: func(_ string, err error) { errs <- err }}
	if len(obs) > 0 {
		o.Observer = obs[0]
	}
	g, err := grpcauth.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(g.UnaryServerInterceptor()), grpc.StreamInterceptor(g.StreamServerInterceptor()))
	rec := &recorder{Server: health.NewServer(), seen: make(chan *middleware.Claims, 100)}
	rec.SetServingStatus("org_acme", healthpb.HealthCheckResponse_SERVING)
	rec.SetServingStatus("org_globex", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, rec)
	return &fixture{p: p, guard: g, conn: serve(t, srv), rec: rec, errs: errs}
}

// serve runs srv on a loopback listener until the test ends and returns a
// connection to it.
func serve(t testing.TB, srv *grpc.Server) *grpc.ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// unavailable never has keys: every token meets Unavailable.
type unavailable struct{}

func (unavailable) Key(context.Context, keyset.Query) (crypto.PublicKey, error) {
	return nil, keyset.ErrUnavailable
}

func (f *fixture) mint(t *testing.T, tok authtest.Token) string {
	t.Helper()
	s, err := f.p.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// methods is the table of the tests: Check needs read:clients and acts on
// the organization its request names; Watch needs read:clients; List is
// public; everything else of the service is missing from the table.
func methods() map[string]grpcauth.Method {
	org := func(req any) string { return req.(*healthpb.HealthCheckRequest).GetService() }
	return map[string]grpcauth.Method{
		check: {Scopes: scopes.All("read:clients"), Organization: org},
		watch: {Scopes: scopes.All("read:clients"), Organization: org},
		list:  {Public: true},
	}
}

// call is one unary Check or one Watch (first message) with md.
func (f *fixture) call(method string, org string, md metadata.MD) (metadata.MD, error) {
	ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), md), 5*time.Second)
	defer cancel()
	c := healthpb.NewHealthClient(f.conn)
	var trailer metadata.MD
	req := &healthpb.HealthCheckRequest{Service: org}
	switch method {
	case check:
		_, err := c.Check(ctx, req, grpc.Trailer(&trailer))
		return trailer, err
	case list:
		_, err := c.List(ctx, &healthpb.HealthListRequest{}, grpc.Trailer(&trailer))
		return trailer, err
	}
	st, err := c.Watch(ctx, req)
	if err != nil {
		return nil, err
	}
	_, err = st.Recv()
	return st.Trailer(), err
}

func TestGuard(t *testing.T) {
	f := newFixture(t, methods(), false)
	read := f.mint(t, authtest.Token{Scopes: []string{"read:clients"}})
	none := f.mint(t, authtest.Token{})
	expired := f.mint(t, authtest.Token{Claims: map[string]any{"exp": time.Now().Add(-time.Hour).Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix()}})
	bearer := func(tok string) metadata.MD { return metadata.Pairs("authorization", "Bearer "+tok) }
	const bare = `Bearer realm="api"`
	cases := []struct {
		name      string
		method    string
		org       string
		md        metadata.MD
		code      codes.Code
		challenge string // prefix of the www-authenticate trailer; "" for none
	}{
		{"unary_valid_token_ok", check, "org_acme", bearer(read), codes.OK, ""},
		{"stream_valid_token_ok", watch, "org_acme", bearer(read), codes.OK, ""},
		{"unary_no_token_unauthenticated", check, "org_acme", nil, codes.Unauthenticated, bare},
		{"stream_no_token_unauthenticated", watch, "org_acme", nil, codes.Unauthenticated, bare},
		{"other_scheme_unauthenticated", check, "org_acme", metadata.Pairs("authorization", "Basic eHl6"), codes.Unauthenticated, bare},
		{"empty_value_unauthenticated", check, "org_acme", metadata.Pairs("authorization", ""), codes.Unauthenticated, bare},
		{"two_values_unauthenticated", check, "org_acme", metadata.Pairs("authorization", "Bearer "+read, "authorization", "Bearer "+read),
			codes.Unauthenticated, `Bearer realm="api", error="invalid_request"`},
		{"bearer_without_token_unauthenticated", check, "org_acme", metadata.Pairs("authorization", "Bearer"), codes.Unauthenticated, `Bearer realm="api", error="invalid_request"`},
		{"binary_metadata_not_a_token", check, "org_acme", metadata.Pairs("authorization-bin", "Bearer "+read), codes.Unauthenticated, bare},
		{"oversized_token_unauthenticated", check, "org_acme", bearer(strings.Repeat("a", 9000)), codes.Unauthenticated, `Bearer realm="api", error="invalid_token"`},
		{"expired_unauthenticated", check, "org_acme", bearer(expired), codes.Unauthenticated, `Bearer realm="api", error="invalid_token"`},
		{"garbage_unauthenticated", watch, "org_acme", bearer("not.a.jwt"), codes.Unauthenticated, `Bearer realm="api", error="invalid_token"`},
		{"unary_missing_scope_permission_denied", check, "org_acme", bearer(none), codes.PermissionDenied, `Bearer realm="api", error="insufficient_scope"`},
		{"stream_missing_scope_permission_denied", watch, "org_acme", bearer(none), codes.PermissionDenied, `Bearer realm="api", error="insufficient_scope"`},
		{"unary_other_organization_permission_denied", check, "org_globex", bearer(read), codes.PermissionDenied, ""},
		{"stream_other_organization_permission_denied", watch, "org_globex", bearer(read), codes.PermissionDenied, ""},
		{"public_method_without_token_ok", list, "", nil, codes.OK, ""},
		{"public_method_bad_token_unauthenticated", list, "", bearer("not.a.jwt"), codes.Unauthenticated, `Bearer realm="api", error="invalid_token"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			trailer, err := f.call(tc.method, tc.org, tc.md)
			if got := status.Code(err); got != tc.code {
				t.Fatalf("code %v (%v), want %v", got, err, tc.code)
			}
			ch := trailer.Get("www-authenticate")
			switch {
			case tc.challenge == "" && len(ch) != 0:
				t.Errorf("www-authenticate %q, want none", ch)
			case tc.challenge != "" && (len(ch) != 1 || !strings.HasPrefix(ch[0], tc.challenge)):
				t.Errorf("www-authenticate %q, want one starting %q", ch, tc.challenge)
			}
			if err != nil {
				msg := status.Convert(err).Message()
				for _, leak := range []string{"not.a.jwt", "aaaaaaaa", "keyset"} {
					if strings.Contains(msg, leak) {
						t.Errorf("message %q leaks %q", msg, leak)
					}
				}
			}
			if tc.code == codes.OK && tc.method != list {
				if c := <-f.rec.seen; c == nil || c.OrganizationID != "org_acme" {
					t.Errorf("the handler saw claims %+v", c)
				}
			}
		})
	}
}

// A method missing from the table is refused even with a valid token.
func TestUnlistedMethodRefused(t *testing.T) {
	m := methods()
	delete(m, check)
	f := newFixture(t, m, false)
	tok := f.mint(t, authtest.Token{Scopes: []string{"read:clients"}})
	_, err := f.call(check, "org_acme", metadata.Pairs("authorization", "Bearer "+tok))
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("unlisted method: %v", err)
	}
	var e *middleware.Error
	if got := <-f.errs; !errors.As(got, &e) || e.Status != 403 {
		t.Fatalf("OnError got %v", got)
	}
}

// A service default covers its methods without an entry of their own.
func TestServiceDefault(t *testing.T) {
	f := newFixture(t, map[string]grpcauth.Method{"/grpc.health.v1.Health/*": {Scopes: scopes.All("read:clients")}}, false)
	if _, err := f.call(list, "", nil); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("List under a non-public default without a token: %v", err)
	}
	tok := f.mint(t, authtest.Token{Scopes: []string{"read:clients"}})
	if _, err := f.call(list, "", metadata.Pairs("authorization", "Bearer "+tok)); err != nil {
		t.Fatalf("List with a token: %v", err)
	}
}

// No signing keys: Unavailable, without a challenge.
func TestKeysUnavailable(t *testing.T) {
	f := newFixture(t, methods(), true)
	p, _ := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.test"})
	tok, _ := p.Mint(authtest.Token{Scopes: []string{"read:clients"}})
	trailer, err := f.call(check, "org_acme", metadata.Pairs("authorization", "Bearer "+tok))
	if status.Code(err) != codes.Unavailable || len(trailer.Get("www-authenticate")) != 0 {
		t.Fatalf("keys down: %v, trailer %v", err, trailer)
	}
}

func TestNewChecksTheTable(t *testing.T) {
	p, _ := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.test"})
	v, _ := middleware.New(middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()}, Keys: p.KeySet()})
	for name, o := range map[string]grpcauth.Options{
		"no_validator":        {Methods: methods()},
		"no_methods":          {Validator: v},
		"bad_name":            {Validator: v, Methods: map[string]grpcauth.Method{"Health/Check": {}}},
		"bad_scope":           {Validator: v, Methods: map[string]grpcauth.Method{check: {Scopes: scopes.All("read clients")}}},
		"public_with_a_scope": {Validator: v, Methods: map[string]grpcauth.Method{check: {Public: true, Scopes: scopes.All("a")}}},
	} {
		if _, err := grpcauth.New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

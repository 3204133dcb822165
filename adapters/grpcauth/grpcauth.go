package grpcauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Method is what a method (or, under "/pkg.Service/*", every method of a
// service without an entry of its own) demands.
type Method struct {
	// Public methods need no token (health checks, reflection). A token
	// that is sent anyway is still validated: a bad one is refused.
	Public bool
	// Scopes the token must grant. Zero: any valid token.
	Scopes scopes.Requirement
	// Organization, when set, returns the organization a request acts on
	// (from its message); the token must act for it, or the call is
	// PermissionDenied. For a stream it is given the first message the
	// handler receives.
	Organization func(req any) string
	// Rules run after the scopes and the organization (claim rules such as
	// middleware.ClaimEquals).
	Rules []middleware.Rule
}

// Options configure a [Guard].
type Options struct {
	// Validator checks the tokens. Required.
	Validator *middleware.Validator
	// Methods maps full method names ("/pkg.Service/Method") and service
	// defaults ("/pkg.Service/*") to what they demand. A method matching
	// neither is refused, token or not (PermissionDenied): fail closed.
	Methods map[string]Method
	// Renderer gives the RFC 6750 challenge sent in the www-authenticate
	// trailer. Zero: realm "api".
	Renderer middleware.Renderer
	// OnError, when set, is called with each refused call's full method and
	// error (an *middleware.Error whose cause is kept for logs).
	OnError func(fullMethod string, err error)
	// Observer is told of each call's decision (middleware.Observer): once
	// per call, when its token and every rule passed (for a stream with an
	// Organization rule or Rules, at its first message) or when refused.
	// Zero: none.
	Observer middleware.Observer
	// RejectionLog, when set, receives one record per refused call at
	// RejectionLevel, the full method as route (middleware.LogRejection).
	// Zero: none.
	RejectionLog *slog.Logger
	// RejectionLevel is the records' level. Zero: slog.LevelInfo.
	RejectionLevel slog.Level
}

// Guard holds the interceptors. Safe for concurrent use.
type Guard struct {
	v       *middleware.Validator
	methods map[string]compiled
	rd      middleware.Renderer
	onError func(string, error)
	obs     middleware.Observer
	rlog    *slog.Logger
	rlevel  slog.Level
}

type compiled struct {
	Method
	scope middleware.Rule // nil: no scope demanded
}

// New checks o, every scope requirement included, and returns a Guard.
func New(o Options) (*Guard, error) {
	var errs []error
	if o.Validator == nil {
		errs = append(errs, errors.New("grpcauth: Options.Validator is required"))
	}
	if len(o.Methods) == 0 {
		errs = append(errs, errors.New("grpcauth: Options.Methods is empty: every method would be refused"))
	}
	g := &Guard{v: o.Validator, methods: map[string]compiled{}, rd: o.Renderer, onError: o.OnError, obs: o.Observer, rlog: o.RejectionLog, rlevel: o.RejectionLevel}
	for name, m := range o.Methods {
		svc, meth, ok := strings.Cut(strings.TrimPrefix(name, "/"), "/")
		if !strings.HasPrefix(name, "/") || !ok || svc == "" || meth == "" || strings.Contains(meth, "/") {
			errs = append(errs, fmt.Errorf("grpcauth: method %q: want /pkg.Service/Method or /pkg.Service/*", name))
			continue
		}
		c := compiled{Method: m}
		if len(m.Scopes.Scopes()) > 0 {
			rule, err := middleware.Scopes(m.Scopes)
			if err != nil {
				errs = append(errs, fmt.Errorf("grpcauth: method %q: %w", name, err))
				continue
			}
			c.scope = rule
		}
		if m.Public && (c.scope != nil || m.Organization != nil || len(m.Rules) > 0) {
			errs = append(errs, fmt.Errorf("grpcauth: method %q is public and has requirements", name))
		}
		g.methods[name] = c
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return g, nil
}

// lookup finds the entry of fullMethod: its own, else its service's.
func (g *Guard) lookup(fullMethod string) (compiled, bool) {
	if m, ok := g.methods[fullMethod]; ok {
		return m, true
	}
	if i := strings.LastIndexByte(fullMethod, '/'); i > 0 {
		m, ok := g.methods[fullMethod[:i]+"/*"]
		return m, ok
	}
	return compiled{}, false
}

// authenticate validates the call's token and runs the method's rules
// that need no message. It returns the context carrying the claims, also
// with a rule's refusal (nil when the token itself was refused).
func (g *Guard) authenticate(ctx context.Context, fullMethod string) (context.Context, compiled, error) {
	m, ok := g.lookup(fullMethod)
	if !ok {
		return nil, m, middleware.Forbidden("the method is not open to this guard's callers")
	}
	vals := metadata.ValueFromIncomingContext(ctx, "authorization")
	if len(vals) == 0 && m.Public {
		return ctx, m, nil
	}
	c, err := g.v.AuthenticateAuthorization(ctx, vals)
	if err != nil {
		return nil, m, err
	}
	ctx = middleware.NewContext(ctx, c)
	if m.scope != nil {
		if err := m.scope(c); err != nil {
			return ctx, m, err // the claims go with the refusal (its issuer, the log)
		}
	}
	return ctx, m, nil
}

// afterMessages reports whether the method has rules that need the
// request message.
func (m compiled) afterMessages() bool { return m.Organization != nil || len(m.Rules) > 0 }

// accept reports an accepted call to the Observer; a public call without a
// token is not a decision.
func (g *Guard) accept(ctx context.Context) {
	if g.obs == nil {
		return
	}
	if c, ok := middleware.FromContext(ctx); ok {
		g.obs.Decided(ctx, c.Issuer, nil)
	}
}

// afterMessage runs the rules that need the request message.
func (m compiled) afterMessage(ctx context.Context, req any) error {
	c, ok := middleware.FromContext(ctx)
	if !ok {
		return nil // a public method without a token
	}
	if m.Organization != nil {
		if err := middleware.RequireOrganization(c, m.Organization(req)); err != nil {
			return err
		}
	}
	for _, r := range m.Rules {
		if err := r(c); err != nil {
			return err
		}
	}
	return nil
}

// UnaryServerInterceptor authenticates and authorizes every unary call.
func (g *Guard) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx2, m, err := g.authenticate(ctx, info.FullMethod)
		if err == nil {
			err = m.afterMessage(ctx2, req)
		}
		if err != nil {
			return nil, g.reject(cmp.Or(ctx2, ctx), info.FullMethod, err)
		}
		g.accept(ctx2)
		return handler(ctx2, req)
	}
}

// StreamServerInterceptor authenticates and authorizes every stream; an
// Organization rule or Rules are checked on the first message received.
func (g *Guard) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, m, err := g.authenticate(ss.Context(), info.FullMethod)
		if err != nil {
			return g.reject(cmp.Or(ctx, ss.Context()), info.FullMethod, err)
		}
		if !m.afterMessages() {
			g.accept(ctx)
		}
		return handler(srv, &stream{ServerStream: ss, ctx: ctx, m: m, g: g, method: info.FullMethod})
	}
}

type stream struct {
	grpc.ServerStream
	ctx     context.Context
	m       compiled
	g       *Guard
	method  string
	checked bool
}

func (s *stream) Context() context.Context { return s.ctx }

func (s *stream) RecvMsg(msg any) error {
	if err := s.ServerStream.RecvMsg(msg); err != nil {
		return err
	}
	if !s.checked {
		s.checked = true
		if err := s.m.afterMessage(s.ctx, msg); err != nil {
			return s.g.reject(s.ctx, s.method, err)
		}
		if s.m.afterMessages() {
			s.g.accept(s.ctx)
		}
	}
	return nil
}

// reject reports err and turns it into a status, with the RFC 6750
// challenge in the www-authenticate trailer.
func (g *Guard) reject(ctx context.Context, fullMethod string, err error) error {
	c, _ := middleware.FromContext(ctx)
	if g.obs != nil {
		iss := ""
		if c != nil {
			iss = c.Issuer
		}
		g.obs.Decided(ctx, iss, err)
	}
	if g.rlog != nil {
		middleware.LogRejection(ctx, g.rlog, g.rlevel, fullMethod, metadata.ValueFromIncomingContext(ctx, "authorization"), c, err)
	}
	if g.onError != nil {
		g.onError(fullMethod, err)
	}
	var e *middleware.Error
	if !errors.As(err, &e) {
		return status.Error(codes.Internal, "authorization failed")
	}
	code := codes.Unauthenticated
	switch e.Status {
	case http.StatusForbidden:
		code = codes.PermissionDenied
	case http.StatusServiceUnavailable:
		code = codes.Unavailable
	}
	if e.Status != http.StatusServiceUnavailable && !(e.Status == http.StatusForbidden && e.Code == "forbidden") {
		_ = grpc.SetTrailer(ctx, metadata.Pairs("www-authenticate", g.rd.Challenge(e)))
	}
	msg := e.Description
	if e.Code != "" {
		msg = e.Code + ": " + e.Description
	}
	return status.Error(code, msg)
}

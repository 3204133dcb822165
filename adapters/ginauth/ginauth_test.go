package ginauth_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/clientcasa/oauthguard/adapters/ginauth"
	"github.com/clientcasa/oauthguard/adapters/internal/adaptertest"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/scopes"
	"github.com/gin-gonic/gin"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// router serves adaptertest's routes through ginauth guards on v.
func router(t testing.TB, o middleware.Options) http.Handler {
	t.Helper()
	g, err := ginauth.New(o)
	if err != nil {
		t.Fatal(err)
	}
	write, err := g.RequireAll("write:invoices")
	if err != nil {
		t.Fatal(err)
	}
	read, err := g.RequireAny("read:clients")
	if err != nil {
		t.Fatal(err)
	}
	hello := func(c *gin.Context) {
		// Claims and middleware.FromContext see the same claims.
		a, okA := ginauth.Claims(c)
		b, okB := middleware.FromContext(c.Request.Context())
		if a != b || okA != okB {
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
		adaptertest.Hello(c.Writer, c.Request)
	}
	acme := func(*gin.Context) string { return "org_acme" }
	r := gin.New()
	r.GET(adaptertest.Me, g.Authenticate, hello)
	r.GET(adaptertest.Optional, g.Optional, hello)
	r.POST(adaptertest.Invoices, g.Authenticate, write, hello)
	r.GET("/orgs/:org/clients", g.Authenticate, read, g.RequireOrganization(ginauth.Param("org")), hello)
	r.GET(adaptertest.UnguardedScope, read, hello)
	r.GET(adaptertest.UnguardedOrg, g.RequireOrganization(acme), hello)
	r.GET(adaptertest.Tier, g.Authenticate, g.Require(adaptertest.TierGold), hello)
	r.GET(adaptertest.Roles, g.Authenticate, g.Require(adaptertest.BillingRole), hello)
	r.GET(adaptertest.Trusted, g.Authenticate, g.Require(adaptertest.TrustedClient), hello)
	r.OPTIONS(adaptertest.Me, g.Authenticate, g.Require(adaptertest.TierGold), hello)
	return r
}

func TestGuard(t *testing.T) {
	f := adaptertest.New(t)
	routers := f.Routers(t, router)
	for _, c := range f.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			routers[c.On].ServeHTTP(rec, c.Request())
			adaptertest.Check(t, c, rec)
		})
	}
}

// TestSameAnswersAsHTTPAuth sends every case through both adapters and
// demands byte-identical status, headers and body.
func TestSameAnswersAsHTTPAuth(t *testing.T) {
	f := adaptertest.New(t)
	hs, gs := f.Routers(t, adaptertest.HTTPRouter), f.Routers(t, router)
	for _, c := range f.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			var recs [2]*httptest.ResponseRecorder
			for i, h := range []http.Handler{hs[c.On], gs[c.On]} {
				recs[i] = httptest.NewRecorder()
				h.ServeHTTP(recs[i], c.Request())
			}
			h, g := recs[0], recs[1]
			if h.Code != g.Code {
				t.Errorf("status: httpauth %d, ginauth %d", h.Code, g.Code)
			}
			if !reflect.DeepEqual(h.Header(), g.Header()) {
				t.Errorf("headers:\nhttpauth %q\nginauth  %q", h.Header(), g.Header())
			}
			for _, k := range []string{"WWW-Authenticate", "Content-Type", "Retry-After"} {
				if h.Header().Get(k) != g.Header().Get(k) {
					t.Errorf("%s: httpauth %q, ginauth %q", k, h.Header().Get(k), g.Header().Get(k))
				}
			}
			if !bytes.Equal(h.Body.Bytes(), g.Body.Bytes()) {
				t.Errorf("body:\nhttpauth %q\nginauth  %q", h.Body, g.Body)
			}
		})
	}
}

func TestOnErrorSeesEveryRejection(t *testing.T) {
	adaptertest.CheckOnError(t, router)
}

func TestNewRequiresValidator(t *testing.T) {
	if g, err := ginauth.New(ginauth.Options{}); err == nil || g != nil {
		t.Fatalf("New without Validator = %v, %v; want an error", g, err)
	}
}

func TestRequireScopesRejectsInvalidScopeAtSetUp(t *testing.T) {
	f := adaptertest.New(t)
	g, err := ginauth.New(ginauth.Options{Validator: f.Validator})
	if err != nil {
		t.Fatal(err)
	}
	for name, req := range adaptertest.InvalidRequirements() {
		if h, err := g.RequireScopes(req); !errors.Is(err, scopes.ErrInvalidScope) || h != nil {
			t.Errorf("%s: RequireScopes = %v; want an error wrapping scopes.ErrInvalidScope", name, err)
		}
	}
	// A requirement of no scope at all would let every token through.
	if h, err := g.RequireAll(); err == nil || h != nil {
		t.Errorf("RequireAll() = %v; want an error", err)
	}
	if h, err := g.RequireAny(); err == nil || h != nil {
		t.Errorf("RequireAny() = %v; want an error", err)
	}
}

func TestRejectionStopsTheChain(t *testing.T) {
	f := adaptertest.New(t)
	g, err := ginauth.New(ginauth.Options{Validator: f.Validator})
	if err != nil {
		t.Fatal(err)
	}
	reached := false
	r := gin.New()
	r.GET("/", g.Authenticate, func(*gin.Context) { reached = true })
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusUnauthorized || reached {
		t.Fatalf("status %d, handler reached %v; want 401 and not reached", rec.Code, reached)
	}
}

package bench

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// FloorIdentity is what the floor servers answer on GET /api/v1/me: the
// body the examples write for a token of authtest's default subject and
// organization with the scope read:clients.
var FloorIdentity = struct {
	OrganizationID string   `json:"organizationId"`
	Scopes         []string `json:"scopes"`
	Sub            string   `json:"sub"`
}{"org_acme", []string{"read:clients"}, "user_alice"}

// floorRoutes are the examples' API routes; the floor answers each with the
// same status and headers as the examples do for an accepted request, and
// no authentication.
var floorRoutes = []string{"GET /healthz", "GET /readyz", "GET /.well-known/oauth-protected-resource",
	"GET /api/v1/me", "GET /api/v1/clients", "POST /api/v1/invoices", "GET /api/v1/orgs/{orgId}/clients",
	"POST /api/v1/revocations"}

// writeJSON is the examples' reply: the body as JSON and a newline, with
// their three headers.
func writeJSON(w http.ResponseWriter, body any) {
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
}

// FloorNetHTTP is the net/http example's floor: an http.ServeMux on the
// same routes, each answering FloorIdentity as the example answers
// /api/v1/me, without authentication.
func FloorNetHTTP() http.Handler {
	mux := http.NewServeMux()
	for _, r := range floorRoutes {
		mux.HandleFunc(r, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, FloorIdentity) })
	}
	return mux
}

// FloorGin is the gin example's floor: a gin engine in release mode on the
// same routes (GET and HEAD, as the example registers them), without
// authentication.
func FloorGin() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	h := func(c *gin.Context) { writeJSON(c.Writer, FloorIdentity) }
	for _, route := range floorRoutes {
		method, path, _ := strings.Cut(route, " ")
		path = strings.NewReplacer("{", ":", "}", "").Replace(path)
		r.Handle(method, path, h)
		if method == http.MethodGet {
			r.HEAD(path, h)
		}
	}
	return r
}

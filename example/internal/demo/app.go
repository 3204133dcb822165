package demo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/clientcasa/oauthguard/middleware"
)

// The scopes the API's routes require.
const (
	ScopeReadClients   = "read:clients"
	ScopeWriteInvoices = "write:invoices"
	// ScopeRevoke is the operators' scope of POST /api/v1/revocations.
	ScopeRevoke = "admin:revocations"
)

// Limits of the business routes.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
	MaxBodyBytes    = 16 << 10
)

// Client is a customer of an organization.
type Client struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	OrganizationID string `json:"organizationId"`
}

// Invoice is an invoice an organization issued to one of its clients.
type Invoice struct {
	ID             string `json:"id"`
	ClientID       string `json:"clientId"`
	Amount         int64  `json:"amount"`
	OrganizationID string `json:"organizationId"`
}

// clients is the demo data: three clients each for org_acme and org_globex.
var clients = []Client{
	{"cli_acme_1", "Acme Hardware", "org_acme"},
	{"cli_acme_2", "Acme Bakery", "org_acme"},
	{"cli_acme_3", "Acme Logistics", "org_acme"},
	{"cli_globex_1", "Globex Energy", "org_globex"},
	{"cli_globex_2", "Globex Retail", "org_globex"},
	{"cli_globex_3", "Globex Research", "org_globex"},
}

// App is the business logic, free of any web framework: each method takes
// the token's organization and the request's inputs and returns the Reply.
// Every method acts only on the organization it is given.
type App struct {
	invoices atomic.Int64
}

// Reply is an answer of the API: a status and a body encoded as JSON.
type Reply struct {
	Status int
	Body   any
}

// errorBody is the JSON shape of every error, as middleware.Renderer writes.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// Error is an error Reply with the body {"error", "error_description"}.
func Error(status int, code, description string) Reply {
	return Reply{status, errorBody{code, description}}
}

// NotFound and MethodNotAllowed are the routers' own errors.
var (
	NotFound         = Error(http.StatusNotFound, "not_found", "no such route")
	MethodNotAllowed = Error(http.StatusMethodNotAllowed, "method_not_allowed", "the route does not serve this method")
)

// Write writes r as JSON.
func (r Reply) Write(w http.ResponseWriter) {
	body, err := json.Marshal(r.Body)
	if err != nil { // not with the types of this package
		r = Error(http.StatusInternalServerError, "server_error", "internal error")
		body, _ = json.Marshal(r.Body)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(r.Status)
	_, _ = w.Write(append(body, '\n'))
}

// Identity is the body of GET /api/v1/me (its members in the order
// encoding/json writes a map's: the same bytes as before it was a struct).
type Identity struct {
	OrganizationID string   `json:"organizationId"`
	Scopes         []string `json:"scopes"`
	Sub            string   `json:"sub"`
}

// Me describes the token: subject, organization and scopes.
func (a *App) Me(c *middleware.Claims) Reply {
	s := []string(c.Scopes)
	if s == nil {
		s = []string{}
	}
	return Reply{http.StatusOK, Identity{OrganizationID: c.OrganizationID, Scopes: s, Sub: c.Subject}}
}

// Clients lists org's clients, at most pageSize of them (the query
// parameter's values: none for DefaultPageSize; larger than MaxPageSize is
// capped; anything but one integer of at least 1 is a 400).
func (a *App) Clients(org string, pageSize []string) Reply {
	n := DefaultPageSize
	if len(pageSize) > 0 {
		var err error
		n, err = strconv.Atoi(pageSize[0])
		switch {
		case len(pageSize) > 1, err != nil && !(errors.Is(err, strconv.ErrRange) && n > 0), n < 1:
			return Error(http.StatusBadRequest, "invalid_request", "pageSize must be one integer of at least 1")
		}
	}
	return Reply{http.StatusOK, map[string]any{"data": ClientsOf(org, n)}}
}

// ClientsOf returns org's clients, at most n (capped at MaxPageSize; below
// 1: DefaultPageSize).
func ClientsOf(org string, n int) []Client {
	if n < 1 {
		n = DefaultPageSize
	}
	data := []Client{}
	for _, c := range clients {
		if c.OrganizationID == org && len(data) < min(n, MaxPageSize) {
			data = append(data, c)
		}
	}
	return data
}

// ErrNoSuchClient: the client does not exist in the organization.
var ErrNoSuchClient = errors.New("no such client in this organization")

// NewInvoice issues an invoice of amount (cents, at least 1) to org's
// client clientID: ErrNoSuchClient for a client of another organization, as
// for one that does not exist.
func (a *App) NewInvoice(org, clientID string, amount int64) (Invoice, error) {
	switch {
	case clientID == "":
		return Invoice{}, errors.New("clientId is required")
	case amount < 1:
		return Invoice{}, errors.New("amount must be a positive integer (cents)")
	}
	for _, c := range clients {
		if c.ID == clientID && c.OrganizationID == org {
			return Invoice{fmt.Sprintf("inv_%06d", a.invoices.Add(1)), c.ID, amount, org}, nil
		}
	}
	return Invoice{}, ErrNoSuchClient
}

// CreateInvoice reads {"clientId": "...", "amount": 1234} (amount in cents,
// at least 1), sent with contentType application/json (anything else is
// 415), and issues an invoice to that client of org. A client of another
// organization is as unknown as one that does not exist: 404.
func (a *App) CreateInvoice(org, contentType string, body io.Reader) Reply {
	raw, bad := readJSON(contentType, body)
	if bad != nil {
		return *bad
	}
	var req struct {
		ClientID string `json:"clientId"`
		Amount   int64  `json:"amount"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		return Error(http.StatusBadRequest, "invalid_request", `the body must be {"clientId": string, "amount": integer}`)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Error(http.StatusBadRequest, "invalid_request", "the body must hold one JSON object")
	}
	inv, err := a.NewInvoice(org, req.ClientID, req.Amount)
	switch {
	case errors.Is(err, ErrNoSuchClient):
		return Error(http.StatusNotFound, "not_found", err.Error())
	case err != nil:
		return Error(http.StatusBadRequest, "invalid_request", err.Error())
	}
	return Reply{http.StatusCreated, inv}
}

// readJSON reads a request body that must be application/json of at most
// MaxBodyBytes; the Reply is the error response when it is not.
func readJSON(contentType string, body io.Reader) ([]byte, *Reply) {
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
		r := Error(http.StatusUnsupportedMediaType, "unsupported_media_type", "the request body must be application/json")
		return nil, &r
	}
	raw, err := io.ReadAll(io.LimitReader(body, MaxBodyBytes+1))
	if err != nil {
		r := Error(http.StatusBadRequest, "invalid_request", "the request body could not be read")
		return nil, &r
	}
	if len(raw) > MaxBodyBytes {
		r := Error(http.StatusRequestEntityTooLarge, "invalid_request", fmt.Sprintf("the request body exceeds %d bytes", MaxBodyBytes))
		return nil, &r
	}
	return raw, nil
}

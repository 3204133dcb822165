package demo

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzCreateInvoice: any body gets 201, 400, 404 or 413 with a JSON body,
// and an invoice is only ever issued to a client of the token's
// organization, for a positive amount.
func FuzzCreateInvoice(f *testing.F) {
	for _, s := range []string{`{"clientId":"cli_acme_1","amount":1234}`, `{"clientId":"cli_globex_1","amount":1}`,
		`{"clientId":"cli_acme_1","amount":-1}`, `{"clientId":"cli_acme_1","amount":1e3}`, `{"clientId":"cli_acme_1","amount":1}{}`,
		`{"clientId":"CLI_ACME_1","amount":1}`, `{"ClientID":"cli_acme_1","Amount":1}`, `null`, `[]`, ``, `{`} {
		f.Add(s)
	}
	app := &App{}
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		app.CreateInvoice("org_acme", "application/json", strings.NewReader(body)).Write(w)
		var got map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("body %q: %v", w.Body, err)
		}
		switch w.Code {
		case 201:
			id, _ := got["clientId"].(string)
			amount, _ := got["amount"].(float64)
			if !strings.HasPrefix(id, "cli_acme_") || amount < 1 || got["organizationId"] != "org_acme" {
				t.Fatalf("issued %v for body %q", got, body)
			}
		case 400, 404, 413:
			if got["error"] == nil || got["error_description"] == nil {
				t.Fatalf("error body %v", got)
			}
		default:
			t.Fatalf("status %d for body %q", w.Code, body)
		}
	})
}

// FuzzClients: a pageSize is either refused with 400 or yields at most
// MaxPageSize clients, all of the organization.
func FuzzClients(f *testing.F) {
	for _, s := range []string{"1", "0", "-1", "+2", "1000000", "99999999999999999999", "1.5", "", " 1", "0x10"} {
		f.Add(s)
	}
	app := &App{}
	f.Fuzz(func(t *testing.T, size string) {
		w := httptest.NewRecorder()
		app.Clients("org_globex", []string{size}).Write(w)
		var got struct {
			Data []Client `json:"data"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		switch {
		case w.Code == 400:
		case w.Code != 200 || len(got.Data) == 0 || len(got.Data) > MaxPageSize:
			t.Fatalf("pageSize %q: status %d, %d clients", size, w.Code, len(got.Data))
		}
		for _, c := range got.Data {
			if c.OrganizationID != "org_globex" {
				t.Fatalf("pageSize %q leaked %v", size, c)
			}
		}
	})
}

package demo_test

import (
	"net/http/httptest"
	"os"
	"strings"

	"github.com/clientcasa/oauthguard/example/internal/demo"
)

func ExampleApp() {
	app := &demo.App{}
	w := httptest.NewRecorder()
	app.Clients("org_globex", []string{"2"}).Write(w)
	_, _ = os.Stdout.Write(w.Body.Bytes())

	w = httptest.NewRecorder()
	app.CreateInvoice("org_acme", "application/json", strings.NewReader(`{"clientId": "cli_globex_1", "amount": 500}`)).Write(w)
	_, _ = os.Stdout.Write(w.Body.Bytes())
	// Output:
	// {"data":[{"id":"cli_globex_1","name":"Globex Energy","organizationId":"org_globex"},{"id":"cli_globex_2","name":"Globex Retail","organizationId":"org_globex"}]}
	// {"error":"not_found","error_description":"no such client in this organization"}
}

package otelguard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"

	"github.com/clientcasa/oauthguard/adapters/httpauth"
	"github.com/clientcasa/oauthguard/authtest"
	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/otelguard"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Example counts a guard's decisions on an OpenTelemetry meter provider
// (read here with a manual reader; a server exports them, to Prometheus
// for instance) and reads oauthguard.validations back.
func Example() {
	reader := sdkmetric.NewManualReader()
	metrics, err := otelguard.New(otelguard.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	if err != nil {
		panic(err)
	}
	p, err := authtest.NewProvider(authtest.Options{Issuer: "https://auth.example.com", Algs: []string{"EdDSA"}})
	if err != nil {
		panic(err)
	}
	v, err := middleware.New(middleware.Config{Issuers: []string{p.Issuer()}, Audiences: []string{p.Audience()}, Keys: p.KeySet()})
	if err != nil {
		panic(err)
	}
	guard, err := httpauth.New(httpauth.Options{Validator: v, Observer: metrics})
	if err != nil {
		panic(err)
	}
	read, err := guard.RequireAll("read:clients")
	if err != nil {
		panic(err)
	}
	h := guard.Authenticate(read(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	good, _ := p.Mint(authtest.Token{Scopes: []string{"read:clients"}})
	noScope, _ := p.Mint(authtest.Token{})
	for _, auth := range []string{"Bearer " + good, "Bearer " + good, "Bearer " + noScope, "Bearer not.a.token", ""} {
		r := httptest.NewRequest("GET", "/api/v1/clients", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "oauthguard.validations" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				outcome, _ := dp.Attributes.Value("outcome")
				reason, _ := dp.Attributes.Value("reason")
				lines = append(lines, fmt.Sprintf("%s %s: %d", outcome.AsString(), reason.AsString(), dp.Value))
			}
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// accepted : 2
	// rejected insufficient_scope: 1
	// rejected malformed: 1
	// rejected no_credentials: 1
}

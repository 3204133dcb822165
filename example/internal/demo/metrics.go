package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/otelguard"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// metrics is -metrics-addr: otelguard's instruments on an OpenTelemetry
// meter provider whose reader is the Prometheus exporter, served on a
// listener of their own so that /metrics is never on the API's address.
type metrics struct {
	m        *otelguard.Metrics
	provider *sdkmetric.MeterProvider
	handler  http.Handler
	srv      *http.Server
}

func newMetrics() (*metrics, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	m, err := otelguard.New(otelguard.Config{MeterProvider: mp})
	if err != nil {
		_ = mp.Shutdown(context.Background())
		return nil, err
	}
	return &metrics{m: m, provider: mp, handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}, nil
}

// observe registers the readings of the Env's validator and key sources.
func (mt *metrics) observe(env *Env) error {
	if err := mt.m.ObserveValidator(env.Validator); err != nil {
		return err
	}
	if len(env.remote) == 0 {
		return nil // dev mode: the keys are in memory
	}
	return mt.m.ObserveKeys(func() map[string]jwks.Health {
		out := make(map[string]jwks.Health, len(env.remote))
		for i, src := range env.remote {
			out[env.Issuers[i]] = src.Health()
		}
		return out
	})
}

// serve binds addr and serves GET /metrics there until close.
func (mt *metrics) serve(addr string, stderr io.Writer, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("-metrics-addr %q: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", mt.handler)
	mt.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 20 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := mt.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("serving metrics failed", "error", err.Error())
		}
	}()
	fmt.Fprintf(stderr, "metrics on http://%s/metrics\n", Reachable(ln.Addr()))
	return nil
}

func (mt *metrics) close() {
	if mt.srv != nil {
		_ = mt.srv.Close()
	}
	_ = mt.provider.Shutdown(context.Background())
}

package otelguard

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clientcasa/oauthguard/dpop"
	"github.com/clientcasa/oauthguard/introspect"
	"github.com/clientcasa/oauthguard/jwks"
	"github.com/clientcasa/oauthguard/middleware"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meter and tracer.
const ScopeName = "github.com/clientcasa/oauthguard"

// DefaultMaxIssuers bounds the issuer label's values when
// Config.MaxIssuers is zero.
const DefaultMaxIssuers = 100

// Other is the label value that stands for every value beyond a bound:
// issuers past Config.MaxIssuers.
const Other = "other"

// Config configures [New]. Every field's zero value is a documented default.
type Config struct {
	// MeterProvider makes the meter. Zero: otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// TracerProvider makes the tracer of the network spans. Zero:
	// otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MaxIssuers bounds the distinct values of the issuer label; the
	// issuers seen after that many are labelled "other". Only issuers of
	// verified tokens are labels at all. Zero: DefaultMaxIssuers (100).
	MaxIssuers int
}

// Metrics holds the instruments. It implements middleware.Observer
// (Decided), the Observe hook of jwks.Config and introspect.Config, and
// redisstore.Observer; ObserveValidator and ObserveKeys add the readings
// taken at each collection. Safe for concurrent use.
type Metrics struct {
	meter  metric.Meter
	tracer trace.Tracer

	replays     atomic.Int64
	calls       metric.Int64Counter
	fetchTime   metric.Float64Histogram
	redisTrips  metric.Int64Counter
	redisTime   metric.Float64Histogram
	propagation metric.Float64Histogram

	maxIssuers int
	issuers    sync.Map // issuer -> *issuerCounts
	mu         sync.Mutex
	nIssuers   int // guarded by mu
	other      *issuerCounts

	// fixed attribute sets, built once
	fetchOpts map[string][2]metric.RecordOption // operation -> ok, error
	callOpts  [2]metric.AddOption               // ok, error
	redisOpts sync.Map                          // redisKey -> redisOpts
}

// issuerCounts are the decisions of one issuer label: counted with one
// atomic add on the request path (no allocation, no lock), read by the
// oauthguard.validations callback at collection with their precomputed
// attribute sets.
type issuerCounts struct {
	accepted    atomic.Int64
	rejected    []atomic.Int64 // by index in middleware.Reasons()
	acceptedSet metric.ObserveOption
	rejectedSet []metric.ObserveOption
}

type redisKey struct {
	op  string
	err bool
}

type redisOpts struct {
	add    metric.AddOption
	record metric.RecordOption
}

// New makes the instruments on cfg's providers.
func New(cfg Config) (*Metrics, error) {
	mp, tp := cfg.MeterProvider, cfg.TracerProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if cfg.MaxIssuers < 0 {
		return nil, errors.New("otelguard: Config.MaxIssuers must not be negative")
	}
	m := &Metrics{meter: mp.Meter(ScopeName), tracer: tp.Tracer(ScopeName), maxIssuers: cfg.MaxIssuers}
	if m.maxIssuers == 0 {
		m.maxIssuers = DefaultMaxIssuers
	}
	var errs []error
	counter := func(name, desc string) metric.Int64Counter {
		c, err := m.meter.Int64Counter(name, metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	seconds := func(name, desc string, bounds ...float64) metric.Float64Histogram {
		h, err := m.meter.Float64Histogram(name, metric.WithDescription(desc), metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(bounds...))
		errs = append(errs, err)
		return h
	}
	validations, err := m.meter.Int64ObservableCounter("oauthguard.validations", metric.WithDescription(
		"Requests decided by the guard, by outcome (accepted, rejected), reason (rejections) and issuer."))
	errs = append(errs, err)
	replays, err := m.meter.Int64ObservableCounter("oauthguard.dpop.replays",
		metric.WithDescription("DPoP proofs refused because they were used before."))
	errs = append(errs, err)
	m.calls = counter("oauthguard.introspection.calls", "Introspection requests sent, by outcome (ok, error).")
	m.fetchTime = seconds("oauthguard.fetch.duration",
		"Duration of the requests to the authorization server, by operation (discovery, jwks, introspection) and outcome.",
		0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
	m.redisTrips = counter("oauthguard.redis.round_trips", "Round trips to Redis, by operation and outcome.")
	m.redisTime = seconds("oauthguard.redis.duration", "Duration of the round trips to Redis, by operation and outcome.",
		0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5)
	m.propagation = seconds("oauthguard.revocation.propagation",
		"Time from a revocation made on another replica to its arrival here.",
		0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.other = newIssuerCounts(Other)
	if _, err := m.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		each := func(c *issuerCounts) {
			if n := c.accepted.Load(); n > 0 {
				o.ObserveInt64(validations, n, c.acceptedSet)
			}
			for i := range c.rejected {
				if n := c.rejected[i].Load(); n > 0 {
					o.ObserveInt64(validations, n, c.rejectedSet[i])
				}
			}
		}
		m.issuers.Range(func(_, v any) bool { each(v.(*issuerCounts)); return true })
		each(m.other)
		o.ObserveInt64(replays, m.replays.Load())
		return nil
	}, validations, replays); err != nil {
		return nil, err
	}
	m.fetchOpts = map[string][2]metric.RecordOption{}
	for _, op := range []string{jwks.OpDiscovery, jwks.OpJWKS, introspect.Op} {
		m.fetchOpts[op] = [2]metric.RecordOption{
			metric.WithAttributeSet(attribute.NewSet(attribute.String("operation", op), outcomeOK)),
			metric.WithAttributeSet(attribute.NewSet(attribute.String("operation", op), outcomeError)),
		}
	}
	m.callOpts = [2]metric.AddOption{metric.WithAttributeSet(attribute.NewSet(outcomeOK)),
		metric.WithAttributeSet(attribute.NewSet(outcomeError))}
	return m, nil
}

var (
	outcomeOK       = attribute.String("outcome", "ok")
	outcomeError    = attribute.String("outcome", "error")
	outcomeAccepted = attribute.String("outcome", "accepted")
	outcomeRejected = attribute.String("outcome", "rejected")
)

// reasonIndex numbers middleware.Reasons, the values of the reason label.
var reasonIndex = func() map[string]int {
	idx := map[string]int{}
	for i, r := range middleware.Reasons() {
		idx[r] = i
	}
	return idx
}()

// newIssuerCounts makes an issuer label's counters and attribute sets.
func newIssuerCounts(iss string) *issuerCounts {
	is := attribute.String("issuer", iss)
	reasons := middleware.Reasons()
	c := &issuerCounts{acceptedSet: metric.WithAttributeSet(attribute.NewSet(outcomeAccepted, is)),
		rejected: make([]atomic.Int64, len(reasons)), rejectedSet: make([]metric.ObserveOption, len(reasons))}
	for i, r := range reasons {
		c.rejectedSet[i] = metric.WithAttributeSet(attribute.NewSet(outcomeRejected, attribute.String("reason", r), is))
	}
	return c
}

// issuer returns the counters of the issuer label iss: its own while fewer
// than MaxIssuers are labelled, else "other"'s.
func (m *Metrics) issuer(iss string) *issuerCounts {
	if c, ok := m.issuers.Load(iss); ok {
		return c.(*issuerCounts)
	}
	// First sighting: under the lock, so that a burst of first requests
	// for one issuer neither counts it twice against the bound nor spills
	// into "other".
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.issuers.Load(iss); ok {
		return c.(*issuerCounts)
	}
	if m.nIssuers >= m.maxIssuers {
		return m.other
	}
	c := newIssuerCounts(iss)
	m.issuers.Store(iss, c)
	m.nIssuers++
	return c
}

// Decided implements middleware.Observer: it counts the decision in
// oauthguard.validations, and a replayed DPoP proof in
// oauthguard.dpop.replays. Both are cumulative counters read at each
// collection (asynchronous instruments), so that a decision costs one map
// read and one atomic add.
func (m *Metrics) Decided(_ context.Context, issuer string, err error) {
	c := m.issuer(issuer)
	if err == nil {
		c.accepted.Add(1)
		return
	}
	reason := middleware.Reason(err)
	c.rejected[reasonIndex[reason]].Add(1)
	if reason == "invalid_dpop_proof" && errors.Is(err, dpop.ErrReplayed) {
		m.replays.Add(1)
	}
}

// Observe is the Observe hook of jwks.Config and introspect.Config: a
// client span named "oauthguard." plus the operation (discovery, jwks,
// introspection) around each request, with its URL (query redacted), and
// its duration in oauthguard.fetch.duration; an introspection is counted
// in oauthguard.introspection.calls.
func (m *Metrics) Observe(ctx context.Context, op, url string) (context.Context, func(error)) {
	ctx, span := m.tracer.Start(ctx, "oauthguard."+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("url.full", url)))
	start := time.Now()
	return ctx, func(err error) {
		i := 0
		if err != nil {
			i = 1
			span.RecordError(err)
			span.SetStatus(codes.Error, "request failed")
		}
		span.End()
		if opts, ok := m.fetchOpts[op]; ok {
			m.fetchTime.Record(ctx, time.Since(start).Seconds(), opts[i])
		}
		if op == introspect.Op {
			m.calls.Add(ctx, 1, m.callOpts[i])
		}
	}
}

// RedisRoundTrip implements redisstore.Observer: oauthguard.redis.round_trips
// and oauthguard.redis.duration by operation and outcome.
func (m *Metrics) RedisRoundTrip(op string, d time.Duration, err error) {
	k := redisKey{op: op, err: err != nil}
	v, ok := m.redisOpts.Load(k)
	if !ok {
		out := outcomeOK
		if k.err {
			out = outcomeError
		}
		set := attribute.NewSet(attribute.String("operation", op), out)
		v, _ = m.redisOpts.LoadOrStore(k, redisOpts{add: metric.WithAttributeSet(set), record: metric.WithAttributeSet(set)})
	}
	o := v.(redisOpts)
	ctx := context.Background()
	m.redisTrips.Add(ctx, 1, o.add)
	m.redisTime.Record(ctx, d.Seconds(), o.record)
}

// RevocationPropagated implements redisstore.Observer:
// oauthguard.revocation.propagation.
func (m *Metrics) RevocationPropagated(delay time.Duration) {
	m.propagation.Record(context.Background(), max(delay, 0).Seconds())
}

// ObserveValidator reads v's caches at each collection:
// oauthguard.cache.lookups (cache token or introspection, result hit or
// miss), oauthguard.cache.evictions, oauthguard.cache.entries, and
// oauthguard.introspection.fail_open.
func (m *Metrics) ObserveValidator(v *middleware.Validator) error {
	lookups, err1 := m.meter.Int64ObservableCounter("oauthguard.cache.lookups",
		metric.WithDescription("Cache lookups, by cache (token, introspection) and result (hit, miss)."))
	evictions, err2 := m.meter.Int64ObservableCounter("oauthguard.cache.evictions",
		metric.WithDescription("Cache entries evicted for room (not expired), by cache."))
	entries, err3 := m.meter.Int64ObservableGauge("oauthguard.cache.entries",
		metric.WithDescription("Entries held, by cache."))
	failOpen, err4 := m.meter.Int64ObservableCounter("oauthguard.introspection.fail_open",
		metric.WithDescription("JWTs let through while introspection was unavailable (IntrospectionFailOpen)."))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return err
	}
	type set struct{ hit, miss, cache metric.ObserveOption }
	sets := map[string]set{}
	for _, c := range []string{"token", "introspection"} {
		name := attribute.String("cache", c)
		sets[c] = set{metric.WithAttributeSet(attribute.NewSet(name, attribute.String("result", "hit"))),
			metric.WithAttributeSet(attribute.NewSet(name, attribute.String("result", "miss"))),
			metric.WithAttributeSet(attribute.NewSet(name))}
	}
	_, err := m.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := v.Stats()
		for c, counts := range map[string]middleware.CacheCounts{"token": s.Token, "introspection": s.Introspection} {
			o.ObserveInt64(lookups, int64(counts.Hits), sets[c].hit)
			o.ObserveInt64(lookups, int64(counts.Misses), sets[c].miss)
			o.ObserveInt64(evictions, int64(counts.Evictions), sets[c].cache)
		}
		o.ObserveInt64(entries, int64(s.CacheEntries), sets["token"].cache)
		o.ObserveInt64(entries, int64(s.IntrospectionEntries), sets["introspection"].cache)
		o.ObserveInt64(failOpen, s.IntrospectionFailOpen)
		return nil
	}, lookups, evictions, entries, failOpen)
	return err
}

// ObserveKeys reads the key sources health returns, by source (the key of
// its map: an issuer, say), at each collection: oauthguard.jwks.refreshes
// (outcome success or failure), oauthguard.jwks.keys,
// oauthguard.jwks.ready (1 or 0), oauthguard.jwks.age (seconds since the
// keys held were fetched; absent before the first fetch) and
// oauthguard.jwks.next_refresh (seconds until the next scheduled refresh).
// health is jwks.Issuers' Health, or a function over the Sources the
// caller holds. Its keys must be bounded (configured issuers; jwks.Issuers
// holds at most its Max).
func (m *Metrics) ObserveKeys(health func() map[string]jwks.Health) error {
	refreshes, err1 := m.meter.Int64ObservableCounter("oauthguard.jwks.refreshes",
		metric.WithDescription("Key refreshes (discovery when needed, then the JWKS), by source and outcome (success, failure)."))
	keys, err2 := m.meter.Int64ObservableGauge("oauthguard.jwks.keys", metric.WithDescription("Usable keys held, by source."))
	ready, err3 := m.meter.Int64ObservableGauge("oauthguard.jwks.ready",
		metric.WithDescription("1 when the source's keys can be used (held and not older than MaxStaleness), else 0."))
	age, err4 := m.meter.Float64ObservableGauge("oauthguard.jwks.age", metric.WithUnit("s"),
		metric.WithDescription("Age of the keys held: seconds since their last successful fetch, by source."))
	next, err5 := m.meter.Float64ObservableGauge("oauthguard.jwks.next_refresh", metric.WithUnit("s"),
		metric.WithDescription("Seconds until the next scheduled refresh, by source (negative: overdue)."))
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return err
	}
	_, err := m.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		now := time.Now()
		for src, h := range health() {
			s := attribute.String("source", src)
			o.ObserveInt64(refreshes, h.Refreshes, metric.WithAttributes(s, attribute.String("outcome", "success")))
			o.ObserveInt64(refreshes, h.FailedRefreshes, metric.WithAttributes(s, attribute.String("outcome", "failure")))
			o.ObserveInt64(keys, int64(h.KeyCount), metric.WithAttributes(s))
			r := int64(0)
			if h.Ready {
				r = 1
			}
			o.ObserveInt64(ready, r, metric.WithAttributes(s))
			if !h.LastRefresh.IsZero() {
				o.ObserveFloat64(age, now.Sub(h.LastRefresh).Seconds(), metric.WithAttributes(s))
			}
			if !h.NextRefresh.IsZero() {
				o.ObserveFloat64(next, h.NextRefresh.Sub(now).Seconds(), metric.WithAttributes(s))
			}
		}
		return nil
	}, refreshes, keys, ready, age, next)
	return err
}

package otel_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	otelapi "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/observe/otel"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

const apiKey, apiSecret = "api-key", "api-secret"

var sender = kazawallettest.Sender{APIKey: apiKey, APISecret: apiSecret}

func paid(order string) kazawallet.Event {
	return kazawallet.Event{OrderID: order, Amount: payhook.MustAmount("10.00"), Type: kazawallet.Fulfilled, Currency: "USD"}
}

func newKazawallet(t testing.TB) *kazawallet.Provider {
	kw, err := kazawallet.New(apiKey, apiSecret)
	require.NoError(t, err)
	return kw
}

// sdk is the OpenTelemetry SDK with in-memory readers.
type sdk struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	tel    *otel.Telemetry
}

func newSDK(t testing.TB, opts ...otel.Option) *sdk {
	s := &sdk{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.reader))
	s.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(s.spans))
	t.Cleanup(func() {
		assert.NoError(t, mp.Shutdown(context.Background()))
		assert.NoError(t, s.tp.Shutdown(context.Background()))
	})
	tel, err := otel.New(append([]otel.Option{otel.WithMeterProvider(mp), otel.WithTracerProvider(s.tp)}, opts...)...)
	require.NoError(t, err)
	s.tel = tel
	return s
}

// metric returns the metric named name, collected now.
func (s *sdk) metric(t *testing.T, name string) metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, s.reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, otel.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return metricdata.Metrics{}
}

// value returns the value of the point of the metric named name with
// labels (key, value pairs): a sum's or a gauge's value, a histogram's
// count. It fails the test when there is no such point.
func (s *sdk) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	var kv []attribute.KeyValue
	for i := 0; i+1 < len(labels); i += 2 {
		kv = append(kv, attribute.String(labels[i], labels[i+1]))
	}
	want := attribute.NewSet(kv...)
	switch d := s.metric(t, name).Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if p.Attributes.Equals(&want) {
				return float64(p.Value)
			}
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			if p.Attributes.Equals(&want) {
				return float64(p.Value)
			}
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			if p.Attributes.Equals(&want) {
				return float64(p.Count)
			}
		}
	}
	t.Fatalf("no point %s%v", name, labels)
	return 0
}

// serve answers r with h, in ctx, and returns the status.
func serve(ctx context.Context, h http.Handler, r *http.Request) int {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r.WithContext(ctx))
	return w.Code
}

// attrs returns a span's attributes as a map.
func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value)
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// The deliveries, 3 processed, 2 forged and 1 duplicate, under a
// server span as otelhttp starts one: the metrics and the spans read back
// from the SDK.
func TestKazawalletDeliveries(t *testing.T) {
	s := newSDK(t)
	h := payhook.Handle(newKazawallet(t), func(context.Context, kazawallet.Event) error { return nil },
		payhook.WithObserver(s.tel.Observer()))
	ctx, server := s.tp.Tracer("otelhttp").Start(context.Background(), "POST /webhooks/kazawallet", trace.WithSpanKind(trace.SpanKindServer))

	for _, order := range []string{"lnk_1", "lnk_2", "lnk_3"} {
		require.Equal(t, http.StatusOK, serve(ctx, h, sender.Request("/", paid(order))))
	}
	for _, order := range []string{"lnk_4", "lnk_5"} {
		require.Equal(t, http.StatusUnauthorized, serve(ctx, h, sender.Forged("/", paid(order))))
	}
	require.Equal(t, http.StatusOK, serve(ctx, h, sender.Request("/", paid("lnk_2"))))
	server.End()

	t.Run("metrics", func(t *testing.T) {
		for outcome, n := range map[string]float64{"processed": 3, "rejected": 2, "duplicate": 1, "failed": 0, "in_flight": 0} {
			assert.Equal(t, n, s.value(t, "payhook_webhooks_total", "provider", "kazawallet", "outcome", outcome), outcome)
		}
		assert.Equal(t, 2.0, s.value(t, "payhook_webhook_rejections_total", "provider", "kazawallet", "reason", "invalid_signature"))
		assert.Equal(t, 0.0, s.value(t, "payhook_webhook_rejections_total", "provider", "kazawallet", "reason", "store_unavailable"))
		assert.Equal(t, 3.0, s.value(t, "payhook_webhook_duration_seconds", "provider", "kazawallet", "outcome", "processed"))
		assert.Equal(t, 6.0, s.value(t, "payhook_webhook_step_duration_seconds", "provider", "kazawallet", "step", "verify"))
		assert.Equal(t, 3.0, s.value(t, "payhook_webhook_step_duration_seconds", "provider", "kazawallet", "step", "handler"))
		assert.Equal(t, 0.0, s.value(t, "payhook_inbox_attempts_total", "provider", "kazawallet", "result", "dead"))

		m := s.metric(t, "payhook_webhook_duration_seconds")
		assert.Equal(t, "s", m.Unit)
		hist := m.Data.(metricdata.Histogram[float64])
		require.NotEmpty(t, hist.DataPoints)
		assert.Equal(t, []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}, hist.DataPoints[0].Bounds)
		assert.Equal(t, "{delivery}", s.metric(t, "payhook_webhooks_total").Unit)
		sum := s.metric(t, "payhook_webhooks_total").Data.(metricdata.Sum[int64])
		assert.True(t, sum.IsMonotonic)
	})

	t.Run("spans", func(t *testing.T) {
		var deliveries []sdktrace.ReadOnlySpan
		for _, sp := range s.spans.Ended() {
			if sp.Name() == "payhook.delivery" {
				deliveries = append(deliveries, sp)
			}
		}
		require.Len(t, deliveries, 6)
		signature := kazawallet.Sign(apiKey, apiSecret, "10.00", "lnk_1")
		for _, sp := range deliveries {
			assert.Equal(t, server.SpanContext().TraceID(), sp.SpanContext().TraceID(), "in the request's trace")
			assert.Equal(t, server.SpanContext().SpanID(), sp.Parent().SpanID(), "a child of the server span")
			assert.Equal(t, otel.ScopeName, sp.InstrumentationScope().Name)
			assert.True(t, sp.EndTime().After(sp.StartTime()), "starts when the delivery arrived")
			assert.False(t, sp.StartTime().Before(server.(sdktrace.ReadOnlySpan).StartTime()), "within the request")
			for _, kv := range sp.Attributes() {
				v := kv.Value.Emit()
				assert.NotContains(t, v, apiSecret)
				assert.NotContains(t, v, apiKey)
				assert.NotContains(t, v, signature)
			}
		}
		processed := attrs(deliveries[0])
		assert.Equal(t, "kazawallet", processed["payhook.provider"].AsString())
		assert.Equal(t, "processed", processed["payhook.outcome"].AsString())
		assert.Equal(t, int64(200), processed["http.response.status_code"].AsInt64())
		assert.Equal(t, "lnk_1", processed["payhook.key"].AsString())
		assert.NotContains(t, processed, attribute.Key("payhook.reason"))
		assert.NotContains(t, processed, attribute.Key("payhook.confirm.duration"), "Kazawallet confirms nothing")
		verify, handler := processed["payhook.verify.duration"].AsFloat64(), processed["payhook.handler.duration"].AsFloat64()
		assert.Positive(t, verify)
		assert.Positive(t, handler)
		assert.GreaterOrEqual(t, deliveries[0].EndTime().Sub(deliveries[0].StartTime()).Seconds(), verify+handler)
		assert.Equal(t, codes.Unset, deliveries[0].Status().Code)

		forged := attrs(deliveries[3])
		assert.Equal(t, "rejected", forged["payhook.outcome"].AsString())
		assert.Equal(t, "invalid_signature", forged["payhook.reason"].AsString())
		assert.Equal(t, int64(401), forged["http.response.status_code"].AsInt64())
		assert.NotContains(t, forged, attribute.Key("payhook.key"), "a forged delivery's key is not trusted")
		assert.Equal(t, codes.Unset, deliveries[3].Status().Code, "a 4xx is the sender's error, not ours")

		assert.Equal(t, "duplicate", attrs(deliveries[5])["payhook.outcome"].AsString())
		assert.Equal(t, "lnk_2", attrs(deliveries[5])["payhook.key"].AsString())
	})
}

// A delivery that the next handler does not acknowledge is an error span.
func TestFailedDeliveryIsAnErrorSpan(t *testing.T) {
	s := newSDK(t)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	h := payhook.Middleware(newKazawallet(t), payhook.WithObserver(s.tel.Observer()))(next)
	require.Equal(t, http.StatusInternalServerError, serve(context.Background(), h, sender.Request("/", paid("lnk_1"))))

	spans := s.spans.Ended()
	require.Len(t, spans, 1)
	assert.False(t, spans[0].Parent().IsValid(), "a root span without a span in the request")
	assert.Equal(t, codes.Error, spans[0].Status().Code)
	assert.Equal(t, "not_acknowledged", spans[0].Status().Description)
	assert.Equal(t, "failed", attrs(spans[0])["payhook.outcome"].AsString())
	assert.Equal(t, 1.0, s.value(t, "payhook_webhooks_total", "provider", "kazawallet", "outcome", "failed"))
	assert.Equal(t, 1.0, s.value(t, "payhook_webhook_rejections_total", "provider", "kazawallet", "reason", "not_acknowledged"))
}

// flaky fails each order's first fails[order] calls.
type flaky struct {
	mu    sync.Mutex
	fails map[string]int
}

func (f *flaky) handle(_ context.Context, e kazawallet.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails[e.OrderID] > 0 {
		f.fails[e.OrderID]--
		return errors.New("database down")
	}
	return nil
}

// With an inbox: a span and a count per attempt, and the entries by state
// observed at collection.
func TestInboxAttemptsAndEntries(t *testing.T) {
	ib, err := inbox.New(inbox.NewMemory(), inbox.WithMaxAttempts(2), inbox.WithBackoff(0, 0))
	require.NoError(t, err)
	s := newSDK(t, otel.WithInbox(ib))
	t.Cleanup(func() { assert.NoError(t, s.tel.Close()) })
	attempts := make(chan payhook.Attempt, 16)
	seen := payhook.Observer{Attempt: func(_ context.Context, a payhook.Attempt) { attempts <- a }}
	f := &flaky{fails: map[string]int{"lnk_1": 1, "lnk_2": 2}}
	h := payhook.Handle(newKazawallet(t), f.handle, payhook.WithInbox(ib),
		payhook.WithObserver(payhook.Observers(s.tel.Observer(), seen)))
	require.Equal(t, http.StatusOK, serve(context.Background(), h, sender.Request("/", paid("lnk_1"))))
	require.Equal(t, http.StatusOK, serve(context.Background(), h, sender.Request("/", paid("lnk_2"))))
	assert.Equal(t, 2.0, s.value(t, "payhook_inbox_entries", "provider", "kazawallet", "state", "pending"))
	assert.Equal(t, 1.0, s.value(t, "payhook_inbox_up"))

	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- ib.Run(ctx) }()
	for range 4 { // lnk_1: retry, done; lnk_2: retry, dead
		<-attempts
	}
	cancel()
	require.NoError(t, <-ran)

	for result, n := range map[string]float64{"done": 1, "retry": 2, "dead": 1, "duplicate": 0} {
		assert.Equal(t, n, s.value(t, "payhook_inbox_attempts_total", "provider", "kazawallet", "result", result), result)
	}
	for state, n := range map[string]float64{"pending": 0, "running": 0, "done": 1, "dead": 1} {
		assert.Equal(t, n, s.value(t, "payhook_inbox_entries", "provider", "kazawallet", "state", state), state)
	}

	var dead []map[attribute.Key]attribute.Value
	for _, sp := range s.spans.Ended() {
		if sp.Name() != "payhook.inbox.attempt" {
			continue
		}
		a := attrs(sp)
		assert.Equal(t, "kazawallet", a["payhook.provider"].AsString())
		assert.True(t, sp.EndTime().After(sp.StartTime()))
		if a["payhook.result"].AsString() == "dead" {
			dead = append(dead, a)
			assert.Equal(t, codes.Error, sp.Status().Code)
		}
	}
	require.Len(t, dead, 1)
	assert.Equal(t, "lnk_2", dead[0]["payhook.key"].AsString())
	assert.Equal(t, int64(2), dead[0]["payhook.attempt"].AsInt64())
	assert.Equal(t, "handler_error", dead[0]["payhook.reason"].AsString())

	require.NoError(t, s.tel.Close())
	assert.NotContains(t, names(t, s), "payhook_inbox_entries", "Close stops observing the inbox")
}

func names(t *testing.T, s *sdk) []string {
	var rm metricdata.ResourceMetrics
	require.NoError(t, s.reader.Collect(context.Background(), &rm))
	var out []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out = append(out, m.Name)
		}
	}
	return out
}

// downBackend is a memory inbox whose database is down for Stats.
type downBackend struct{ *inbox.Memory }

func (downBackend) Stats(context.Context) ([]inbox.Stat, error) {
	return nil, errors.New("connection refused")
}

// An inbox that cannot count its entries fails no collection; the error
// goes to OpenTelemetry's error handler.
func TestInboxDown(t *testing.T) {
	var handled errorsSeen
	prev := otelapi.GetErrorHandler()
	otelapi.SetErrorHandler(&handled)
	t.Cleanup(func() { otelapi.SetErrorHandler(prev) })
	ib, err := inbox.New(downBackend{inbox.NewMemory()})
	require.NoError(t, err)
	s := newSDK(t, otel.WithInbox(ib), otel.WithProviders("kazawallet"))
	assert.Equal(t, 0.0, s.value(t, "payhook_inbox_up"))
	assert.Contains(t, handled.String(), "payhook/observe/otel: inbox stats: connection refused")
	assert.Equal(t, 0.0, s.value(t, "payhook_webhooks_total", "provider", "kazawallet", "outcome", "processed"))
	assert.NotContains(t, names(t, s), "payhook_inbox_entries")
}

// errorsSeen is an OpenTelemetry error handler that keeps the errors.
type errorsSeen struct {
	mu   sync.Mutex
	errs []error
}

func (e *errorsSeen) Handle(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, err)
}

func (e *errorsSeen) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return errors.Join(e.errs...).Error()
}

// Counters exist at zero before the first event.
func TestWithProvidersCreatesCountersAtZero(t *testing.T) {
	s := newSDK(t, otel.WithProviders("kkiapay"))
	for _, outcome := range []string{"processed", "duplicate", "rejected", "in_flight", "failed"} {
		assert.Zero(t, s.value(t, "payhook_webhooks_total", "provider", "kkiapay", "outcome", outcome))
	}
	for _, result := range []string{"done", "duplicate", "retry", "dead"} {
		assert.Zero(t, s.value(t, "payhook_inbox_attempts_total", "provider", "kkiapay", "result", result))
	}
	sum := s.metric(t, "payhook_webhook_rejections_total").Data.(metricdata.Sum[int64])
	assert.Len(t, sum.DataPoints, 13)
}

func TestWithBuckets(t *testing.T) {
	s := newSDK(t, otel.WithBuckets(0.5, 1))
	s.tel.Observer().Delivery(context.Background(), payhook.Delivery{Provider: "shop", Outcome: payhook.Processed, Total: 700 * time.Millisecond})
	p := s.metric(t, "payhook_webhook_duration_seconds").Data.(metricdata.Histogram[float64]).DataPoints[0]
	assert.Equal(t, []float64{0.5, 1}, p.Bounds)
	assert.Equal(t, []uint64{0, 1, 0}, p.BucketCounts)
}

// Values newer than this package still count, under their own attribute.
func TestUnknownValuesStillCount(t *testing.T) {
	s := newSDK(t)
	o := s.tel.Observer()
	o.Delivery(context.Background(), payhook.Delivery{Provider: "shop", Outcome: "postponed", Reason: "later"})
	o.Attempt(context.Background(), payhook.Attempt{Provider: "shop", Result: "skipped"})
	assert.Equal(t, 1.0, s.value(t, "payhook_webhooks_total", "provider", "shop", "outcome", "postponed"))
	assert.Equal(t, 1.0, s.value(t, "payhook_webhook_rejections_total", "provider", "shop", "reason", "later"))
	assert.Equal(t, 1.0, s.value(t, "payhook_inbox_attempts_total", "provider", "shop", "result", "skipped"))
}

// The metrics of a delivery of a known provider allocate nothing: what a
// delivery allocates with a TracerProvider that records nothing is the
// trace API's (the span's timestamps, its options, its context).
func TestMetricsAllocateNothing(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	tel, err := otel.New(otel.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
		otel.WithTracerProvider(noop.NewTracerProvider()), otel.WithProviders("kazawallet"))
	require.NoError(t, err)
	o := tel.Observer()
	ctx := context.Background()
	d := payhook.Delivery{Provider: "kazawallet", Outcome: payhook.Processed, Status: 200, Key: "lnk_1",
		Verify: time.Microsecond, Store: time.Microsecond, Handler: time.Microsecond, Total: 5 * time.Microsecond}
	allocs := testing.AllocsPerRun(100, func() { o.Delivery(ctx, d) })
	assert.LessOrEqual(t, allocs, 5.0, "trace.WithTimestamp twice, Start's and End's options, the span's context")
}

// BenchmarkObserver is the cost of one delivery: metrics in the SDK, and
// the span recorded by the SDK or not recorded at all.
func BenchmarkObserver(b *testing.B) {
	for _, tracing := range []string{"noop", "sdk"} {
		b.Run("tracer="+tracing, func(b *testing.B) {
			var tp trace.TracerProvider = noop.NewTracerProvider()
			if tracing == "sdk" {
				stp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(discard{}))
				b.Cleanup(func() { _ = stp.Shutdown(context.Background()) })
				tp = stp
			}
			tel, err := otel.New(otel.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))),
				otel.WithTracerProvider(tp), otel.WithProviders("kazawallet"))
			require.NoError(b, err)
			o := tel.Observer()
			ctx := context.Background()
			d := payhook.Delivery{Provider: "kazawallet", Outcome: payhook.Processed, Status: 200, Key: "lnk_1",
				Verify: 20 * time.Microsecond, Store: time.Microsecond, Handler: time.Microsecond, Total: 30 * time.Microsecond}
			b.ReportAllocs()
			for b.Loop() {
				o.Delivery(ctx, d)
			}
		})
	}
}

// discard is a span processor that drops the ended spans.
type discard struct{}

func (discard) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discard) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discard) Shutdown(context.Context) error                  { return nil }
func (discard) ForceFlush(context.Context) error                { return nil }

// Through OpenTelemetry's Prometheus exporter, the metrics have the
// Prometheus adapter's names and labels, so that one dashboard serves both.
func TestPrometheusExporterKeepsTheNames(t *testing.T) {
	registry := prom.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	require.NoError(t, err)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	t.Cleanup(func() { assert.NoError(t, mp.Shutdown(context.Background())) })
	ib, err := inbox.New(inbox.NewMemory())
	require.NoError(t, err)
	tel, err := otel.New(otel.WithMeterProvider(mp), otel.WithTracerProvider(noop.NewTracerProvider()), otel.WithInbox(ib))
	require.NoError(t, err)
	h := payhook.Handle(newKazawallet(t), func(context.Context, kazawallet.Event) error { return nil },
		payhook.WithObserver(tel.Observer()))
	for _, order := range []string{"lnk_1", "lnk_2", "lnk_3"} {
		require.Equal(t, http.StatusOK, serve(context.Background(), h, sender.Request("/", paid(order))))
	}
	for _, order := range []string{"lnk_4", "lnk_5"} {
		require.Equal(t, http.StatusUnauthorized, serve(context.Background(), h, sender.Forged("/", paid(order))))
	}
	require.Equal(t, http.StatusOK, serve(context.Background(), h, sender.Request("/", paid("lnk_2"))))
	tel.Observer().Attempt(context.Background(), payhook.Attempt{Provider: "kazawallet", Key: "lnk_9", N: 1, Result: payhook.AttemptRetry})

	w := httptest.NewRecorder()
	promhttp.HandlerFor(registry, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	text := w.Body.String()
	for _, line := range []string{
		`payhook_webhooks_total{outcome="processed",provider="kazawallet"} 3`,
		`payhook_webhooks_total{outcome="rejected",provider="kazawallet"} 2`,
		`payhook_webhooks_total{outcome="duplicate",provider="kazawallet"} 1`,
		`payhook_webhooks_total{outcome="failed",provider="kazawallet"} 0`,
		`payhook_webhook_rejections_total{provider="kazawallet",reason="invalid_signature"} 2`,
		`payhook_webhook_duration_seconds_count{outcome="processed",provider="kazawallet"} 3`,
		`payhook_webhook_duration_seconds_bucket{outcome="processed",provider="kazawallet",le="30"} 3`,
		`payhook_webhook_step_duration_seconds_count{provider="kazawallet",step="verify"} 6`,
		`payhook_inbox_attempts_total{provider="kazawallet",result="retry"} 1`,
		`payhook_inbox_entries{provider="kazawallet",state="pending"} 0`,
		`payhook_inbox_up 1`,
	} {
		assert.Contains(t, text, line+"\n")
	}
}

// TestNewRefusesUnusableValues: options given values they cannot use make
// New fail with payhook.ErrConfig, where they used to be ignored.
func TestNewRefusesUnusableValues(t *testing.T) {
	for name, opt := range map[string]otel.Option{
		"WithMeterProvider(nil)":  otel.WithMeterProvider(nil),
		"WithTracerProvider(nil)": otel.WithTracerProvider(nil),
		"WithInbox(nil)":          otel.WithInbox(nil),
		"WithStatsTimeout(-1s)":   otel.WithStatsTimeout(-time.Second),
		"WithProviders(\"\")":     otel.WithProviders(""),
		"WithBuckets()":           otel.WithBuckets(),
		"WithBuckets(unsorted)":   otel.WithBuckets(2, 1),
	} {
		t.Run(name, func(t *testing.T) {
			tel, err := otel.New(opt)
			assert.ErrorIs(t, err, payhook.ErrConfig)
			assert.Nil(t, tel)
		})
	}
}

// Package otel records payhook's metrics and traces with OpenTelemetry,
// through go.opentelemetry.io/otel's metric and trace APIs: any SDK or
// exporter the application has set up receives them.
//
// [New] returns a [Telemetry]; give its [Telemetry.Observer] to every
// payhook.Handle and payhook.Middleware of the application (one Telemetry
// serves every provider):
//
//	tel, err := otel.New(otel.WithMeterProvider(mp), otel.WithTracerProvider(tp))
//	h := payhook.Handle(kw, onPaid, payhook.WithObserver(tel.Observer()))
//
// # Metrics
//
// The instruments have the names and attributes of the Prometheus adapter
// (github.com/payhook/payhook/observe/prometheus), with their units, so that
// the same dashboard serves both, through OpenTelemetry's Prometheus exporter
// or an OTLP pipeline into Prometheus:
//
//	payhook_webhooks_total{provider,outcome}              counter, {delivery}
//	payhook_webhook_duration_seconds{provider,outcome}    histogram, s
//	payhook_webhook_rejections_total{provider,reason}     counter, {delivery}
//	payhook_webhook_step_duration_seconds{provider,step}  histogram, s
//	payhook_inbox_attempts_total{provider,result}         counter, {attempt}
//	payhook_inbox_entries{provider,state}                 gauge, {entry} (with WithInbox)
//	payhook_inbox_up                                      gauge (with WithInbox)
//
// # Traces
//
// Each delivery is a span named "payhook.delivery", and each inbox attempt
// one named "payhook.inbox.attempt", both children of the span in the
// context payhook hands over: the request's for a delivery (so that otelhttp
// in front of payhook links them), the attempt's for an attempt. payhook
// reports a delivery once it is answered, so its span is recorded then, with
// the delivery's start (the answer's time less its Total) and end. Its
// attributes:
//
//	payhook.provider            kazawallet, kkiapay, ...
//	payhook.outcome             processed, duplicate, rejected, in_flight, failed
//	http.response.status_code   the status answered
//	payhook.reason              why it was rejected or failed (absent otherwise)
//	payhook.key                 the event's idempotency key, once verified
//	payhook.verify.duration, payhook.store.duration,
//	payhook.confirm.duration, payhook.handler.duration
//	                            seconds spent in each step taken
//
// An attempt's: payhook.provider, payhook.key, payhook.attempt (its number),
// payhook.result (done, duplicate, retry, dead) and payhook.reason. A span's
// status is Error for a failed delivery, a 5xx answer, and a failed attempt.
// No attribute ever holds a secret, a signature or a body: payhook does not
// hand them to observers.
//
// The steps are attributes rather than child spans: payhook reports how long
// each step took, not when it started (the store's time is the claim's plus
// the completion's, on either side of the handler), and a child span placed
// at a guessed time would show a timeline that did not happen.
package otel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/internal/optcheck"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/payhook/payhook/observe/otel"

// DefaultStatsTimeout bounds the inbox's Stats call at each collection.
const DefaultStatsTimeout = 5 * time.Second

// The attribute values, in the order of the kids' arrays.
var (
	outcomes = [...]payhook.Outcome{payhook.Processed, payhook.Duplicate, payhook.Rejected, payhook.InFlight, payhook.Failed}
	reasons  = [...]payhook.Reason{
		payhook.ReasonMethodNotAllowed, payhook.ReasonRateLimited, payhook.ReasonTooLarge, payhook.ReasonMalformed,
		payhook.ReasonInvalidSignature, payhook.ReasonPending, payhook.ReasonUnavailable, payhook.ReasonInFlight,
		payhook.ReasonHandler, payhook.ReasonNotAcknowledged, payhook.ReasonStoreUnavailable,
		payhook.ReasonInboxUnavailable, payhook.ReasonConfirmationLater,
	}
	results = [...]payhook.AttemptResult{payhook.AttemptDone, payhook.AttemptDuplicate, payhook.AttemptRetry, payhook.AttemptDead}
	steps   = [...]string{"verify", "store", "confirm", "handler"}
	states  = [...]inbox.State{inbox.Pending, inbox.Running, inbox.Done, inbox.Dead}
)

// stepKeys are the span attributes of the steps' durations.
var stepKeys = [len(steps)]attribute.Key{"payhook.verify.duration", "payhook.store.duration", "payhook.confirm.duration", "payhook.handler.duration"}

// defaultBuckets are the Prometheus adapter's: from a delivery verified and
// deduplicated in memory (a tenth of a millisecond) to the providers' own
// timeouts (tens of seconds).
var defaultBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Telemetry records payhook's metrics and spans. Make one with [New]; its
// zero value is not usable. It is safe for concurrent use.
type Telemetry struct {
	tracer     trace.Tracer
	webhooks   metric.Int64Counter
	duration   metric.Float64Histogram
	rejections metric.Int64Counter
	steps      metric.Float64Histogram
	attempts   metric.Int64Counter

	inbox        *inbox.Inbox
	statsTimeout time.Duration
	entries      metric.Int64ObservableGauge
	inboxUp      metric.Int64ObservableGauge
	callback     metric.Registration

	mu        sync.Mutex
	providers atomic.Pointer[map[string]*kids]
}

// kids are one provider's attribute sets, made once, so that recording a
// delivery's metrics allocates nothing: each is a slice of one option,
// passed on as it is (a variadic argument built at each call would escape
// to the heap through the instrument's interface).
type kids struct {
	provider   attribute.KeyValue
	webhooks   [len(outcomes)][]metric.AddOption
	duration   [len(outcomes)][]metric.RecordOption
	rejections [len(reasons)][]metric.AddOption
	steps      [len(steps)][]metric.RecordOption
	attempts   [len(results)][]metric.AddOption
}

// Option configures [New]. An option given a value it cannot use makes
// New fail with an error wrapping payhook.ErrConfig.
type Option func(*config)

type config struct {
	refused      optcheck.Refused // values the options could not use
	mp           metric.MeterProvider
	tp           trace.TracerProvider
	inbox        *inbox.Inbox
	statsTimeout time.Duration
	providers    []string
	buckets      []float64
}

// WithMeterProvider sets where the metrics go. Default: the global
// MeterProvider (otel.GetMeterProvider), which records nothing until the
// application sets one.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if mp == nil {
			c.refused.Add("WithMeterProvider(nil)")
			return
		}
		c.mp = mp
	}
}

// WithTracerProvider sets where the spans go. Default: the global
// TracerProvider (otel.GetTracerProvider), which records nothing until the
// application sets one.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) {
		if tp == nil {
			c.refused.Add("WithTracerProvider(nil)")
			return
		}
		c.tp = tp
	}
}

// WithInbox observes the entries of ib by provider and state
// (payhook_inbox_entries), read with ib.Stats at each collection, and
// whether that read succeeded (payhook_inbox_up). When it fails, the other
// metrics are collected all the same, payhook_inbox_up is 0, and the error
// goes to otel.Handle. Default: no entries; the attempts are counted all the
// same.
func WithInbox(ib *inbox.Inbox) Option {
	return func(c *config) {
		if ib == nil {
			c.refused.Add("WithInbox(nil)")
			return
		}
		c.inbox = ib
	}
}

// WithStatsTimeout bounds the inbox's Stats call at each collection (see
// [WithInbox]): a positive duration. Default: DefaultStatsTimeout.
func WithStatsTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.refused.Add("WithStatsTimeout(%s): want a positive duration", d)
			return
		}
		c.statsTimeout = d
	}
}

// WithProviders creates the counters of the providers named at zero at
// once, so that they are exported before the first delivery. Default: a
// provider's counters are created at its first delivery or attempt.
func WithProviders(names ...string) Option {
	return func(c *config) {
		if slices.Contains(names, "") {
			c.refused.Add("WithProviders: an empty name")
			return
		}
		c.providers = append(c.providers, names...)
	}
}

// WithBuckets sets the bucket boundaries, in seconds, of the duration
// histograms, as advice to the SDK (a View may override it). Default: the
// Prometheus adapter's, 0.1ms to 30s. The list must not be empty, and must
// increase.
func WithBuckets(bounds ...float64) Option {
	return func(c *config) {
		if len(bounds) == 0 {
			c.refused.Add("WithBuckets(): want at least one bound")
			return
		}
		for i := 1; i < len(bounds); i++ {
			if bounds[i] <= bounds[i-1] {
				c.refused.Add("WithBuckets(%v): want bounds in increasing order", bounds)
				return
			}
		}
		c.buckets = bounds
	}
}

// New returns a Telemetry recording through the providers of the options.
// It fails when the MeterProvider refuses an instrument, and with an error
// wrapping payhook.ErrConfig if an option is given a value it cannot use.
func New(opts ...Option) (*Telemetry, error) {
	c := config{statsTimeout: DefaultStatsTimeout, buckets: defaultBuckets}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if err := c.refused.Err("payhook/observe/otel", payhook.ErrConfig); err != nil {
		return nil, err
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	meter := c.mp.Meter(ScopeName)
	t := &Telemetry{tracer: c.tp.Tracer(ScopeName), inbox: c.inbox, statsTimeout: c.statsTimeout}
	var errs [8]error
	t.webhooks, errs[0] = meter.Int64Counter("payhook_webhooks_total", metric.WithUnit("{delivery}"),
		metric.WithDescription("Webhook deliveries answered, by provider and outcome (processed, duplicate, rejected, in_flight, failed)."))
	t.duration, errs[1] = meter.Float64Histogram("payhook_webhook_duration_seconds", metric.WithUnit("s"),
		metric.WithDescription("Time from a delivery's arrival to its answer, by provider and outcome."),
		metric.WithExplicitBucketBoundaries(c.buckets...))
	t.rejections, errs[2] = meter.Int64Counter("payhook_webhook_rejections_total", metric.WithUnit("{delivery}"),
		metric.WithDescription("Webhook deliveries not acknowledged (rejected, in_flight or failed), by provider and reason."))
	t.steps, errs[3] = meter.Float64Histogram("payhook_webhook_step_duration_seconds", metric.WithUnit("s"),
		metric.WithDescription("Time deliveries spent in each step (verify, store, confirm, handler), by provider and step; a step not taken is not recorded."),
		metric.WithExplicitBucketBoundaries(c.buckets...))
	t.attempts, errs[4] = meter.Int64Counter("payhook_inbox_attempts_total", metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts of inbox entries, by provider and result (done, duplicate, retry, dead)."))
	if t.inbox != nil {
		t.entries, errs[5] = meter.Int64ObservableGauge("payhook_inbox_entries", metric.WithUnit("{entry}"),
			metric.WithDescription("Entries in the inbox, by provider and state (pending, running, done, dead)."))
		// No unit: "1" would be exported to Prometheus as payhook_inbox_up_ratio.
		t.inboxUp, errs[6] = meter.Int64ObservableGauge("payhook_inbox_up",
			metric.WithDescription("1 if the inbox answered its entry counts at this collection, 0 if not."))
		if errs[5] == nil && errs[6] == nil {
			t.callback, errs[7] = meter.RegisterCallback(t.observeInbox, t.entries, t.inboxUp)
		}
	}
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("payhook/observe/otel: %w", err)
	}
	t.providers.Store(&map[string]*kids{})
	for _, name := range c.providers {
		t.kids(name)
	}
	return t, nil
}

// Close stops observing the inbox's entries. The Observer goes on
// recording deliveries and attempts.
func (t *Telemetry) Close() error {
	if t.callback == nil {
		return nil
	}
	return t.callback.Unregister()
}

// Observer returns the payhook.Observer that records into t: give it to
// payhook.WithObserver (combined with others by payhook.Observers).
func (t *Telemetry) Observer() payhook.Observer {
	return payhook.Observer{Delivery: t.delivery, Attempt: t.attempt}
}

func (t *Telemetry) delivery(ctx context.Context, d payhook.Delivery) {
	end := time.Now()
	k := t.kids(d.Provider)
	if i := index(outcomes[:], d.Outcome); i >= 0 {
		t.webhooks.Add(ctx, 1, k.webhooks[i]...)
		t.duration.Record(ctx, d.Total.Seconds(), k.duration[i]...)
	} else { // an outcome newer than this package
		set := metric.WithAttributes(k.provider, attribute.String("outcome", string(d.Outcome)))
		t.webhooks.Add(ctx, 1, set)
		t.duration.Record(ctx, d.Total.Seconds(), set)
	}
	if d.Reason != payhook.ReasonNone {
		if i := index(reasons[:], d.Reason); i >= 0 {
			t.rejections.Add(ctx, 1, k.rejections[i]...)
		} else {
			t.rejections.Add(ctx, 1, metric.WithAttributes(k.provider, attribute.String("reason", string(d.Reason))))
		}
	}
	took := [len(steps)]time.Duration{d.Verify, d.Store, d.Confirm, d.Handler}
	for i, s := range took {
		if s > 0 {
			t.steps.Record(ctx, s.Seconds(), k.steps[i]...)
		}
	}

	_, span := t.tracer.Start(ctx, "payhook.delivery", trace.WithTimestamp(end.Add(-d.Total)))
	if span.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 9)
		attrs = append(attrs,
			attribute.String("payhook.provider", d.Provider),
			attribute.String("payhook.outcome", string(d.Outcome)),
			attribute.Int("http.response.status_code", d.Status))
		if d.Reason != payhook.ReasonNone {
			attrs = append(attrs, attribute.String("payhook.reason", string(d.Reason)))
		}
		if d.Key != "" {
			attrs = append(attrs, attribute.String("payhook.key", d.Key))
		}
		for i, s := range took {
			if s > 0 {
				attrs = append(attrs, stepKeys[i].Float64(s.Seconds()))
			}
		}
		span.SetAttributes(attrs...)
		if d.Outcome == payhook.Failed || d.Status >= 500 {
			span.SetStatus(codes.Error, string(d.Reason))
		}
	}
	span.End(trace.WithTimestamp(end))
}

func (t *Telemetry) attempt(ctx context.Context, a payhook.Attempt) {
	end := time.Now()
	if i := index(results[:], a.Result); i >= 0 {
		t.attempts.Add(ctx, 1, t.kids(a.Provider).attempts[i]...)
	} else {
		t.attempts.Add(ctx, 1, metric.WithAttributes(attribute.String("provider", a.Provider), attribute.String("result", string(a.Result))))
	}
	_, span := t.tracer.Start(ctx, "payhook.inbox.attempt", trace.WithTimestamp(end.Add(-a.Duration)))
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("payhook.provider", a.Provider),
			attribute.String("payhook.key", a.Key),
			attribute.Int("payhook.attempt", a.N),
			attribute.String("payhook.result", string(a.Result)))
		if a.Reason != payhook.ReasonNone {
			span.SetAttributes(attribute.String("payhook.reason", string(a.Reason)))
		}
		if a.Result == payhook.AttemptRetry || a.Result == payhook.AttemptDead {
			span.SetStatus(codes.Error, string(a.Reason))
		}
	}
	span.End(trace.WithTimestamp(end))
}

// index returns the index of v in vs, or -1.
func index[T comparable](vs []T, v T) int {
	for i, w := range vs {
		if w == v {
			return i
		}
	}
	return -1
}

// kids returns provider's attribute sets, creating them, and its counters
// at zero, the first time.
func (t *Telemetry) kids(provider string) *kids {
	if k, ok := (*t.providers.Load())[provider]; ok {
		return k
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.providers.Load()
	if k, ok := old[provider]; ok {
		return k
	}
	p := attribute.String("provider", provider)
	set := func(key, value string) metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(p, attribute.String(key, value)))
	}
	ctx := context.Background()
	k := &kids{provider: p}
	for i, o := range outcomes {
		opt := set("outcome", string(o))
		k.webhooks[i], k.duration[i] = []metric.AddOption{opt}, []metric.RecordOption{opt}
		t.webhooks.Add(ctx, 0, opt)
	}
	for i, r := range reasons {
		k.rejections[i] = []metric.AddOption{set("reason", string(r))}
		t.rejections.Add(ctx, 0, k.rejections[i]...)
	}
	for i, s := range steps {
		k.steps[i] = []metric.RecordOption{set("step", s)}
	}
	for i, r := range results {
		k.attempts[i] = []metric.AddOption{set("result", string(r))}
		t.attempts.Add(ctx, 0, k.attempts[i]...)
	}
	next := make(map[string]*kids, len(old)+1)
	for name, v := range old {
		next[name] = v
	}
	next[provider] = k
	t.providers.Store(&next)
	return k
}

// observeInbox observes the inbox's entries by provider and state: every
// state of every provider known, at zero when the inbox has none.
func (t *Telemetry) observeInbox(ctx context.Context, o metric.Observer) error {
	ctx, cancel := context.WithTimeout(ctx, t.statsTimeout)
	defer cancel()
	stats, err := t.inbox.Stats(ctx)
	if err != nil {
		o.ObserveInt64(t.inboxUp, 0)
		otel.Handle(fmt.Errorf("payhook/observe/otel: inbox stats: %w", err))
		return nil
	}
	o.ObserveInt64(t.inboxUp, 1)
	counts := make(map[string]*[len(states)]int64)
	for name := range *t.providers.Load() {
		counts[name] = new([len(states)]int64)
	}
	for _, s := range stats {
		c := counts[s.Provider]
		if c == nil {
			c = new([len(states)]int64)
			counts[s.Provider] = c
		}
		if i := index(states[:], s.State); i >= 0 {
			c[i] += int64(s.N)
		}
	}
	for name, c := range counts {
		for i, s := range states {
			o.ObserveInt64(t.entries, c[i], metric.WithAttributes(attribute.String("provider", name), attribute.String("state", s.String())))
		}
	}
	return nil
}

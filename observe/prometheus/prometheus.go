// Package prometheus exports payhook's metrics to Prometheus, through
// github.com/prometheus/client_golang.
//
// [New] returns a [Metrics], a prometheus.Collector: register it, and give
// its [Metrics.Observer] to every payhook.Handle and payhook.Middleware of
// the application (one Metrics serves every provider):
//
//	m, err := prometheus.New(prometheus.WithInbox(ib))
//	...
//	registry.MustRegister(m)
//	h := payhook.Handle(kw, onPaid, payhook.WithObserver(m.Observer()))
//
// The metrics, whose names and labels dashboards rely on:
//
//	payhook_webhooks_total{provider,outcome}                  counter
//	payhook_webhook_duration_seconds{provider,outcome}        histogram
//	payhook_webhook_rejections_total{provider,reason}         counter
//	payhook_webhook_step_duration_seconds{provider,step}      histogram
//	payhook_inbox_attempts_total{provider,result}             counter
//	payhook_reconcile_total{provider,result}                  counter
//	payhook_inbox_entries{provider,state}                     gauge (with WithInbox)
//	payhook_inbox_up                                          gauge (with WithInbox)
//
// outcome is processed, duplicate, rejected, in_flight or failed
// (payhook.Outcome); reason is one of payhook's Reason values; step is
// verify, store, confirm or handler; result is done, duplicate, retry,
// dead or dropped (payhook.AttemptResult) for attempts, and found,
// pending, error or overdue (payhook.ReconcileResult) for the polls and
// overdue expectations of a payhook.Reconciler (give it the Observer with
// payhook.WithReconcileObserver); state is pending, running, done or dead
// (inbox.State). No label ever holds an idempotency key, an address or
// anything else that grows with the traffic.
//
// Each provider's label combinations are created at zero the first time it
// is seen (or at once, with [WithProviders]), so that rate() and increase()
// see a series before its first event.
package prometheus

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/internal/optcheck"
)

// The label values, in the order of the children's arrays.
var (
	outcomes = [...]payhook.Outcome{payhook.Processed, payhook.Duplicate, payhook.Rejected, payhook.InFlight, payhook.Failed}
	reasons  = [...]payhook.Reason{
		payhook.ReasonMethodNotAllowed, payhook.ReasonRateLimited, payhook.ReasonTooLarge, payhook.ReasonMalformed,
		payhook.ReasonInvalidSignature, payhook.ReasonPending, payhook.ReasonUnavailable, payhook.ReasonInFlight,
		payhook.ReasonHandler, payhook.ReasonNotAcknowledged, payhook.ReasonStoreUnavailable,
		payhook.ReasonInboxUnavailable, payhook.ReasonInboxFull, payhook.ReasonConfirmationLater, payhook.ReasonUnexpected,
		payhook.ReasonMismatch,
	}
	reconciled = [...]payhook.ReconcileResult{payhook.ReconcileFound, payhook.ReconcilePending, payhook.ReconcileError, payhook.ReconcileOverdue}
	results    = [...]payhook.AttemptResult{payhook.AttemptDone, payhook.AttemptDuplicate, payhook.AttemptRetry, payhook.AttemptDead, payhook.AttemptDropped}
	steps      = [...]string{"verify", "store", "confirm", "handler"}
	states     = [...]inbox.State{inbox.Pending, inbox.Running, inbox.Done, inbox.Dead}
)

// defaultBuckets suit a webhook receiver: from a delivery verified and
// deduplicated in memory (a tenth of a millisecond) through a database store
// (milliseconds) and a call to the provider's API (hundreds of
// milliseconds) to the providers' own timeouts (tens of seconds).
var defaultBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// DefaultStatsTimeout bounds the inbox's Stats call at each scrape.
const DefaultStatsTimeout = 5 * time.Second

// Metrics is payhook's metrics for Prometheus. It implements
// prometheus.Collector: register it on a prometheus.Registerer. Make one
// with [New]; its zero value is not usable. It is safe for concurrent use.
type Metrics struct {
	webhooks   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	rejections *prometheus.CounterVec
	steps      *prometheus.HistogramVec
	attempts   *prometheus.CounterVec
	reconciles *prometheus.CounterVec

	inbox        *inbox.Inbox
	statsTimeout time.Duration
	entries      *prometheus.Desc
	inboxUp      *prometheus.Desc

	mu        sync.Mutex                       // held to add a provider
	providers atomic.Pointer[map[string]*kids] // read without a lock, copied on write
}

// kids are one provider's label-bound metrics, made once, so that a
// delivery allocates nothing.
type kids struct {
	webhooks   [len(outcomes)]prometheus.Counter
	duration   [len(outcomes)]prometheus.Observer
	rejections [len(reasons)]prometheus.Counter
	steps      [len(steps)]prometheus.Observer
	attempts   [len(results)]prometheus.Counter
	reconciles [len(reconciled)]prometheus.Counter
}

// Option configures [New]. An option given a value it cannot use makes
// New fail with an error wrapping payhook.ErrConfig.
type Option func(*config)

type config struct {
	refused      optcheck.Refused // values the options could not use
	inbox        *inbox.Inbox
	statsTimeout time.Duration
	providers    []string
	buckets      []float64
}

// WithInbox exports the entries of ib by provider and state
// (payhook_inbox_entries), read with ib.Stats at each scrape, and whether
// that read succeeded (payhook_inbox_up). When it fails (the inbox's
// database is down), the scrape still succeeds, with payhook_inbox_up 0 and
// no entries, so that the webhook metrics stay visible exactly when they
// matter. Default: no entries; the attempts are counted all the same,
// since payhook reports them to the Observer.
func WithInbox(ib *inbox.Inbox) Option {
	return func(c *config) {
		if ib == nil {
			c.refused.Add("WithInbox(nil)")
			return
		}
		c.inbox = ib
	}
}

// WithStatsTimeout bounds the inbox's Stats call at each scrape (see
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

// WithProviders creates the series of the providers named ("kazawallet",
// "kkiapay", ...) at zero at once, so that they are exported before the
// first delivery. Default: a provider's series are created at its first
// delivery or attempt.
func WithProviders(names ...string) Option {
	return func(c *config) {
		if slices.Contains(names, "") {
			c.refused.Add("WithProviders: an empty name")
			return
		}
		c.providers = append(c.providers, names...)
	}
}

// WithBuckets sets the upper bounds, in seconds, of the buckets of the
// duration histograms. Default: 0.1ms, 0.25ms, 0.5ms, 1ms, 2.5ms, 5ms, 10ms,
// 25ms, 50ms, 0.1s, 0.25s, 0.5s, 1s, 2.5s, 5s, 10s and 30s. The list must
// not be empty, and must increase.
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

// New returns payhook's metrics. It fails with an error wrapping
// payhook.ErrConfig if an option is given a value it cannot use.
func New(opts ...Option) (*Metrics, error) {
	c := config{statsTimeout: DefaultStatsTimeout, buckets: defaultBuckets}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if err := c.refused.Err("payhook/observe/prometheus", payhook.ErrConfig); err != nil {
		return nil, err
	}
	m := &Metrics{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payhook_webhooks_total",
			Help: "Webhook deliveries answered, by provider and outcome (processed, duplicate, rejected, in_flight, failed).",
		}, []string{"provider", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "payhook_webhook_duration_seconds",
			Help:    "Time from a delivery's arrival to its answer, by provider and outcome.",
			Buckets: c.buckets,
		}, []string{"provider", "outcome"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payhook_webhook_rejections_total",
			Help: "Webhook deliveries not acknowledged (rejected, in_flight or failed), by provider and reason.",
		}, []string{"provider", "reason"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "payhook_webhook_step_duration_seconds",
			Help:    "Time deliveries spent in each step (verify, store, confirm, handler), by provider and step; a step not taken is not observed.",
			Buckets: c.buckets,
		}, []string{"provider", "step"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payhook_inbox_attempts_total",
			Help: "Attempts of inbox entries, by provider and result (done, duplicate, retry, dead).",
		}, []string{"provider", "result"}),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payhook_reconcile_total",
			Help: "Polls of expected payments, by provider and result (found, pending, error), and expectations that became overdue (overdue).",
		}, []string{"provider", "result"}),
		inbox:        c.inbox,
		statsTimeout: c.statsTimeout,
		entries: prometheus.NewDesc("payhook_inbox_entries",
			"Entries in the inbox, by provider and state (pending, running, done, dead), read at scrape time.",
			[]string{"provider", "state"}, nil),
		inboxUp: prometheus.NewDesc("payhook_inbox_up",
			"1 if the inbox answered its entry counts at this scrape, 0 if not.", nil, nil),
	}
	m.providers.Store(&map[string]*kids{})
	for _, name := range c.providers {
		m.kids(name)
	}
	return m, nil
}

// Observer returns the payhook.Observer that counts into m: give it to
// payhook.WithObserver (combined with others by payhook.Observers). A
// delivery or an attempt of a provider already seen allocates nothing.
func (m *Metrics) Observer() payhook.Observer {
	return payhook.Observer{Delivery: m.delivery, Attempt: m.attempt, Reconcile: m.reconcile}
}

func (m *Metrics) reconcile(_ context.Context, r payhook.Reconcile) {
	if i := index(reconciled[:], r.Result); i >= 0 {
		m.kids(r.Provider).reconciles[i].Inc()
	} else {
		m.reconciles.WithLabelValues(r.Provider, string(r.Result)).Inc()
	}
}

func (m *Metrics) delivery(_ context.Context, d payhook.Delivery) {
	k := m.kids(d.Provider)
	if i := index(outcomes[:], d.Outcome); i >= 0 {
		k.webhooks[i].Inc()
		k.duration[i].Observe(d.Total.Seconds())
	} else { // an outcome newer than this package
		m.webhooks.WithLabelValues(d.Provider, string(d.Outcome)).Inc()
		m.duration.WithLabelValues(d.Provider, string(d.Outcome)).Observe(d.Total.Seconds())
	}
	if d.Reason != payhook.ReasonNone {
		if i := index(reasons[:], d.Reason); i >= 0 {
			k.rejections[i].Inc()
		} else {
			m.rejections.WithLabelValues(d.Provider, string(d.Reason)).Inc()
		}
	}
	for i, took := range [len(steps)]time.Duration{d.Verify, d.Store, d.Confirm, d.Handler} {
		if took > 0 {
			k.steps[i].Observe(took.Seconds())
		}
	}
}

func (m *Metrics) attempt(_ context.Context, a payhook.Attempt) {
	if i := index(results[:], a.Result); i >= 0 {
		m.kids(a.Provider).attempts[i].Inc()
	} else {
		m.attempts.WithLabelValues(a.Provider, string(a.Result)).Inc()
	}
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

// kids returns provider's label-bound metrics, creating them, and so their
// series at zero, the first time.
func (m *Metrics) kids(provider string) *kids {
	if k, ok := (*m.providers.Load())[provider]; ok {
		return k
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.providers.Load()
	if k, ok := old[provider]; ok {
		return k
	}
	k := &kids{}
	for i, o := range outcomes {
		k.webhooks[i] = m.webhooks.WithLabelValues(provider, string(o))
		k.duration[i] = m.duration.WithLabelValues(provider, string(o))
	}
	for i, r := range reasons {
		k.rejections[i] = m.rejections.WithLabelValues(provider, string(r))
	}
	for i, s := range steps {
		k.steps[i] = m.steps.WithLabelValues(provider, s)
	}
	for i, r := range results {
		k.attempts[i] = m.attempts.WithLabelValues(provider, string(r))
	}
	for i, r := range reconciled {
		k.reconciles[i] = m.reconciles.WithLabelValues(provider, string(r))
	}
	next := make(map[string]*kids, len(old)+1)
	for name, v := range old {
		next[name] = v
	}
	next[provider] = k
	m.providers.Store(&next)
	return k
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.webhooks.Describe(ch)
	m.duration.Describe(ch)
	m.rejections.Describe(ch)
	m.steps.Describe(ch)
	m.attempts.Describe(ch)
	m.reconciles.Describe(ch)
	if m.inbox != nil {
		ch <- m.entries
		ch <- m.inboxUp
	}
}

// Collect implements prometheus.Collector. With an inbox, it reads the
// inbox's entry counts (see [WithInbox]).
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.webhooks.Collect(ch)
	m.duration.Collect(ch)
	m.rejections.Collect(ch)
	m.steps.Collect(ch)
	m.attempts.Collect(ch)
	m.reconciles.Collect(ch)
	if m.inbox != nil {
		m.collectInbox(ch)
	}
}

// collectInbox sends the inbox's entries by provider and state: every state
// of every provider known, at zero when the inbox has none.
func (m *Metrics) collectInbox(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), m.statsTimeout)
	defer cancel()
	stats, err := m.inbox.Stats(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(m.inboxUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(m.inboxUp, prometheus.GaugeValue, 1)
	counts := make(map[string]*[len(states)]int)
	for name := range *m.providers.Load() {
		counts[name] = new([len(states)]int)
	}
	for _, s := range stats {
		c := counts[s.Provider]
		if c == nil {
			c = new([len(states)]int)
			counts[s.Provider] = c
		}
		if i := index(states[:], s.State); i >= 0 {
			c[i] += s.N
		}
	}
	for name, c := range counts {
		for i, s := range states {
			ch <- prometheus.MustNewConstMetric(m.entries, prometheus.GaugeValue, float64(c[i]), name, s.String())
		}
	}
}

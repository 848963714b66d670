package prometheus_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/observe/prometheus"
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

func newRegistry(t testing.TB, opts ...prometheus.Option) (*prom.Registry, *prometheus.Metrics) {
	m, err := prometheus.New(opts...)
	require.NoError(t, err)
	reg := prom.NewPedanticRegistry()
	require.NoError(t, reg.Register(m))
	return reg, m
}

// serve answers r with h and returns the status.
func serve(h http.Handler, r *http.Request) int {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// scrape returns the text exposition that promhttp serves for reg, fetched
// over HTTP as Prometheus would.
func scrape(t *testing.T, reg *prom.Registry) string {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

// value returns the value of the series of name with labels (name=value
// pairs) gathered from reg: a counter's or a gauge's value, a histogram's
// count. It fails the test when there is no such series.
func value(t *testing.T, reg prom.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				switch {
				case m.Counter != nil:
					return m.Counter.GetValue()
				case m.Gauge != nil:
					return m.Gauge.GetValue()
				case m.Histogram != nil:
					return float64(m.Histogram.GetSampleCount())
				}
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func matches(m *dto.Metric, labels []string) bool {
	want := make(map[string]string)
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	if len(m.GetLabel()) != len(want) {
		return false
	}
	for _, l := range m.GetLabel() {
		if want[l.GetName()] != l.GetValue() {
			return false
		}
	}
	return true
}

// The acceptance test: 3 processed, 2 forged and 1 duplicate
// Kazawallet webhooks, scraped as Prometheus scrapes.
func TestKazawalletDeliveriesInTheExposition(t *testing.T) {
	reg, m := newRegistry(t)
	h := payhook.Handle(newKazawallet(t), func(context.Context, kazawallet.Event) error { return nil },
		payhook.WithObserver(m.Observer()))

	for _, order := range []string{"lnk_1", "lnk_2", "lnk_3"} {
		require.Equal(t, http.StatusOK, serve(h, sender.Request("/webhooks/kazawallet", paid(order))))
	}
	for _, order := range []string{"lnk_4", "lnk_5"} {
		require.Equal(t, http.StatusUnauthorized, serve(h, sender.Forged("/webhooks/kazawallet", paid(order))))
	}
	require.Equal(t, http.StatusOK, serve(h, sender.Request("/webhooks/kazawallet", paid("lnk_2"))))

	text := scrape(t, reg)
	for _, line := range []string{
		`payhook_webhooks_total{outcome="processed",provider="kazawallet"} 3`,
		`payhook_webhooks_total{outcome="rejected",provider="kazawallet"} 2`,
		`payhook_webhooks_total{outcome="duplicate",provider="kazawallet"} 1`,
		`payhook_webhooks_total{outcome="failed",provider="kazawallet"} 0`,
		`payhook_webhooks_total{outcome="in_flight",provider="kazawallet"} 0`,
		`payhook_webhook_rejections_total{provider="kazawallet",reason="invalid_signature"} 2`,
		`payhook_webhook_rejections_total{provider="kazawallet",reason="store_unavailable"} 0`,
		`payhook_webhook_duration_seconds_count{outcome="processed",provider="kazawallet"} 3`,
		`payhook_webhook_duration_seconds_bucket{outcome="processed",provider="kazawallet",le="30"} 3`,
		`payhook_webhook_duration_seconds_count{outcome="rejected",provider="kazawallet"} 2`,
		`payhook_webhook_step_duration_seconds_count{provider="kazawallet",step="verify"} 6`,
		`payhook_webhook_step_duration_seconds_count{provider="kazawallet",step="store"} 4`,
		`payhook_webhook_step_duration_seconds_count{provider="kazawallet",step="handler"} 3`,
		`payhook_webhook_step_duration_seconds_count{provider="kazawallet",step="confirm"} 0`,
		`payhook_inbox_attempts_total{provider="kazawallet",result="dead"} 0`,
		"# TYPE payhook_webhook_duration_seconds histogram",
	} {
		assert.Contains(t, text, line+"\n")
	}
	assert.NotContains(t, text, "lnk_", "no key in a label")
	assert.NotContains(t, text, "payhook_inbox_entries", "no inbox given")
	assert.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP payhook_webhooks_total Webhook deliveries answered, by provider and outcome (processed, duplicate, rejected, in_flight, failed).
# TYPE payhook_webhooks_total counter
payhook_webhooks_total{outcome="duplicate",provider="kazawallet"} 1
payhook_webhooks_total{outcome="failed",provider="kazawallet"} 0
payhook_webhooks_total{outcome="in_flight",provider="kazawallet"} 0
payhook_webhooks_total{outcome="processed",provider="kazawallet"} 3
payhook_webhooks_total{outcome="rejected",provider="kazawallet"} 2
`), "payhook_webhooks_total"))
}

// Middleware's outcomes: a next handler that does not answer 2xx fails the
// delivery, and a second delivery while the first is processed is in
// flight. A GET is rejected before anything is known.
func TestMiddlewareOutcomes(t *testing.T) {
	reg, m := newRegistry(t)
	entered, release := make(chan struct{}), make(chan struct{})
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, _ := kazawallet.EventFrom(r.Context())
		switch e.OrderID {
		case "lnk_slow":
			close(entered)
			<-release
		case "lnk_broken":
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	h := payhook.Middleware(newKazawallet(t), payhook.WithObserver(m.Observer()))(next)

	done := make(chan int)
	go func() { done <- serve(h, sender.Request("/", paid("lnk_slow"))) }()
	<-entered
	assert.Equal(t, http.StatusConflict, serve(h, sender.Request("/", paid("lnk_slow"))))
	close(release)
	assert.Equal(t, http.StatusOK, <-done)
	assert.Equal(t, http.StatusInternalServerError, serve(h, sender.Request("/", paid("lnk_broken"))))
	get := sender.Request("/", paid("lnk_get"))
	get.Method = http.MethodGet
	assert.Equal(t, http.StatusMethodNotAllowed, serve(h, get))

	for _, c := range []struct {
		outcome, reason string
		n               float64
	}{
		{"processed", "", 1},
		{"in_flight", "in_flight", 1},
		{"failed", "not_acknowledged", 1},
		{"rejected", "method_not_allowed", 1},
		{"duplicate", "", 0},
	} {
		t.Run(c.outcome, func(t *testing.T) {
			assert.Equal(t, c.n, value(t, reg, "payhook_webhooks_total", "provider", "kazawallet", "outcome", c.outcome))
			assert.Equal(t, c.n, value(t, reg, "payhook_webhook_duration_seconds", "provider", "kazawallet", "outcome", c.outcome))
			if c.reason != "" {
				assert.Equal(t, c.n, value(t, reg, "payhook_webhook_rejections_total", "provider", "kazawallet", "reason", c.reason))
			}
		})
	}
	// The two deliveries that reached next have a handler step; the
	// others stopped before it.
	assert.Equal(t, 2.0, value(t, reg, "payhook_webhook_step_duration_seconds", "provider", "kazawallet", "step", "handler"))
}

// Every series a dashboard queries exists at zero before the first event,
// so that rate() works from the first scrape.
func TestSeriesExistAtZero(t *testing.T) {
	reg, _ := newRegistry(t, prometheus.WithProviders("kazawallet", "kkiapay"))
	n, err := testutil.GatherAndCount(reg, "payhook_webhooks_total", "payhook_webhook_duration_seconds",
		"payhook_webhook_rejections_total", "payhook_webhook_step_duration_seconds", "payhook_inbox_attempts_total",
		"payhook_reconcile_total")
	require.NoError(t, err)
	assert.Equal(t, 2*(5+5+16+4+5+4), n)
	for _, outcome := range []string{"processed", "duplicate", "rejected", "in_flight", "failed"} {
		assert.Zero(t, value(t, reg, "payhook_webhooks_total", "provider", "kkiapay", "outcome", outcome))
	}
	for _, result := range []string{"done", "duplicate", "retry", "dead"} {
		assert.Zero(t, value(t, reg, "payhook_inbox_attempts_total", "provider", "kazawallet", "result", result))
	}
	for _, result := range []string{"found", "pending", "error", "overdue"} {
		assert.Zero(t, value(t, reg, "payhook_reconcile_total", "provider", "kazawallet", "result", result))
	}
	m, err := prometheus.New(prometheus.WithProviders("kazawallet"))
	require.NoError(t, err)
	problems, err := testutil.CollectAndLint(m)
	require.NoError(t, err)
	assert.Empty(t, problems, "promlint")
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

// With an inbox: the attempts by result, and the entries by state read at
// scrape time.
func TestInboxAttemptsAndEntries(t *testing.T) {
	ib, err := inbox.New(inbox.NewMemory(), inbox.WithMaxAttempts(2), inbox.WithBackoff(0, 0))
	require.NoError(t, err)
	reg, m := newRegistry(t, prometheus.WithInbox(ib))
	attempts := make(chan payhook.Attempt, 16)
	seen := payhook.Observer{Attempt: func(_ context.Context, a payhook.Attempt) { attempts <- a }}
	f := &flaky{fails: map[string]int{"lnk_1": 1, "lnk_2": 2}}
	h := payhook.Handle(newKazawallet(t), f.handle, payhook.WithInbox(ib),
		payhook.WithObserver(payhook.Observers(m.Observer(), seen)))

	require.Equal(t, http.StatusOK, serve(h, sender.Request("/", paid("lnk_1"))))
	require.Equal(t, http.StatusOK, serve(h, sender.Request("/", paid("lnk_2"))))
	require.Equal(t, http.StatusOK, serve(h, sender.Request("/", paid("lnk_1"))))
	assert.Equal(t, 2.0, value(t, reg, "payhook_inbox_entries", "provider", "kazawallet", "state", "pending"))
	assert.Equal(t, 1.0, value(t, reg, "payhook_inbox_up"))

	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- ib.Run(ctx) }()
	for range 4 { // lnk_1: retry, done; lnk_2: retry, dead
		<-attempts
	}
	cancel()
	require.NoError(t, <-ran) // the backend has recorded every attempt

	for result, n := range map[string]float64{"done": 1, "retry": 2, "dead": 1, "duplicate": 0} {
		assert.Equal(t, n, value(t, reg, "payhook_inbox_attempts_total", "provider", "kazawallet", "result", result), result)
	}
	for state, n := range map[string]float64{"pending": 0, "running": 0, "done": 1, "dead": 1} {
		assert.Equal(t, n, value(t, reg, "payhook_inbox_entries", "provider", "kazawallet", "state", state), state)
	}
	assert.Equal(t, 2.0, value(t, reg, "payhook_webhooks_total", "provider", "kazawallet", "outcome", "processed"))
	assert.Equal(t, 1.0, value(t, reg, "payhook_webhooks_total", "provider", "kazawallet", "outcome", "duplicate"))
}

// downBackend is a memory inbox whose database is down for Stats.
type downBackend struct{ *inbox.Memory }

func (downBackend) Stats(context.Context) ([]inbox.Stat, error) {
	return nil, errors.New("connection refused")
}

// An inbox that cannot count its entries does not fail the scrape: the
// webhook metrics are still served, with payhook_inbox_up 0.
func TestInboxDownKeepsTheScrape(t *testing.T) {
	ib, err := inbox.New(downBackend{inbox.NewMemory()})
	require.NoError(t, err)
	reg, m := newRegistry(t, prometheus.WithInbox(ib))
	h := payhook.Handle(newKazawallet(t), func(context.Context, kazawallet.Event) error { return nil },
		payhook.WithObserver(m.Observer()))
	require.Equal(t, http.StatusOK, serve(h, sender.Request("/", paid("lnk_1"))))

	text := scrape(t, reg)
	assert.Contains(t, text, "payhook_inbox_up 0\n")
	assert.Contains(t, text, `payhook_webhooks_total{outcome="processed",provider="kazawallet"} 1`+"\n")
	assert.NotContains(t, text, "payhook_inbox_entries{")
}

// A slow inbox is given up on after WithStatsTimeout.
func TestInboxStatsTimeout(t *testing.T) {
	ib, err := inbox.New(slowBackend{inbox.NewMemory()})
	require.NoError(t, err)
	reg, _ := newRegistry(t, prometheus.WithInbox(ib), prometheus.WithStatsTimeout(time.Millisecond))
	assert.Equal(t, 0.0, value(t, reg, "payhook_inbox_up"))
}

// slowBackend's Stats answers only when its context is done.
type slowBackend struct{ *inbox.Memory }

func (slowBackend) Stats(ctx context.Context) ([]inbox.Stat, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestWithBuckets(t *testing.T) {
	reg, m := newRegistry(t, prometheus.WithBuckets(0.5, 1))
	m.Observer().Delivery(context.Background(), payhook.Delivery{Provider: "shop", Outcome: payhook.Processed,
		Status: 200, Total: 700 * time.Millisecond, Verify: time.Millisecond})
	text := scrape(t, reg)
	assert.Contains(t, text, `payhook_webhook_duration_seconds_bucket{outcome="processed",provider="shop",le="0.5"} 0`+"\n")
	assert.Contains(t, text, `payhook_webhook_duration_seconds_bucket{outcome="processed",provider="shop",le="1"} 1`+"\n")
	assert.Contains(t, text, `payhook_webhook_step_duration_seconds_bucket{provider="shop",step="verify",le="0.5"} 1`+"\n")
	assert.NotContains(t, text, `le="0.025"`)
}

// Values newer than this package still count, under their own label.
func TestUnknownValuesStillCount(t *testing.T) {
	reg, m := newRegistry(t)
	o := m.Observer()
	o.Delivery(context.Background(), payhook.Delivery{Provider: "shop", Outcome: "postponed", Reason: "later"})
	o.Attempt(context.Background(), payhook.Attempt{Provider: "shop", Result: "skipped"})
	assert.Equal(t, 1.0, value(t, reg, "payhook_webhooks_total", "provider", "shop", "outcome", "postponed"))
	assert.Equal(t, 1.0, value(t, reg, "payhook_webhook_rejections_total", "provider", "shop", "reason", "later"))
	assert.Equal(t, 1.0, value(t, reg, "payhook_inbox_attempts_total", "provider", "shop", "result", "skipped"))
}

// The observer allocates nothing per delivery once its provider is known.
func TestDeliveryAllocatesNothing(t *testing.T) {
	_, m := newRegistry(t, prometheus.WithProviders("kazawallet"))
	o := m.Observer()
	ctx := context.Background()
	d := payhook.Delivery{Provider: "kazawallet", Outcome: payhook.Rejected, Status: 401, Reason: payhook.ReasonInvalidSignature,
		Verify: time.Microsecond, Store: time.Microsecond, Handler: time.Microsecond, Total: 5 * time.Microsecond}
	a := payhook.Attempt{Provider: "kazawallet", Key: "lnk_1", N: 1, Result: payhook.AttemptRetry}
	assert.Zero(t, testing.AllocsPerRun(100, func() { o.Delivery(ctx, d); o.Attempt(ctx, a) }))
}

// BenchmarkObserver is the observer's cost for one delivery.
func BenchmarkObserver(b *testing.B) {
	_, m := newRegistry(b)
	o := m.Observer()
	ctx := context.Background()
	d := payhook.Delivery{Provider: "kazawallet", Outcome: payhook.Processed, Status: 200, Key: "lnk_1",
		Verify: 20 * time.Microsecond, Store: time.Microsecond, Handler: time.Microsecond, Total: 30 * time.Microsecond}
	o.Delivery(ctx, d)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		o.Delivery(ctx, d)
	}
}

// BenchmarkHandle is a Kazawallet delivery through payhook.Handle, without
// an observer and with this one: the difference is the observer's cost,
// clocks included.
func BenchmarkHandle(b *testing.B) {
	for _, observed := range []bool{false, true} {
		b.Run(fmt.Sprintf("observed=%v", observed), func(b *testing.B) {
			var opts []payhook.Option
			if observed {
				_, m := newRegistry(b)
				opts = append(opts, payhook.WithObserver(m.Observer()))
			}
			h := payhook.Handle(newKazawallet(b), func(context.Context, kazawallet.Event) error { return nil }, opts...)
			body := sender.Body(paid("lnk_1"))
			w := httptest.NewRecorder()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
				w.Body.Reset()
				h.ServeHTTP(w, r) // a duplicate after the first: verify, claim, answer
			}
		})
	}
}

// TestNewRefusesUnusableValues: options given values they cannot use make
// New fail with payhook.ErrConfig, where they used to be ignored (or, for
// unordered buckets, to panic).
func TestNewRefusesUnusableValues(t *testing.T) {
	for name, opt := range map[string]prometheus.Option{
		"WithInbox(nil)":        prometheus.WithInbox(nil),
		"WithStatsTimeout(0)":   prometheus.WithStatsTimeout(0),
		"WithProviders(\"\")":   prometheus.WithProviders("kazawallet", ""),
		"WithBuckets()":         prometheus.WithBuckets(),
		"WithBuckets(unsorted)": prometheus.WithBuckets(1, 0.5),
	} {
		t.Run(name, func(t *testing.T) {
			m, err := prometheus.New(opt)
			assert.ErrorIs(t, err, payhook.ErrConfig)
			assert.Nil(t, m)
		})
	}
}

// A Reconciler's polls and overdue expectations are counted.
func TestReconcileCounted(t *testing.T) {
	reg, m := newRegistry(t)
	o := m.Observer()
	for _, r := range []payhook.ReconcileResult{payhook.ReconcileFound, payhook.ReconcileOverdue, payhook.ReconcileOverdue} {
		o.Reconcile(context.Background(), payhook.Reconcile{Provider: "kazawallet", Result: r})
	}
	assert.Equal(t, 1.0, value(t, reg, "payhook_reconcile_total", "provider", "kazawallet", "result", "found"))
	assert.Equal(t, 2.0, value(t, reg, "payhook_reconcile_total", "provider", "kazawallet", "result", "overdue"))
	assert.Zero(t, value(t, reg, "payhook_reconcile_total", "provider", "kazawallet", "result", "pending"))
}

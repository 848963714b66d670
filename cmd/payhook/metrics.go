package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/inbox"
	payhookprom "github.com/payhook/payhook/observe/prometheus"
)

// metrics is serve's GET /metrics: payhook's metrics (observe/prometheus),
// with the inbox's entries when serve forwards, and Go's and the process's.
// The handlers are built before the metrics, which are made once the
// mounted providers are known, so the observer they are given forwards to
// the metrics once made; nothing is observed before serve listens.
type metrics struct {
	obs atomic.Pointer[payhook.Observer]
}

// newMetrics returns serve's metrics; nil with PAYHOOK_METRICS=off.
func newMetrics(cfg *config) *metrics {
	if !cfg.metrics {
		return nil
	}
	return &metrics{}
}

// observer returns the handlers' observer of the metrics; none (the zero
// Observer) for nil metrics. serve combines it with the operator's page's
// (payhook.Observers), so that both count the same calls.
func (m *metrics) observer() payhook.Observer {
	if m == nil {
		return payhook.Observer{}
	}
	return payhook.Observer{
		Delivery: func(ctx context.Context, d payhook.Delivery) {
			if o := m.obs.Load(); o != nil {
				o.Delivery(ctx, d)
			}
		},
		Attempt: func(ctx context.Context, a payhook.Attempt) {
			if o := m.obs.Load(); o != nil {
				o.Attempt(ctx, a)
			}
		},
	}
}

// reconcileObserver returns the reconciler's observer: its polls and
// overdue expectations, counted in payhook_reconcile_total. A zero
// Observer for nil metrics.
func (m *metrics) reconcileObserver() payhook.Observer {
	if m == nil {
		return payhook.Observer{}
	}
	return payhook.Observer{Reconcile: func(ctx context.Context, r payhook.Reconcile) {
		if o := m.obs.Load(); o != nil && o.Reconcile != nil {
			o.Reconcile(ctx, r)
		}
	}}
}

// mount makes the metrics of the mounted routes (/webhooks/NAME), of gw's
// inbox and of what the public listener's limits refused, and serves them
// on GET /metrics of mux (the admin listener's).
func (m *metrics) mount(mux *http.ServeMux, mounted []string, gw *gateway, refused *limitStats) error {
	if m == nil {
		return nil
	}
	var names []string
	for _, path := range mounted {
		names = append(names, strings.TrimPrefix(path, "/webhooks/"))
	}
	opts := []payhookprom.Option{payhookprom.WithProviders(names...)}
	if b := gw.backend(); b != nil {
		// The inbox's counts are a query (a GROUP BY over the table):
		// read at most every statsEvery, one at a time, however often
		// /metrics is scraped.
		ib, err := inbox.New(newStatsCache(b, statsEvery, clock))
		if err != nil {
			return err
		}
		opts = append(opts, payhookprom.WithInbox(ib))
	}
	pm, err := payhookprom.New(opts...)
	if err != nil {
		return err
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(pm, refused, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	obs := pm.Observer()
	m.obs.Store(&obs)
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	return nil
}

// statsEvery is how often /metrics reads the inbox's counts again.
const statsEvery = 5 * time.Second

// statsCache is an inbox backend whose Stats are read from the one it
// wraps at most every `every`, one read at a time: the scrapes that come
// while one reads wait for it and share its answer.
type statsCache struct {
	inbox.Backend
	every time.Duration
	now   func() time.Time

	mu    sync.Mutex // held while reading
	stats []inbox.Stat
	err   error
	at    time.Time // of the last read; zero: none yet
}

func newStatsCache(b inbox.Backend, every time.Duration, now func() time.Time) *statsCache {
	return &statsCache{Backend: b, every: every, now: now}
}

// Stats returns the counts read last, reading them again when they are
// older than c.every (an error too is kept that long).
func (c *statsCache) Stats(ctx context.Context) ([]inbox.Stat, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.at.IsZero() || now.Sub(c.at) >= c.every {
		c.stats, c.err = c.Backend.Stats(ctx)
		c.at = c.now()
	}
	return c.stats, c.err
}

// The public listener's limits, as /metrics shows them.
var (
	refusedDesc = prometheus.NewDesc("payhook_serve_refused_total",
		"Requests and connections that payhook serve's limits refused, by limit: client_requests (429), requests (503), "+
			"peer_connections (a peer's or its IPv6 /48's) and connections (closed as accepted).", []string{"limit"}, nil)
	inFlightDesc = prometheus.NewDesc("payhook_serve_requests_in_flight",
		"Requests that payhook serve's public listener is serving.", nil, nil)
	connsDesc = prometheus.NewDesc("payhook_serve_connections_open",
		"Connections open to payhook serve's public listener.", nil, nil)
)

// Describe implements prometheus.Collector.
func (r *limitStats) Describe(ch chan<- *prometheus.Desc) {
	ch <- refusedDesc
	ch <- inFlightDesc
	ch <- connsDesc
}

// Collect implements prometheus.Collector.
func (r *limitStats) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue, float64(r.requestsInFlight.Load()))
	ch <- prometheus.MustNewConstMetric(connsDesc, prometheus.GaugeValue, float64(r.connsOpen.Load()))
	for _, c := range []struct {
		limit string
		n     *atomic.Int64
	}{
		{"client_requests", &r.clientRequests},
		{"requests", &r.requests},
		{"peer_connections", &r.peerConns},
		{"connections", &r.conns},
	} {
		ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, float64(c.n.Load()), c.limit)
	}
}

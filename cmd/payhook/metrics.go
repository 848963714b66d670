package main

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/payhook/payhook"
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

// options returns the handlers' observer option; none for nil metrics.
func (m *metrics) options() []payhook.Option {
	if m == nil {
		return nil
	}
	return []payhook.Option{payhook.WithObserver(payhook.Observer{
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
	})}
}

// mount makes the metrics of the mounted routes (/webhooks/NAME) and of
// gw's inbox, and serves them on GET /metrics.
func (m *metrics) mount(mux *http.ServeMux, mounted []string, gw *gateway) error {
	if m == nil {
		return nil
	}
	var names []string
	for _, path := range mounted {
		names = append(names, strings.TrimPrefix(path, "/webhooks/"))
	}
	opts := []payhookprom.Option{payhookprom.WithProviders(names...)}
	if ib := gw.inbox(); ib != nil {
		opts = append(opts, payhookprom.WithInbox(ib))
	}
	pm, err := payhookprom.New(opts...)
	if err != nil {
		return err
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(pm, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	obs := pm.Observer()
	m.obs.Store(&obs)
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	return nil
}

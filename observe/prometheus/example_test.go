package prometheus_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/observe/prometheus"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

// A receiver that serves its metrics on GET /metrics: two webhooks
// processed, one duplicate, one forged.
func Example() {
	kw, err := kazawallet.New("api-key", "api-secret")
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	if err := mount(mux, kw); err != nil {
		panic(err)
	}

	sender := kazawallettest.Sender{APIKey: "api-key", APISecret: "api-secret"}
	link := func(id string) kazawallet.Event {
		return kazawallet.Event{OrderID: id, Amount: payhook.MustAmount("10.00"), Type: kazawallet.Fulfilled, Currency: "USD"}
	}
	for _, r := range []*http.Request{
		sender.Request("/webhooks/kazawallet", link("lnk_1")),
		sender.Request("/webhooks/kazawallet", link("lnk_2")),
		sender.Request("/webhooks/kazawallet", link("lnk_1")),
		sender.Forged("/webhooks/kazawallet", link("lnk_3")),
	} {
		mux.ServeHTTP(httptest.NewRecorder(), r)
	}

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	printLines(w.Body.String(), "payhook_webhooks_total{", "payhook_webhook_rejections_total{provider=\"kazawallet\",reason=\"invalid")
	// Output:
	// payhook_webhook_rejections_total{provider="kazawallet",reason="invalid_signature"} 1
	// payhook_webhooks_total{outcome="duplicate",provider="kazawallet"} 1
	// payhook_webhooks_total{outcome="failed",provider="kazawallet"} 0
	// payhook_webhooks_total{outcome="in_flight",provider="kazawallet"} 0
	// payhook_webhooks_total{outcome="processed",provider="kazawallet"} 2
	// payhook_webhooks_total{outcome="rejected",provider="kazawallet"} 1
}

// With an inbox, the entries by state are read from it at each scrape.
func ExampleWithInbox() {
	ib, err := inbox.New(inbox.NewMemory())
	if err != nil {
		panic(err)
	}
	kw, err := kazawallet.New("api-key", "api-secret")
	if err != nil {
		panic(err)
	}
	metrics, err := prometheus.New(prometheus.WithInbox(ib))
	if err != nil {
		panic(err)
	}
	registry := prom.NewRegistry()
	registry.MustRegister(metrics)
	h := payhook.Handle(kw, onKazawallet,
		payhook.WithInbox(ib), payhook.WithObserver(metrics.Observer()))
	// ib.Run(ctx) would run the entries; here they stay pending.

	sender := kazawallettest.Sender{APIKey: "api-key", APISecret: "api-secret"}
	e := kazawallet.Event{OrderID: "lnk_1", Amount: payhook.MustAmount("10.00"), Type: kazawallet.Fulfilled, Currency: "USD"}
	h.ServeHTTP(httptest.NewRecorder(), sender.Request("/webhooks/kazawallet", e))

	w := httptest.NewRecorder()
	promhttp.HandlerFor(registry, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	printLines(w.Body.String(), "payhook_inbox_entries{", "payhook_inbox_up")
	// Output:
	// payhook_inbox_entries{provider="kazawallet",state="dead"} 0
	// payhook_inbox_entries{provider="kazawallet",state="done"} 0
	// payhook_inbox_entries{provider="kazawallet",state="pending"} 1
	// payhook_inbox_entries{provider="kazawallet",state="running"} 0
	// payhook_inbox_up 1
}

// mount is the wiring of an application: kw's webhooks on mux, observed,
// and the metrics on GET /metrics. One Metrics serves every provider: give
// the same metrics.Observer() to every Handle and Middleware.
func mount(mux *http.ServeMux, kw *kazawallet.Provider) error {
	metrics, err := prometheus.New(
		prometheus.WithProviders("kazawallet"), // its series at zero from the start
		// prometheus.WithInbox(ib): the inbox's entries by state, if you run one
	)
	if err != nil {
		return err
	}
	registry := prom.NewRegistry() // or prom.DefaultRegisterer
	registry.MustRegister(metrics)

	mux.Handle("POST /webhooks/kazawallet",
		payhook.Handle(kw, onKazawallet, payhook.WithObserver(metrics.Observer())))
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	return nil
}

// printLines prints the lines of text that start with one of prefixes.
func printLines(text string, prefixes ...string) {
	s := bufio.NewScanner(strings.NewReader(text))
	for s.Scan() {
		for _, p := range prefixes {
			if strings.HasPrefix(s.Text(), p) {
				fmt.Println(s.Text())
			}
		}
	}
}

// onKazawallet stands for the application's handler. Before it credits an
// order it checks that the event is a payment (e.Paid) and credits the
// order of the payment's expectation (payhook.ExpectationFrom, with
// payhook.WithExpectations), the one rule of docs/reconcile.md: the
// README's quick start (examples/quickstart) shows it whole.
func onKazawallet(ctx context.Context, e kazawallet.Event) error { return nil }

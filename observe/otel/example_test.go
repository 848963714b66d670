package otel_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/observe/otel"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

// A span per delivery and the webhook counters, read back from the SDK's
// in-memory reader and recorder. In an application, the providers are the
// ones set up for the whole program (with OTLP exporters, say), and
// otelhttp.NewHandler in front of payhook makes each delivery's span a
// child of the request's.
func Example() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))

	kw, err := kazawallet.New("api-key", "api-secret")
	if err != nil {
		panic(err)
	}
	h, tel, err := instrument(kw, mp, tp)
	if err != nil {
		panic(err)
	}
	defer tel.Close()

	sender := kazawallettest.Sender{APIKey: "api-key", APISecret: "api-secret"}
	e := kazawallet.Event{OrderID: "lnk_1", Amount: payhook.MustAmount("10.00"), Type: kazawallet.Fulfilled, Currency: "USD"}
	for _, r := range []*http.Request{
		sender.Request("/webhooks/kazawallet", e),
		sender.Request("/webhooks/kazawallet", e),
		sender.Forged("/webhooks/kazawallet", e),
	} {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}

	for _, s := range spans.Ended() {
		fmt.Print(s.Name())
		for _, kv := range s.Attributes() {
			switch kv.Key {
			case "payhook.outcome", "http.response.status_code", "payhook.reason", "payhook.key":
				fmt.Printf(" %s=%s", kv.Key, kv.Value.Emit())
			}
		}
		fmt.Println()
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	var lines []string
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name != "payhook_webhooks_total" {
			continue
		}
		for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
			outcome, _ := p.Attributes.Value("outcome")
			lines = append(lines, fmt.Sprintf("%s{outcome=%s} %d", m.Name, outcome.Emit(), p.Value))
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// payhook.delivery payhook.outcome=processed http.response.status_code=200 payhook.key=lnk_1
	// payhook.delivery payhook.outcome=duplicate http.response.status_code=200 payhook.key=lnk_1
	// payhook.delivery payhook.outcome=rejected http.response.status_code=401 payhook.reason=invalid_signature
	// payhook_webhooks_total{outcome=duplicate} 1
	// payhook_webhooks_total{outcome=failed} 0
	// payhook_webhooks_total{outcome=in_flight} 0
	// payhook_webhooks_total{outcome=processed} 1
	// payhook_webhooks_total{outcome=rejected} 1
}

// instrument is the wiring of an application: kw's webhooks, observed by
// OpenTelemetry through mp and tp. Wrap the handler in
// otelhttp.NewHandler(h, "kazawallet webhook") (go.opentelemetry.io/contrib)
// to make each delivery's span a child of the request's.
func instrument(kw *kazawallet.Provider, mp metric.MeterProvider, tp trace.TracerProvider) (http.Handler, *otel.Telemetry, error) {
	tel, err := otel.New(
		otel.WithMeterProvider(mp),  // default: the global otel.GetMeterProvider()
		otel.WithTracerProvider(tp), // default: the global otel.GetTracerProvider()
		// otel.WithInbox(ib): the inbox's entries by state, if you run one
	)
	if err != nil {
		return nil, nil, err
	}
	// tel.Close() stops observing the inbox, when the program ends.
	return payhook.Handle(kw, onKazawallet, payhook.WithObserver(tel.Observer())), tel, nil
}

// onKazawallet stands for the application's handler. Before it credits an
// order it checks that the event is a payment (e.Paid) and credits the
// order of the payment's expectation (payhook.ExpectationFrom, with
// payhook.WithExpectations), the one rule of docs/reconcile.md: the
// README's quick start (examples/quickstart) shows it whole.
func onKazawallet(ctx context.Context, e kazawallet.Event) error { return nil }

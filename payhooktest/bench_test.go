package payhooktest_test

import (
	"context"
	"testing"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kkiapay"
)

// BenchmarkKazawalletRequest is the cost of one signed Kazawallet webhook,
// for users who build many in their own benchmarks.
func BenchmarkKazawalletRequest(b *testing.B) {
	sender := payhooktest.Kazawallet{APIKey: "key", APISecret: "secret"}
	b.ReportAllocs()
	for b.Loop() {
		_ = sender.Request("/webhooks/kazawallet", kwEvent)
	}
}

// BenchmarkKKiaPayRequest is the cost of one KKiaPay webhook.
func BenchmarkKKiaPayRequest(b *testing.B) {
	sender := payhooktest.KKiaPay{Secret: "s"}
	b.ReportAllocs()
	for b.Loop() {
		_ = sender.Request("/webhooks/kkiapay", kkEvent)
	}
}

// BenchmarkDeliver is one in-process delivery through payhook.Handle (a
// duplicate, after the first): the kit's cost around the middleware's.
func BenchmarkDeliver(b *testing.B) {
	kk, err := kkiapay.New("s")
	if err != nil {
		b.Fatal(err)
	}
	h := payhooktest.Handler(payhook.Handle(kk, func(context.Context, kkiapay.Event) error { return nil }))
	r := payhooktest.KKiaPay{Secret: "s"}.Request("/webhooks/kkiapay", kkEvent)
	b.ReportAllocs()
	for b.Loop() {
		if res := payhooktest.Deliver(h, r, payhooktest.Policy{}); !res.Acknowledged() {
			b.Fatal(res)
		}
	}
}

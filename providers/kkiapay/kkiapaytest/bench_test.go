package kkiapaytest_test

import (
	"testing"

	"github.com/payhook/payhook/providers/kkiapay/kkiapaytest"
)

// BenchmarkSenderRequest is the cost of one KKiaPay webhook.
func BenchmarkSenderRequest(b *testing.B) {
	sender := kkiapaytest.Sender{Secret: "s"}
	b.ReportAllocs()
	for b.Loop() {
		_ = sender.Request("/webhooks/kkiapay", kkEvent)
	}
}

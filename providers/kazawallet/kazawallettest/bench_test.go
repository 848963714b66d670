package kazawallettest_test

import (
	"testing"

	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

// BenchmarkSenderRequest is the cost of one signed Kazawallet webhook,
// for users who build many in their own benchmarks.
func BenchmarkSenderRequest(b *testing.B) {
	sender := kazawallettest.Sender{APIKey: "key", APISecret: "secret"}
	b.ReportAllocs()
	for b.Loop() {
		_ = sender.Request("/webhooks/kazawallet", kwEvent)
	}
}

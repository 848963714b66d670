package payhooktest_test

import (
	"testing"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/payhooktest"
)

// BenchmarkDeliver is one in-process delivery through payhook.Handle (a
// duplicate, after the first): the kit's cost around the middleware's.
func BenchmarkDeliver(b *testing.B) {
	var app payhooktest.Recorder[toyEvent]
	h := payhooktest.Handler(payhook.Handle(&toyProvider{secret: "s"}, app.Handle))
	r := toyRequest("s", "pay_1")
	b.ReportAllocs()
	for b.Loop() {
		if res := deliver.Send(h, r, deliver.Policy{}); !res.Acknowledged() {
			b.Fatal(res)
		}
	}
}

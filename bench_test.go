package payhook_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/internal/testsupport/benchtest"
)

// The benchmarks below measure what the core adds around a provider whose
// Verify is a JSON decode: the observer (unset, and set to a no-op) and
// the memory inbox's acknowledgement. Compare with:
//
//	go test -run '^$' -bench 'Core' -benchmem .

func shopDeliveries(n int) []benchtest.Delivery {
	ds := make([]benchtest.Delivery, n)
	for i := range ds {
		ds[i] = benchtest.Delivery{
			Body:   fmt.Appendf(nil, `{"id":"pay_%06d","amount":"10.00"}`, i),
			Header: http.Header{"X-Signature": {"ok"}},
		}
	}
	return ds
}

func benchHandle(b *testing.B, opts ...payhook.Option) {
	var n atomic.Int64
	h := payhook.Handle(&shopProvider{authenticated: true}, func(context.Context, shopEvent) error {
		n.Add(1)
		return nil
	}, opts...)
	benchtest.Serve(b, h, shopDeliveries(1<<20), func() int { return int(n.Load()) })
}

func BenchmarkCoreHandle(b *testing.B) { benchHandle(b) }

func BenchmarkCoreHandleObserved(b *testing.B) {
	benchHandle(b, payhook.WithObserver(payhook.Observer{
		Delivery: func(context.Context, payhook.Delivery) {},
	}))
}

// BenchmarkCoreInboxAck is the acknowledgement with a memory inbox: the
// event is encoded and kept; the handler does not run.
func BenchmarkCoreInboxAck(b *testing.B) {
	ib, err := inbox.New(inbox.NewMemory())
	if err != nil {
		b.Fatal(err)
	}
	h := payhook.Handle(&shopProvider{authenticated: true}, func(context.Context, shopEvent) error { return nil },
		payhook.WithInbox(ib))
	benchtest.Serve(b, h, shopDeliveries(1<<20), func() int {
		stats, err := ib.Stats(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, s := range stats {
			n += s.N
		}
		return n
	})
}

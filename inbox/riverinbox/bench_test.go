package riverinbox_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/internal/testsupport/benchtest"
	"github.com/payhook/payhook/providers/kazawallet"
)

// The benchmarks need the test server (./scripts/test starts it; or
// scripts/services.sh go -C inbox/riverinbox test -run '^$' -bench .):
//
//   - BenchmarkAck: the acknowledgement of a new Kazawallet delivery by
//     payhook.Handle, with pgstore alone (the func runs in the request and
//     does nothing) and with the River inbox beside it (the claim, then
//     one transaction that puts the entry and completes the claim; the
//     func runs later);
//   - BenchmarkRun: entries per second through Run, from pending to done,
//     with a func that does nothing.

// kazawalletDeliveries returns n signed deliveries of new orders.
func kazawalletDeliveries(n int) []benchtest.Delivery {
	suffix := rand.Text()[:8]
	ds := make([]benchtest.Delivery, n)
	for i := range ds {
		ds[i] = benchtest.Delivery{
			Body:   []byte(webhook("ord_" + suffix + "_" + strconv.Itoa(i))),
			Header: http.Header{"Content-Type": {"application/json"}},
		}
	}
	return ds
}

func BenchmarkAck(b *testing.B) {
	kw, err := kazawallet.New(apiKey, apiSecret)
	if err != nil {
		b.Fatal(err)
	}
	ds := kazawalletDeliveries(1 << 14)
	b.Run("pgstore", func(b *testing.B) {
		schema := freshSchema(b)
		store := keyStore(b, newPool(b), schema)
		var n atomic.Int64
		h := payhook.Handle(kw, func(context.Context, kazawallet.Event) error {
			n.Add(1)
			return nil
		}, payhook.WithStore(store))
		benchtest.Serve(b, h, ds, func() int { return int(n.Load()) })
	})
	b.Run("pgstore+riverinbox", func(b *testing.B) {
		schema := freshSchema(b)
		pool := newPool(b)
		backend := newBackend(b, pool, schema)
		if err := backend.Migrate(context.Background()); err != nil {
			b.Fatal(err)
		}
		ib, err := inbox.New(backend)
		if err != nil {
			b.Fatal(err)
		}
		h := payhook.Handle(kw, func(context.Context, kazawallet.Event) error { return nil },
			payhook.WithStore(keyStore(b, pool, schema)), payhook.WithInbox(ib))
		benchtest.Serve(b, h, ds, func() int {
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
	})
}

func BenchmarkRun(b *testing.B) {
	backend, _ := migrated(b)
	ib, err := inbox.New(backend, inbox.WithWorkers(inbox.DefaultWorkers))
	if err != nil {
		b.Fatal(err)
	}
	benchtest.RunInbox(b, ib)
}

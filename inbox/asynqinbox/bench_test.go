package asynqinbox_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/testsupport/benchtest"
	"github.com/payhook/payhook/providers/kazawallet"
)

// The benchmarks below need the test Redis (scripts/services.sh):
//
//	scripts/services.sh go -C inbox/asynqinbox test -run '^$' -bench . -benchmem
//
// BenchmarkAck is the acknowledgement of a new Kazawallet webhook through
// payhook.Handle on Redis: "store" claims the key in redisstore, calls the
// handler and completes the key; "inbox" claims the key, puts the event in
// this inbox and completes the key, and the handler runs later.
// BenchmarkRun is how many entries per second Run takes through a handler
// that does nothing, with the default 8 workers.

// deliveries returns n signed webhooks of orders no other run has used:
// more than b.Loop runs in a second or two, so that each is new.
func deliveries(n int) []benchtest.Delivery {
	prefix := "ord_" + rand.Text()[:8] + "_"
	header := http.Header{"Content-Type": {"application/json"}}
	ds := make([]benchtest.Delivery, n)
	for i := range ds {
		e := kazawallet.Event{OrderID: prefix + strconv.Itoa(i), Amount: payhook.MustAmount("10.00"),
			Type: kazawallet.Fulfilled, Currency: "USD"}
		ds[i] = benchtest.Delivery{Body: sender.Body(e), Header: header}
	}
	return ds
}

func BenchmarkAck(b *testing.B) {
	client := newClient(b)
	kw := newKazawallet(b)
	store := newStore(b, client, "bench:"+rand.Text()+":")
	b.Run("store", func(b *testing.B) {
		var calls atomic.Int64
		h := payhook.Handle(kw, func(context.Context, kazawallet.Event) error {
			calls.Add(1)
			return nil
		}, payhook.WithStore(store), payhook.WithLogger(quiet))
		benchtest.Serve(b, h, deliveries(1<<16), func() int { return int(calls.Load()) })
	})
	b.Run("inbox", func(b *testing.B) {
		ib, backend := newInbox(b, client)
		h := payhook.Handle(kw, func(context.Context, kazawallet.Event) error { return nil },
			payhook.WithInbox(ib), payhook.WithStore(store), payhook.WithLogger(quiet))
		inspector := asynq.NewInspectorFromRedisClient(client)
		benchtest.Serve(b, h, deliveries(1<<16), func() int {
			q, err := inspector.GetQueueInfo(backend.Queue())
			if err != nil {
				b.Fatal(err)
			}
			return q.Pending
		})
	})
}

func BenchmarkRun(b *testing.B) {
	ib, _ := newInbox(b, newClient(b))
	benchtest.RunInbox(b, ib)
}

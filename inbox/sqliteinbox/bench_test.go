package sqliteinbox_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency/sqlitestore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/sqliteinbox"
	"github.com/payhook/payhook/internal/testsupport/benchtest"
	"github.com/payhook/payhook/providers/kazawallet"
)

// go test -run '^$' -bench . ./... in this module:
//
//   - BenchmarkAck: the acknowledgement of a new Kazawallet delivery by
//     payhook.Handle, with sqlitestore alone (the func runs in the request
//     and does nothing: two commits, the claim and its completion) and
//     with the SQLite inbox beside it in the same file (the claim, then one
//     transaction that completes it and puts the entry: two commits too);
//   - BenchmarkRun: entries per second through Run, from pending to done,
//     with a func that does nothing (a commit to take, one to finish), and
//     through the memory inbox for comparison.
//
// Every commit waits for an fsync (synchronous=FULL): the disk sets the
// pace.

func kazawalletDeliveries(n int) []benchtest.Delivery {
	ds := make([]benchtest.Delivery, n)
	for i := range ds {
		ds[i] = benchtest.Delivery{
			Body:   []byte(webhook("ord_" + strconv.Itoa(i))),
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
	store := func(b *testing.B) (*sqlitestore.Store, *sqliteinbox.Backend) {
		db := openDB(b, filepath.Join(b.TempDir(), "payhook.db"))
		s, err := sqlitestore.New(db)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Migrate(context.Background()); err != nil {
			b.Fatal(err)
		}
		return s, newBackend(b, db)
	}
	b.Run("sqlitestore", func(b *testing.B) {
		s, _ := store(b)
		var n atomic.Int64
		h := payhook.Handle(kw, func(context.Context, kazawallet.Event) error {
			n.Add(1)
			return nil
		}, payhook.WithStore(s))
		benchtest.Serve(b, h, ds, func() int { return int(n.Load()) })
	})
	b.Run("sqlitestore+sqliteinbox", func(b *testing.B) {
		s, backend := store(b)
		ib, err := inbox.New(backend)
		if err != nil {
			b.Fatal(err)
		}
		h := payhook.Handle(kw, func(context.Context, kazawallet.Event) error { return nil },
			payhook.WithStore(s), payhook.WithInbox(ib))
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
	b.Run("memory", func(b *testing.B) {
		ib, err := inbox.New(inbox.NewMemory(), inbox.WithWorkers(inbox.DefaultWorkers))
		if err != nil {
			b.Fatal(err)
		}
		benchtest.RunInbox(b, ib)
	})
	b.Run("sqliteinbox", func(b *testing.B) {
		backend := newBackend(b, openDB(b, filepath.Join(b.TempDir(), "payhook.db")))
		ib, err := inbox.New(backend, inbox.WithWorkers(inbox.DefaultWorkers))
		if err != nil {
			b.Fatal(err)
		}
		benchtest.RunInbox(b, ib)
	})
}

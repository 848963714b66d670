package benchtest

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/payhook/payhook/inbox"
)

// RunInbox puts b.N entries of provider "test" in ib, then measures how
// fast ib.Run takes them to done with a handler that does nothing, and
// reports it as entries/s: what every inbox backend's BenchmarkRun
// measures. ib must have no handler for "test" yet.
func RunInbox(b *testing.B, ib *inbox.Inbox) {
	b.Helper()
	ctx := context.Background()
	for i := range b.N {
		id := strconv.Itoa(i)
		if _, err := ib.Put(ctx, inbox.Entry{ID: "test:" + id, Provider: "test", Key: id, Event: []byte(`{}`)}); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	all := make(chan struct{})
	ib.Handle("test", func(context.Context, inbox.Attempt) error {
		if n.Add(1) == int64(b.N) {
			close(all)
		}
		return nil
	})
	b.ReportAllocs()
	b.ResetTimer()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ib.Run(runCtx) }()
	<-all
	b.StopTimer()
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

package expecttest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/payhook/payhook/expect"
)

// Benchmark measures, on the store that newStore returns, the cost of
// adding an expectation and of settling one (found by its reference, as a
// Kazawallet payment is). Each sub-benchmark uses provider names of its
// own, so the store may be shared:
//
//	func BenchmarkStore(b *testing.B) {
//		expecttest.Benchmark(b, func(b *testing.B) expect.Store { return mystore.New(client) })
//	}
func Benchmark(b *testing.B, newStore func(b *testing.B) expect.Store) {
	ctx := context.Background()
	b.Run("Add", func(b *testing.B) {
		c := newCheck(newStore(b))
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if err := c.s.Add(ctx, c.x("", fmt.Sprint("order_", i))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Settle", func(b *testing.B) {
		c := newCheck(newStore(b))
		for i := range b.N {
			if err := c.s.Add(ctx, c.x("", fmt.Sprint("order_", i))); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			k := expect.Key{Provider: c.provider("p"), Ref: fmt.Sprint("order_", i)}
			s := expect.Settlement{PaymentID: fmt.Sprint("ord_", i), Outcome: expect.OutcomePaid, At: epoch.Add(time.Duration(i))}
			if _, err := c.s.Settle(ctx, k, s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

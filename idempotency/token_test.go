package idempotency_test

import (
	"crypto/rand"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/idempotency"
)

func TestNewTokenUnique(t *testing.T) {
	const goroutines, each = 8, 5000 // many blocks, taken concurrently
	tokens := make([][]string, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				tokens[g] = append(tokens[g], idempotency.NewToken())
			}
		}()
	}
	wg.Wait()
	seen := make(map[string]bool, goroutines*each)
	for _, ts := range tokens {
		for _, tok := range ts {
			require.Len(t, tok, 32)
			require.False(t, seen[tok], "token %q given twice", tok)
			seen[tok] = true
		}
	}
	assert.Len(t, seen, goroutines*each)
}

func TestNewTokenPrefixIsRandom(t *testing.T) {
	// The prefix is drawn once per process; the counter follows it. Two
	// processes differ by their prefixes, which this process cannot show,
	// but its own prefix is not a constant: it has the 80 bits' alphabet.
	a, b := idempotency.NewToken(), idempotency.NewToken()
	assert.Equal(t, a[:16], b[:16], "one prefix per process")
	assert.NotEqual(t, a[16:], b[16:])
	for _, c := range a[:16] {
		assert.Contains(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", string(c))
	}
}

func TestNewTokenDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(10_000, func() { _ = idempotency.NewToken() })
	assert.Less(t, allocs, 0.1, "tokens are cut from blocks")
}

// BenchmarkNewToken measures the token the middleware makes for each
// event, beside crypto/rand's Text (what the stores drew before) for
// comparison.
func BenchmarkNewToken(b *testing.B) {
	for _, bm := range []struct {
		name string
		f    func() string
	}{
		{"NewToken", idempotency.NewToken},
		{"rand.Text", rand.Text},
	} {
		b.Run(bm.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = bm.f()
			}
		})
		b.Run(bm.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = bm.f()
				}
			})
		})
	}
}

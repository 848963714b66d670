package idempotency_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/idempotencytest"
)

// clock is a fake clock that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestMemoryConformance(t *testing.T) {
	idempotencytest.Run(t, func(t *testing.T) idempotencytest.Harness {
		c := newClock()
		return idempotencytest.Harness{Store: idempotency.NewMemory(idempotency.WithClock(c.Now)), Advance: c.Advance}
	})
}

func TestMemoryConformanceRealTime(t *testing.T) {
	s := idempotency.NewMemory()
	idempotencytest.Run(t, func(t *testing.T) idempotencytest.Harness {
		return idempotencytest.Harness{Store: s}
	})
}

func TestMemoryBound(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// fill claims the first keys; the bound is 32.
		fill      func(t *testing.T, s *idempotency.Memory, c *clock)
		wantErr   error
		wantState idempotency.State // of key "new"
		// kept and dropped are keys that must still be, or no longer be, recorded.
		kept, dropped []string
	}{
		{
			name: "expired records are dropped first",
			fill: func(t *testing.T, s *idempotency.Memory, c *clock) {
				for i := range 32 {
					lease := time.Hour
					if i < 8 {
						lease = time.Minute
					}
					_, err := s.Claim(ctx, fmt.Sprint("k", i), idempotency.NewToken(), lease)
					require.NoError(t, err)
				}
				c.Advance(2 * time.Minute)
			},
			wantState: idempotency.Acquired,
			kept:      []string{"k8", "k31"},
			dropped:   []string{"k0", "k7"},
		},
		{
			name: "then the done records nearest their end",
			fill: func(t *testing.T, s *idempotency.Memory, c *clock) {
				for i := range 32 {
					token := idempotency.NewToken()
					_, err := s.Claim(ctx, fmt.Sprint("k", i), token, time.Hour)
					require.NoError(t, err)
					if i%2 == 0 { // even keys done, the earlier the sooner they end
						require.NoError(t, s.Complete(ctx, fmt.Sprint("k", i), token, time.Duration(i+1)*time.Hour))
					}
				}
			},
			wantState: idempotency.Acquired,
			kept:      []string{"k1", "k31", "k4"},
			dropped:   []string{"k0", "k2"},
		},
		{
			name: "never a record in flight",
			fill: func(t *testing.T, s *idempotency.Memory, c *clock) {
				for i := range 32 {
					_, err := s.Claim(ctx, fmt.Sprint("k", i), idempotency.NewToken(), time.Hour)
					require.NoError(t, err)
				}
			},
			wantErr: idempotency.ErrFull,
			kept:    []string{"k0", "k31"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			s := idempotency.NewMemory(idempotency.WithMaxKeys(32), idempotency.WithClock(c.Now))
			tt.fill(t, s, c)
			state, err := s.Claim(ctx, "new", idempotency.NewToken(), time.Hour)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.wantState, state)
			}
			assert.LessOrEqual(t, s.Len(), 32)
			for _, k := range tt.kept {
				state, err := s.Claim(ctx, k, idempotency.NewToken(), time.Hour)
				require.NoError(t, err)
				assert.NotEqual(t, idempotency.Acquired, state, "%s was kept", k)
			}
			for _, k := range tt.dropped {
				state, err := s.Claim(ctx, k, idempotency.NewToken(), time.Hour)
				require.NoError(t, err)
				assert.Equal(t, idempotency.Acquired, state, "%s was dropped", k)
			}
		})
	}
}

func TestMemoryBoundUnderSpray(t *testing.T) {
	// Far more distinct keys than the bound, completed as they come: the store
	// never grows past its bound and never refuses.
	s := idempotency.NewMemory(idempotency.WithMaxKeys(1000))
	ctx := context.Background()
	for i := range 20_000 {
		k, token := fmt.Sprint("k", i), idempotency.NewToken()
		_, err := s.Claim(ctx, k, token, time.Minute)
		require.NoError(t, err)
		require.NoError(t, s.Complete(ctx, k, token, time.Hour))
	}
	assert.LessOrEqual(t, s.Len(), 1000)
	state, err := s.Claim(ctx, "k19999", idempotency.NewToken(), time.Minute)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Done, state, "the newest keys are kept")
}

func TestStateString(t *testing.T) {
	assert.Equal(t, "acquired", idempotency.Acquired.String())
	assert.Equal(t, "in flight", idempotency.InFlight.String())
	assert.Equal(t, "done", idempotency.Done.String())
	assert.Equal(t, "State(9)", idempotency.State(9).String())
}

// BenchmarkMemoryClaimComplete claims and completes a key, as the middleware
// does for each event. A retention of 1ns makes each key claimable again by
// the next lap over the keys.
func BenchmarkMemoryClaimComplete(b *testing.B) {
	s := idempotency.NewMemory(idempotency.WithMaxKeys(1 << 20))
	ctx := context.Background()
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = fmt.Sprint("kazawallet:ord_", i)
	}
	claimComplete := func(b *testing.B, k string) {
		token := idempotency.NewToken()
		state, err := s.Claim(ctx, k, token, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if state == idempotency.Acquired {
			if err := s.Complete(ctx, k, token, time.Nanosecond); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			claimComplete(b, keys[i%len(keys)])
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				claimComplete(b, keys[int(next.Add(1))%len(keys)])
			}
		})
	})
}

func TestMemoryClaimDoesNotAllocate(t *testing.T) {
	s := idempotency.NewMemory()
	ctx := context.Background()
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
		token := idempotency.NewToken()
		_, err := s.Claim(ctx, keys[i], token, time.Minute) // the map has grown
		require.NoError(t, err)
		require.NoError(t, s.Release(ctx, keys[i], token))
	}
	i := 0
	allocs := testing.AllocsPerRun(2000, func() {
		token := idempotency.NewToken()
		_, _ = s.Claim(ctx, keys[i%len(keys)], token, time.Minute)
		_ = s.Complete(ctx, keys[i%len(keys)], token, time.Nanosecond)
		i++
	})
	assert.Less(t, allocs, 0.1, "tokens come from blocks, not one allocation per claim")
}

// The heap of done records stays bounded when keys are done again and
// again without the store ever filling up.
func TestMemoryDoneHeapStaysBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := idempotency.NewMemory(idempotency.WithMaxKeys(8), idempotency.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	for i := range 10_000 {
		key := "k" + strconv.Itoa(i%4)
		tok := idempotency.NewToken()
		st, err := s.Claim(ctx, key, tok, time.Minute)
		require.NoError(t, err)
		require.Equal(t, idempotency.Acquired, st)
		require.NoError(t, s.Complete(ctx, key, tok, time.Nanosecond))
		now = now.Add(time.Second)
	}
	assert.LessOrEqual(t, s.Len(), 8)
	assert.LessOrEqual(t, testing.AllocsPerRun(100, func() {
		tok := idempotency.NewToken()
		s.Claim(ctx, "k0", tok, time.Minute)
		s.Complete(ctx, "k0", tok, time.Nanosecond)
		now = now.Add(time.Second)
	}), 1.0)
}

// A completion drops the done records whose retention has ended, so that a
// short retention keeps the store small long before it fills up.
func TestMemoryCompleteDropsExpiredRecords(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := idempotency.NewMemory(idempotency.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	done := func(key string, retention time.Duration) {
		tok := idempotency.NewToken()
		st, err := s.Claim(ctx, key, tok, time.Minute)
		require.NoError(t, err)
		require.Equal(t, idempotency.Acquired, st)
		require.NoError(t, s.Complete(ctx, key, tok, retention))
	}
	done("a", time.Minute)
	done("b", time.Hour)
	require.Equal(t, 2, s.Len())
	now = now.Add(2 * time.Minute)
	done("c", time.Hour)
	assert.Equal(t, 2, s.Len(), "a's retention ended: dropped; b and c held")
	st, err := s.Claim(ctx, "b", idempotency.NewToken(), time.Minute)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Done, st, "b is still done")
}

// TestNewMemoryRefusesUnusableValues: an option given a value it cannot
// use makes NewMemory panic with payhook.ErrConfig, where it used to be
// ignored.
func TestNewMemoryRefusesUnusableValues(t *testing.T) {
	for name, opt := range map[string]idempotency.MemoryOption{
		"WithMaxKeys(0)": idempotency.WithMaxKeys(0),
		"WithClock(nil)": idempotency.WithClock(nil),
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				err, _ := recover().(error)
				assert.ErrorIs(t, err, payhook.ErrConfig)
			}()
			idempotency.NewMemory(opt)
			t.Error("NewMemory returned")
		})
	}
}

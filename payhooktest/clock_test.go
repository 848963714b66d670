package payhooktest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/payhooktest"
)

func TestClock(t *testing.T) {
	var zero payhooktest.Clock
	assert.Equal(t, time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC), zero.Now())
	assert.Equal(t, time.Date(2026, 1, 2, 15, 4, 6, 0, time.UTC), zero.Advance(time.Second))

	start := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	c := payhooktest.NewClock(start)
	assert.Equal(t, start, c.Now())
	c.Set(start.Add(time.Hour))
	assert.Equal(t, start.Add(time.Hour), c.Now())
	require.NoError(t, c.Sleep(context.Background(), time.Minute))
	assert.Equal(t, start.Add(time.Hour+time.Minute), c.Now())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, c.Sleep(ctx, time.Minute), context.Canceled)
	assert.Equal(t, start.Add(time.Hour+time.Minute), c.Now(), "a canceled Sleep does not move the clock")

	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() { defer wg.Done(); c.Advance(time.Second); _ = c.Now() }()
	}
	wg.Wait()
	assert.Equal(t, start.Add(time.Hour+time.Minute+100*time.Second), c.Now())
}

func TestClockStore(t *testing.T) {
	c := &payhooktest.Clock{}
	s := c.Store()
	ctx := context.Background()
	token := idempotency.NewToken()
	state, err := s.Claim(ctx, "k", token, time.Minute)
	require.NoError(t, err)
	require.Equal(t, idempotency.Acquired, state)
	state, err = s.Claim(ctx, "k", idempotency.NewToken(), time.Minute)
	require.NoError(t, err)
	assert.Equal(t, idempotency.InFlight, state)
	c.Advance(time.Minute)
	state, err = s.Claim(ctx, "k", idempotency.NewToken(), time.Minute)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Acquired, state, "the lease ended when the clock moved")
	assert.ErrorIs(t, s.Complete(ctx, "k", token, time.Hour), idempotency.ErrNotOwner)

	bounded := c.Store(idempotency.WithMaxKeys(1))
	_, err = bounded.Claim(ctx, "a", idempotency.NewToken(), time.Minute)
	require.NoError(t, err)
	_, err = bounded.Claim(ctx, "b", idempotency.NewToken(), time.Minute)
	assert.ErrorIs(t, err, idempotency.ErrFull, "options are passed on")
}

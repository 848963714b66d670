package apicache

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payhook/payhook/payhooktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func settled(s string) bool { return s != "pending" }

// TestSprayCostsOneCall (issue 8, finding 4): a settled answer is
// remembered for the TTL, so a spray of calls for one id costs one call of
// the API; an unsettled answer or an error is not remembered.
func TestSprayCostsOneCall(t *testing.T) {
	var clk payhooktest.Clock
	c := New[string](time.Minute, 4, time.Second, 100, clk.Now)
	var calls atomic.Int32
	answer := "completed"
	fetch := func(context.Context) (string, error) { calls.Add(1); return answer, nil }
	for range 300 {
		v, err := c.Get(context.Background(), "pay_1", fetch, settled)
		require.NoError(t, err)
		assert.Equal(t, "completed", v)
	}
	assert.EqualValues(t, 1, calls.Load())
	clk.Advance(time.Minute)
	answer = "expired"
	v, _ := c.Get(context.Background(), "pay_1", fetch, settled)
	assert.Equal(t, "expired", v, "asked again once the TTL is over")
	assert.EqualValues(t, 2, calls.Load())

	answer = "pending"
	for range 3 {
		_, _ = c.Get(context.Background(), "pay_2", fetch, settled)
	}
	assert.EqualValues(t, 5, calls.Load(), "an unsettled answer is asked again")
	failing := func(context.Context) (string, error) { calls.Add(1); return "completed", errors.New("down") }
	for range 2 {
		_, err := c.Get(context.Background(), "pay_3", failing, settled)
		assert.Error(t, err)
	}
	assert.EqualValues(t, 7, calls.Load(), "an error is asked again")
}

// TestCallsInFlightCapped (issue 8, finding 4): at most inFlight calls run
// at once; one beyond waits for a slot, and gives up with ErrBusy (or its
// context's error) rather than open another connection.
func TestCallsInFlightCapped(t *testing.T) {
	c := New[string](time.Minute, 2, 20*time.Millisecond, 100, time.Now)
	arrived, release := make(chan struct{}), make(chan struct{})
	fetch := func(context.Context) (string, error) { arrived <- struct{}{}; <-release; return "completed", nil }
	done := make(chan error, 2)
	for _, id := range []string{"a", "b"} {
		go func() { _, err := c.Get(context.Background(), id, fetch, settled); done <- err }()
	}
	<-arrived
	<-arrived
	_, err := c.Get(context.Background(), "c", fetch, settled)
	assert.ErrorIs(t, err, ErrBusy)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Get(ctx, "c", fetch, settled)
	assert.ErrorIs(t, err, context.Canceled)
	close(release)
	require.NoError(t, <-done)
	require.NoError(t, <-done)
	v, err := c.Get(context.Background(), "a", fetch, settled)
	require.NoError(t, err)
	assert.Equal(t, "completed", v, "remembered, no call")
}

func TestBounded(t *testing.T) {
	c := New[string](time.Minute, 1, time.Second, 10, time.Now)
	fetch := func(context.Context) (string, error) { return "completed", nil }
	for i := range 1000 {
		_, _ = c.Get(context.Background(), string(rune('a'+i%26))+time.Duration(i).String(), fetch, settled)
	}
	assert.LessOrEqual(t, c.Len(), 10)
}

package apicache

import (
	"context"
	"errors"
	"runtime"
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

// TestUnsettledRemembered (issue 17, finding 1): with Unsettled, a pending
// answer and a final error ("not found") are remembered for their short
// TTL, so that forged deliveries naming one payment cost one call; other
// errors are still asked again.
func TestUnsettledRemembered(t *testing.T) {
	var clk payhooktest.Clock
	notFound := errors.New("not found")
	c := New[string](time.Minute, 4, time.Second, 100, clk.Now).Unsettled(5*time.Second, func(err error) bool { return errors.Is(err, notFound) })
	var calls atomic.Int32
	answer, fail := "pending", error(nil)
	fetch := func(context.Context) (string, error) { calls.Add(1); return answer, fail }
	for range 300 {
		v, err := c.Get(context.Background(), "pay_1", fetch, settled)
		require.NoError(t, err)
		assert.Equal(t, "pending", v)
	}
	assert.EqualValues(t, 1, calls.Load(), "pending, remembered")
	clk.Advance(5 * time.Second)
	answer = "completed"
	v, _ := c.Get(context.Background(), "pay_1", fetch, settled)
	assert.Equal(t, "completed", v, "asked again once the short TTL is over")
	assert.EqualValues(t, 2, calls.Load())

	fail = notFound
	for range 10 {
		_, err := c.Get(context.Background(), "pay_2", fetch, settled)
		assert.ErrorIs(t, err, notFound)
	}
	assert.EqualValues(t, 3, calls.Load(), "not found, remembered")
	fail = errors.New("down")
	for range 2 {
		_, err := c.Get(context.Background(), "pay_3", fetch, settled)
		assert.Error(t, err)
	}
	assert.EqualValues(t, 5, calls.Load(), "an outage is asked again")
}

// TestOneCallPerID: concurrent Gets of one id share one call of the API.
func TestOneCallPerID(t *testing.T) {
	c := New[string](0, 8, time.Second, 100, time.Now)
	var calls atomic.Int32
	release := make(chan struct{})
	fetch := func(context.Context) (string, error) { calls.Add(1); <-release; return "pending", nil }
	const n = 20
	done := make(chan string, n)
	for range n {
		go func() { v, _ := c.Get(context.Background(), "pay_1", fetch, settled); done <- v }()
	}
	// Wait until the first call is in flight and the others wait on it.
	for waiting(c, "pay_1") < n-1 {
		runtime.Gosched()
	}
	close(release)
	for range n {
		assert.Equal(t, "pending", <-done)
	}
	assert.EqualValues(t, 1, calls.Load(), "one call for %d concurrent Gets of one id", n)
}

func waiting(c *Cache[string], id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.calls[id]; ok {
		return cl.waiters
	}
	return 0
}

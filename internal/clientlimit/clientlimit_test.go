package clientlimit

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"golang.org/x/time/rate"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestAllow(t *testing.T) {
	l := New(1, 2, 100) // 1 per second, burst 2
	for i := range 2 {
		_, ok := l.Allow("a", t0)
		assert.True(t, ok, "burst request %d", i)
	}
	wait, ok := l.Allow("a", t0)
	assert.False(t, ok)
	assert.Equal(t, time.Second, wait)

	wait, ok = l.Allow("a", t0.Add(300*time.Millisecond))
	assert.False(t, ok, "a refused request takes no token")
	assert.Equal(t, 700*time.Millisecond, wait)

	_, ok = l.Allow("b", t0)
	assert.True(t, ok, "clients are limited separately")
	_, ok = l.Allow("a", t0.Add(time.Second))
	assert.True(t, ok, "the bucket refills")
}

func TestZeroBurstRefusesAll(t *testing.T) {
	l := New(1, 0, 10)
	wait, ok := l.Allow("a", t0)
	assert.False(t, ok)
	assert.Positive(t, wait)
}

func TestWaitIsCapped(t *testing.T) {
	for _, r := range []rate.Limit{0, -1, rate.Every(24 * time.Hour)} {
		t.Run(fmt.Sprint(r), func(t *testing.T) {
			l := New(r, 1, 10)
			_, ok := l.Allow("a", t0)
			assert.True(t, ok)
			wait, ok := l.Allow("a", t0)
			assert.False(t, ok)
			assert.Equal(t, MaxWait, wait)
		})
	}
}

func TestBoundedUnderSpray(t *testing.T) {
	l := New(1, 1, 64)
	for i := range 10_000 {
		l.Allow(fmt.Sprint("10.0.", i/256, ".", i%256), t0)
		assert.LessOrEqual(t, l.Len(), 64)
	}
}

func TestEvictsRefilledClientsFirst(t *testing.T) {
	l := New(1, 1, 4)
	for _, k := range []string{"a", "b", "c"} {
		l.Allow(k, t0) // empties each bucket
	}
	l.Allow("d", t0.Add(-time.Hour+time.Millisecond))
	// At t0+0.5s a, b and c are still empty and d has long refilled.
	l.Allow("e", t0.Add(500*time.Millisecond))
	_, ok := l.Allow("a", t0.Add(500*time.Millisecond))
	assert.False(t, ok, "a's busy bucket was kept")
}

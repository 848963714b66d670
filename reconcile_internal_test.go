package payhook

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/expect"
)

// testClock moves only when told to.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var t0 = time.Date(2030, 5, 6, 7, 0, 0, 0, time.UTC)

// TestReconcilerBudget: ten thousand pending expectations are polled
// within the provider's request budget, however many are due.
func TestReconcilerBudget(t *testing.T) {
	clock := &testClock{now: t0}
	store := expect.NewMemory()
	r := NewReconciler(store, WithReconcileClock(clock.Now), WithPollRate(5, 5), WithFirstPoll(time.Minute))
	var calls atomic.Int64
	polled := make(map[string]int)
	var mu sync.Mutex
	r.register("kkiapay", func(_ context.Context, x expect.Expectation) error {
		calls.Add(1)
		mu.Lock()
		polled[x.ID]++
		mu.Unlock()
		return fmt.Errorf("%w: still pending", ErrPending)
	})
	ctx := context.Background()
	const n = 10_000
	for i := range n {
		require.NoError(t, store.Add(ctx, expect.Expectation{Provider: "kkiapay", ID: fmt.Sprintf("tx_%05d", i),
			Amount: "1000", Currency: "XOF", Deadline: t0.Add(48 * time.Hour), NextPoll: t0}))
	}
	const passes = 100
	for i := range passes {
		res, err := r.Pass(ctx)
		require.NoError(t, err)
		want := 5
		assert.Equal(t, want, res.Polled, "pass %d: the budget is 5 a second", i)
		assert.Equal(t, want, res.Pending, "pass %d", i)
		clock.Advance(time.Second)
	}
	assert.EqualValues(t, 5*passes, calls.Load(), "5 polls a second, the burst included, over %d one-second passes", passes)
	for id, k := range polled {
		assert.Equal(t, 1, k, "%s polled %d times within its first wait", id, k)
	}
}

// TestReconcilerBackoff: one expectation is polled after 1, 2, 5, 10, 30
// and then 60 times the first wait, for the last time at its deadline,
// and is then overdue, reported once.
func TestReconcilerBackoff(t *testing.T) {
	clock := &testClock{now: t0}
	store := expect.NewMemory()
	var logs bytes.Buffer
	var overdue []Reconcile
	r := NewReconciler(store, WithReconcileClock(clock.Now), WithFirstPoll(time.Minute),
		WithReconcileLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		WithReconcileObserver(Observer{Reconcile: func(_ context.Context, v Reconcile) {
			if v.Result == ReconcileOverdue {
				overdue = append(overdue, v)
			}
		}}))
	var at []time.Duration
	r.register("kasperopay", func(context.Context, expect.Expectation) error {
		at = append(at, clock.Now().Sub(t0))
		return ErrPending
	})
	ctx := context.Background()
	require.NoError(t, r.Expect(ctx, expect.Expectation{Provider: "kasperopay", ID: "pay_1", Ref: "order_1",
		Amount: "25.5", Currency: "KAS", Deadline: t0.Add(4 * time.Hour)}))
	for clock.Now().Before(t0.Add(5 * time.Hour)) {
		_, err := r.Pass(ctx)
		require.NoError(t, err)
		clock.Advance(time.Minute)
	}
	m := time.Minute
	assert.Equal(t, []time.Duration{1 * m, 3 * m, 8 * m, 18 * m, 48 * m, 108 * m, 168 * m, 228 * m, 240 * m}, at,
		"polls at 1, +2, +5, +10, +30, then hourly, the last at the deadline")
	require.Len(t, overdue, 1, "reported overdue once")
	assert.Equal(t, Reconcile{Provider: "kasperopay", ID: "pay_1", Ref: "order_1", Result: ReconcileOverdue}, overdue[0])
	x, err := store.Get(ctx, expect.Key{Provider: "kasperopay", ID: "pay_1"})
	require.NoError(t, err)
	assert.Equal(t, expect.Overdue, x.State)
	assert.Contains(t, logs.String(), "level=ERROR msg=\"payhook: EXPECTED PAYMENT OVERDUE")
	assert.Equal(t, 1, strings.Count(logs.String(), "OVERDUE"))
}

// TestReconcilerOverdueWithoutPoller: Kazawallet has no status API; its
// expectations are never polled, only reported overdue.
func TestReconcilerOverdueWithoutPoller(t *testing.T) {
	clock := &testClock{now: t0}
	store := expect.NewMemory()
	r := NewReconciler(store, WithReconcileClock(clock.Now))
	ctx := context.Background()
	require.NoError(t, r.Expect(ctx, expect.Expectation{Provider: "kazawallet", Ref: "order_1", Amount: "10.00", Currency: "USD", Deadline: t0.Add(time.Minute)}))
	require.NoError(t, r.Expect(ctx, expect.Expectation{Provider: "kazawallet", Ref: "order_2", Amount: "10.00", Currency: "USD", Deadline: t0.Add(time.Minute)}))
	_, err := store.Settle(ctx, expect.Key{Provider: "kazawallet", Ref: "order_2"}, expect.Settlement{PaymentID: "ord_2", Outcome: expect.OutcomePaid, At: t0})
	require.NoError(t, err)

	res, err := r.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, PassResult{}, res, "nothing due, nothing late")
	clock.Advance(time.Minute)
	res, err = r.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, PassResult{Overdue: 1}, res)
	late, err := store.List(ctx, expect.Filter{State: expect.Overdue})
	require.NoError(t, err)
	require.Len(t, late, 1)
	assert.Equal(t, "order_1", late[0].Ref, "the paid one is settled, not listed")
	res, err = r.Pass(ctx)
	require.NoError(t, err)
	assert.Zero(t, res.Overdue, "reported once")
}

func TestReconcilerRegisterTwicePanics(t *testing.T) {
	r := NewReconciler(expect.NewMemory())
	r.register("kkiapay", func(context.Context, expect.Expectation) error { return nil })
	assert.Panics(t, func() { r.register("kkiapay", func(context.Context, expect.Expectation) error { return nil }) })
}

// BenchmarkReconcilerPass10k: a pass over ten thousand pending
// expectations, within the default budget, with a poll that answers
// pending at once: the cost of the reconciler and the store, not of the
// provider's API.
func BenchmarkReconcilerPass10k(b *testing.B) {
	clock := &testClock{now: t0}
	store := expect.NewMemory()
	r := NewReconciler(store, WithReconcileClock(clock.Now))
	r.register("kkiapay", func(context.Context, expect.Expectation) error { return ErrPending })
	ctx := context.Background()
	for i := range 10_000 {
		if err := store.Add(ctx, expect.Expectation{Provider: "kkiapay", ID: fmt.Sprintf("tx_%05d", i),
			Amount: "1000", Currency: "XOF", Deadline: t0.Add(48 * time.Hour), NextPoll: t0}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	polled := 0
	for range b.N {
		res, err := r.Pass(ctx)
		if err != nil {
			b.Fatal(err)
		}
		polled += res.Polled
		clock.Advance(time.Second)
	}
	b.ReportMetric(float64(polled)/float64(b.N), "polls/pass")
}

// TestReconcilerForgets: a pass forgets the settled and cancelled
// expectations past their retention, at once and then once every
// ForgetInterval, and never a pending or overdue one.
func TestReconcilerForgets(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: t0}
	store := expect.NewMemory()
	r := NewReconciler(store, WithReconcileClock(clock.Now), WithExpectRetention(48*time.Hour))
	add := func(ref string) expect.Key {
		t.Helper()
		require.NoError(t, r.Expect(ctx, expect.Expectation{Provider: "kazawallet", Ref: ref, Amount: "10.00", Currency: "USD", Deadline: t0.Add(time.Minute)}))
		return expect.Key{Provider: "kazawallet", Ref: ref}
	}
	settle := func(k expect.Key, id string) {
		t.Helper()
		_, err := store.Settle(ctx, k, expect.Settlement{PaymentID: id, Outcome: expect.OutcomePaid, At: clock.Now()})
		require.NoError(t, err)
	}
	paid, cancelled, late, overdue := add("paid"), add("cancelled"), add("late"), add("overdue")
	settle(paid, "ord_1")
	require.NoError(t, store.Cancel(ctx, cancelled))

	res, err := r.Pass(ctx)
	require.NoError(t, err)
	assert.Zero(t, res.Forgotten, "within their retention")
	clock.Advance(48 * time.Hour)
	settle(late, "ord_2") // overdue, then paid late: kept 48h from now
	res, err = r.Pass(ctx)
	require.NoError(t, err)
	assert.Zero(t, res.Forgotten, "not yet an hour since the first pass forgot")

	clock.Advance(ForgetInterval)
	res, err = r.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, res.Forgotten)
	for _, k := range []expect.Key{paid, cancelled} {
		_, err := store.Get(ctx, k)
		assert.ErrorIs(t, err, expect.ErrNotFound, "%s forgotten", k)
	}
	for k, want := range map[expect.Key]expect.State{late: expect.Settled, overdue: expect.Overdue} {
		x, err := store.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, want, x.State, "%s kept", k)
	}

	clock.Advance(48 * time.Hour)
	res, err = r.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Forgotten, "the late one, 48h after its payment")
}

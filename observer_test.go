package payhook_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/inbox"
)

// observed records what an Observer is told.
type observed struct {
	mu         sync.Mutex
	deliveries []payhook.Delivery
	attempts   []payhook.Attempt
}

func (o *observed) observer() payhook.Observer {
	return payhook.Observer{
		Delivery: func(_ context.Context, d payhook.Delivery) {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.deliveries = append(o.deliveries, d)
		},
		Attempt: func(_ context.Context, a payhook.Attempt) {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.attempts = append(o.attempts, a)
		},
	}
}

func (o *observed) outcomes() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, d := range o.deliveries {
		out = append(out, string(d.Outcome)+"/"+string(d.Reason))
	}
	return out
}

func TestObserverSeesEveryOutcome(t *testing.T) {
	var o observed
	c := newCalls(1)
	c.fromInbox = false
	h := payhook.Handle(&shopProvider{authenticated: true}, c.handle, payhook.WithObserver(o.observer()))

	forged := shopPost("pay_1", "10")
	forged.Header.Set("X-Signature", "forged")
	serve(h, forged)
	serve(h, shopPost("pay_1", "10")) // handler fails
	serve(h, shopPost("pay_1", "10")) // processed
	serve(h, shopPost("pay_1", "10")) // duplicate
	get := shopPost("pay_2", "10")
	get.Method = http.MethodGet
	serve(h, get)

	assert.Equal(t, []string{
		"rejected/invalid_signature", "failed/handler_error", "processed/", "duplicate/", "rejected/method_not_allowed",
	}, o.outcomes())
	o.mu.Lock()
	defer o.mu.Unlock()
	d := o.deliveries[2]
	assert.Equal(t, "shop", d.Provider)
	assert.Equal(t, "pay_1", d.Key)
	assert.Equal(t, http.StatusOK, d.Status)
	assert.Positive(t, d.Verify)
	assert.Positive(t, d.Store)
	assert.Positive(t, d.Handler)
	assert.GreaterOrEqual(t, d.Total, d.Verify+d.Store+d.Handler)
	assert.Equal(t, http.StatusUnauthorized, o.deliveries[0].Status)
	assert.Empty(t, o.deliveries[0].Key, "a forged delivery's key is not trusted")
}

func TestObserverSeesInFlight(t *testing.T) {
	var o observed
	release := make(chan struct{})
	entered := make(chan struct{})
	h := payhook.Handle(&shopProvider{authenticated: true}, func(ctx context.Context, e shopEvent) error {
		close(entered)
		<-release
		return nil
	}, payhook.WithObserver(o.observer()))
	done := make(chan struct{})
	go func() { serve(h, shopPost("pay_1", "10")); close(done) }()
	<-entered
	assert.Equal(t, http.StatusConflict, serve(h, shopPost("pay_1", "10")).Code)
	close(release)
	<-done
	assert.ElementsMatch(t, []string{"in_flight/in_flight", "processed/"}, o.outcomes())
}

func TestObserverSeesInboxAttempts(t *testing.T) {
	var o observed
	ib := newInbox(inbox.WithMaxAttempts(2))
	c := newCalls(3)
	h := payhook.Handle(&shopProvider{authenticated: true}, c.handle, payhook.WithInbox(ib), payhook.WithObserver(o.observer()))
	require.Equal(t, http.StatusOK, serve(h, shopPost("pay_1", "10")).Code)
	running(t, ib)
	require.Eventually(t, func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.attempts) == 2
	}, 10*time.Second, time.Millisecond)
	o.mu.Lock()
	defer o.mu.Unlock()
	assert.Equal(t, payhook.AttemptRetry, o.attempts[0].Result)
	assert.Equal(t, payhook.AttemptDead, o.attempts[1].Result)
	assert.Equal(t, payhook.ReasonHandler, o.attempts[1].Reason)
	assert.Equal(t, 2, o.attempts[1].N)
	assert.Equal(t, "pay_1", o.attempts[1].Key)
	assert.Equal(t, []string{"processed/"}, []string{string(o.deliveries[0].Outcome) + "/"})
}

func TestObserversCombine(t *testing.T) {
	var a, b observed
	c := newCalls(0)
	c.fromInbox = false
	h := payhook.Handle(&shopProvider{authenticated: true}, c.handle,
		payhook.WithObserver(payhook.Observers(a.observer(), payhook.Observer{}, b.observer())))
	serve(h, shopPost("pay_1", "10"))
	assert.Equal(t, []string{"processed/"}, a.outcomes())
	assert.Equal(t, []string{"processed/"}, b.outcomes())
}

// WithClock drives the default store too: moving it past the retention
// forgets the event, as the real clock would.
func TestWithClockDrivesTheDefaultStore(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := newCalls(0)
	c.fromInbox = false
	h := payhook.Handle(&shopProvider{authenticated: true}, c.handle,
		payhook.WithClock(clock), payhook.WithRetention(time.Hour))
	assert.Equal(t, "ok\n", serve(h, shopPost("pay_1", "10")).Body.String())
	assert.Equal(t, "already processed\n", serve(h, shopPost("pay_1", "10")).Body.String())
	mu.Lock()
	now = now.Add(time.Hour + time.Second)
	mu.Unlock()
	assert.Equal(t, "ok\n", serve(h, shopPost("pay_1", "10")).Body.String(), "the retention ended on the middleware's clock")
	assert.Equal(t, 2, c.count())
}

func TestObserverSeesConfirmationLater(t *testing.T) {
	var o observed
	p := &shopProvider{authenticated: true}
	p.set("pay_1", "pending", nil)
	c := newCalls(0)
	ib := newInbox()
	h := payhook.Handle(p, c.handle, payhook.WithInbox(ib), payhook.WithObserver(o.observer()))
	require.Equal(t, http.StatusOK, serve(h, shopPost("pay_1", "10")).Code)
	p.set("pay_1", "10", nil)
	running(t, ib)
	wait(t, c.done)
	require.Eventually(t, func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.attempts) == 1
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, []string{"processed/confirmation_later"}, o.outcomes())
	o.mu.Lock()
	defer o.mu.Unlock()
	assert.Equal(t, payhook.AttemptDone, o.attempts[0].Result)
	assert.WithinDuration(t, time.Now(), o.attempts[0].ReceivedAt, time.Minute)
}

func TestObserversCallEachInTurn(t *testing.T) {
	var got []string
	rec := func(name string) payhook.Observer {
		return payhook.Observer{
			Delivery:  func(context.Context, payhook.Delivery) { got = append(got, name+" delivery") },
			Attempt:   func(context.Context, payhook.Attempt) { got = append(got, name+" attempt") },
			Reconcile: func(context.Context, payhook.Reconcile) { got = append(got, name+" reconcile") },
		}
	}
	onlyAttempt := payhook.Observer{Attempt: func(context.Context, payhook.Attempt) { got = append(got, "b attempt") }}
	o := payhook.Observers(rec("a"), onlyAttempt, payhook.Observer{}, rec("c"))
	ctx := context.Background()
	o.Delivery(ctx, payhook.Delivery{})
	o.Attempt(ctx, payhook.Attempt{})
	o.Reconcile(ctx, payhook.Reconcile{})
	assert.Equal(t, []string{"a delivery", "c delivery", "a attempt", "b attempt", "c attempt", "a reconcile", "c reconcile"}, got)
	assert.Nil(t, payhook.Observers(payhook.Observer{}, payhook.Observer{}).Delivery, "no funcs, none made")
}

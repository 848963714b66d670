package payhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kasperopay/kasperopaytest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
	"github.com/payhook/payhook/providers/kkiapay"
	"github.com/payhook/payhook/providers/kkiapay/kkiapaytest"
)

// TestSweepReopensCrashedSettlement: without an inbox, a process killed
// after its delivery settled the expectation and before the handler
// succeeded left the expectation settled and the key's claim to expire.
// The provider never sends again. Once the claim's lease has passed, a
// reconciler pass finds the payment's key free, reopens the expectation
// and polls it: the payment is credited once. The payment credited that
// way is then confirmed, never reopened again.
func TestSweepReopensCrashedSettlement(t *testing.T) {
	ctx := context.Background()
	clock := payhooktest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	api := kkiapaytest.NewAPI(t)
	kk, err := kkiapay.New("hash", kkiapay.WithConfirmation(api.Client()))
	require.NoError(t, err)
	store := expect.NewMemory()
	r := payhook.NewReconciler(store, payhook.WithReconcileClock(clock.Now))

	// The first call of the handler is the process that dies: it never
	// returns while the test looks (the delivery is dropped before its
	// handler did anything), and counts for nothing.
	c := newCredits()
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h := payhook.Handle(kk, func(ctx context.Context, e kkiapay.Event) error {
		crashed := false
		once.Do(func() { crashed = true })
		if crashed {
			close(entered)
			<-release
			return nil
		}
		return c.credit(ctx, e.Payment())
	}, append(clock.Options(), payhook.WithReconciler(r))...)

	require.NoError(t, r.Expect(ctx, expect.Expectation{Provider: kkiapay.Name, ID: "tx_1", Ref: "order_1",
		Amount: "1000", Currency: "XOF", Deadline: clock.Now().Add(24 * time.Hour)}))
	ok := true
	event := kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, PaymentSucceeded: &ok, Amount: payhook.MustAmount("1000")}
	api.Confirm(event)
	send := kkiapaytest.Sender{Secret: "hash"}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.ServeHTTP(httptest.NewRecorder(), send.Request("/", event))
	}()
	t.Cleanup(func() { close(release); wg.Wait() })
	<-entered
	k := expect.Key{Provider: kkiapay.Name, ID: "tx_1"}
	x, err := store.Get(ctx, k)
	require.NoError(t, err)
	require.Equal(t, expect.Settled, x.State, "the dying delivery settled it")

	// Within the claim's lease, the delivery may still be running: left.
	clock.Advance(payhook.DefaultLease / 2)
	res, err := r.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, payhook.PassResult{}, res)

	// The lease has passed and the key is free: reopened, polled at once,
	// credited once.
	clock.Advance(payhook.DefaultLease)
	res, err = r.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, payhook.PassResult{Reopened: 1, Polled: 1, Found: 1}, res)
	assert.Equal(t, 1, c.n("tx_1"))
	assert.Equal(t, map[string]string{"tx_1": "order_1"}, c.refs)
	x, err = store.Get(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, expect.Settled, x.State)

	// Credited: a lease later it is confirmed, and then never looked at
	// again; a late duplicate of the webhook is already processed.
	clock.Advance(payhook.DefaultLease)
	res, err = r.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, payhook.PassResult{Confirmed: 1}, res)
	clock.Advance(time.Hour)
	res, err = r.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, payhook.PassResult{}, res)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, send.Request("/", event))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "already processed\n", w.Body.String())
	assert.Equal(t, 1, c.total())
}

// TestSweepKazawallet: Kazawallet has no status API. A payment credited is
// confirmed by the sweep and never reopened; one whose delivery died
// after settling is reopened and, at its deadline, reported overdue.
func TestSweepKazawallet(t *testing.T) {
	ctx := context.Background()
	clock := payhooktest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	store := expect.NewMemory()
	r := payhook.NewReconciler(store, payhook.WithReconcileClock(clock.Now))
	kw, err := kazawallet.New("key", "secret")
	require.NoError(t, err)
	keys := clock.Store()
	c := newCredits()
	h := payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error { return c.credit(ctx, e.Payment()) },
		payhook.WithStore(keys), payhook.WithClock(clock.Now), payhook.WithReconciler(r))
	deadline := clock.Now().Add(time.Hour)
	for _, ref := range []string{"order_paid", "order_lost"} {
		require.NoError(t, r.Expect(ctx, expect.Expectation{Provider: kazawallet.Name, Ref: ref,
			Amount: "10.00", Currency: "USD", Deadline: deadline}))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, kazawallettest.Sender{APIKey: "key", APISecret: "secret"}.Request("/", kazawallet.Event{
		OrderID: "ord_paid", Ref: "order_paid", Type: kazawallet.Fulfilled, Amount: payhook.MustAmount("10.00"), Currency: "USD"}))
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, 1, c.n("ord_paid"))

	// The state a delivery killed before its handler leaves behind: the
	// expectation settled, the key claimed (a shared store's keys are the
	// provider's name, a colon and the payment id), never completed.
	lost := expect.Key{Provider: kazawallet.Name, Ref: "order_lost"}
	_, err = store.Settle(ctx, lost, expect.Settlement{PaymentID: "ord_lost", Outcome: expect.OutcomePaid, At: clock.Now()})
	require.NoError(t, err)
	_, err = keys.Claim(ctx, kazawallet.Name+":ord_lost", "dead-process", payhook.DefaultLease)
	require.NoError(t, err)

	clock.Advance(payhook.DefaultLease + time.Second)
	res, err := r.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, payhook.PassResult{Confirmed: 1, Reopened: 1}, res)
	state := func(ref string) expect.State {
		x, err := store.Get(ctx, expect.Key{Provider: kazawallet.Name, Ref: ref})
		require.NoError(t, err)
		return x.State
	}
	assert.Equal(t, expect.Settled, state("order_paid"), "credited: never reopened")
	assert.Equal(t, expect.Pending, state("order_lost"), "never credited: reopened")

	clock.Set(deadline)
	res, err = r.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, payhook.PassResult{Overdue: 1}, res)
	assert.Equal(t, expect.Settled, state("order_paid"))
	assert.Equal(t, expect.Overdue, state("order_lost"))
	assert.Equal(t, 1, c.total())
}

// TestSweepMemoryStoreForgetsEarlierProcesses: a memory idempotency store
// knows nothing of what a process before this one credited. An expectation
// settled before the engine was made is confirmed, not reopened: it may
// have been credited, and a poll would credit it twice.
func TestSweepMemoryStoreForgetsEarlierProcesses(t *testing.T) {
	ctx := context.Background()
	clock := payhooktest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	store := expect.NewMemory()
	require.NoError(t, store.Add(ctx, expect.Expectation{Provider: kazawallet.Name, Ref: "order_1",
		Amount: "10.00", Currency: "USD", Deadline: clock.Now().Add(time.Hour)}))
	k := expect.Key{Provider: kazawallet.Name, Ref: "order_1"}
	_, err := store.Settle(ctx, k, expect.Settlement{PaymentID: "ord_1", Outcome: expect.OutcomePaid, At: clock.Now()})
	require.NoError(t, err)

	clock.Advance(time.Second) // the process restarts
	r := payhook.NewReconciler(store, payhook.WithReconcileClock(clock.Now))
	kw, err := kazawallet.New("key", "secret")
	require.NoError(t, err)
	payhook.Handle(kw, func(context.Context, kazawallet.Event) error { return nil },
		append(clock.Options(), payhook.WithReconciler(r))...)
	clock.Advance(payhook.DefaultLease)
	res, err := r.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, payhook.PassResult{Confirmed: 1}, res)
	x, err := store.Get(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, expect.Settled, x.State)
}

// TestUnverifiedEntryRetriedAfterHandlerFailure: an unauthenticated
// KasperoPay delivery, kept in the inbox until the status API confirms it,
// whose handler fails once, is credited by the entry's retry. The worker
// used to complete the payment's key before calling the handler, so the
// retry found it done, took the entry for a duplicate, and the payment was
// never credited.
func TestUnverifiedEntryRetriedAfterHandlerFailure(t *testing.T) {
	ctx := context.Background()
	clock := payhooktest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	api := kasperopaytest.NewAPI(t)
	p, err := kasperopay.New(kasperopay.WithConfirmation(api.Client()), kasperopay.WithClock(clock.Now))
	require.NoError(t, err)
	store := expect.NewMemory()
	r := payhook.NewReconciler(store, payhook.WithReconcileClock(clock.Now))
	require.NoError(t, r.Expect(ctx, expect.Expectation{Provider: kasperopay.Name, ID: "pay_1", Amount: "25.5", Currency: "KAS"}))
	ib := memInbox(t, inbox.WithBackoff(0, 0), inbox.WithMaxAttempts(3))
	var calls atomic.Int32
	c := newCredits()
	h := payhook.Handle(p, func(ctx context.Context, e kasperopay.Event) error {
		if calls.Add(1) == 1 {
			return errors.New("database down")
		}
		return c.credit(ctx, e.Payment())
	}, payhook.WithInbox(ib), payhook.WithReconciler(r))

	// Not settled yet when the (unsigned) webhook comes: kept, unclaimed.
	api.Set("pay_1", kasperopaytest.Payment(kasperopay.Payment{PaymentID: "pay_1", Status: kasperopay.StatusPending}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, kasperopaytest.Sender{}.Request("/", kasperopay.Event{Type: kasperopay.PaymentCompleted,
		PaymentID: "pay_1", AmountKAS: payhook.MustAmount("25.5")}))
	require.Equal(t, http.StatusOK, w.Code)
	api.Set("pay_1", kasperopaytest.Payment(kasperopay.Payment{PaymentID: "pay_1", Status: kasperopay.StatusCompleted,
		AmountKAS: payhook.MustAmount("25.5"), ConfirmedAt: clock.Now()}))
	clock.Advance(time.Minute) // past the API's memory of "pending"
	drain(t, ib)
	assert.EqualValues(t, 2, calls.Load(), "the handler failed once, then the entry's retry called it again")
	assert.Equal(t, 1, c.n("pay_1"))
}

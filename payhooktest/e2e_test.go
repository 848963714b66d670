package payhooktest_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// app is an application's webhook handler: it records the events it
// processes, and fails while fail is above zero.
type app[E any] struct {
	mu     sync.Mutex
	events []E
	calls  int
	fail   int
	block  chan struct{} // when not nil, the handler waits for it
}

func (a *app[E]) handle(ctx context.Context, e E) error {
	a.mu.Lock()
	a.calls++
	block := a.block
	if a.fail > 0 {
		a.fail--
		a.mu.Unlock()
		return errors.New("database down")
	}
	a.mu.Unlock()
	if block != nil {
		<-block
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

func (a *app[E]) processed() []E {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]E(nil), a.events...)
}

// roundTrip checks what every provider's webhooks must do through
// payhook.Handle: the genuine one reaches the application as want, a
// duplicate is acknowledged without reaching it, a forged one is 401.
// normalize, when not nil, clears what want cannot predict.
func roundTrip[E any](t *testing.T, p payhook.Provider[E], genuine func() *http.Request, forged *http.Request, policy payhooktest.Policy, want E, normalize ...func(*E)) {
	t.Helper()
	a := &app[E]{}
	rt := payhooktest.Handler(payhook.Handle(p, a.handle))

	res := payhooktest.Deliver(rt, genuine(), policy)
	require.True(t, res.Acknowledged(), res.String())
	assert.Equal(t, "ok\n", res.Last().Body)
	got := a.processed()
	for _, n := range normalize {
		n(&got[0])
	}
	assert.Equal(t, []E{want}, got)

	res = payhooktest.Deliver(rt, genuine(), policy)
	assert.Equal(t, []int{http.StatusOK}, res.Statuses())
	assert.Equal(t, "already processed\n", res.Last().Body)

	res = payhooktest.Deliver(rt, forged, policy)
	assert.Equal(t, http.StatusUnauthorized, res.Attempts[0].Status)
	assert.False(t, res.Acknowledged())

	assert.Len(t, a.processed(), 1, "the application saw one event")
}

// deliverOnce delivers r once through payhook.Handle with p, and checks
// the answer's status and that the application got the event only on 200.
func deliverOnce[E any](t *testing.T, p payhook.Provider[E], r *http.Request, want int) {
	t.Helper()
	a := &app[E]{}
	res := payhooktest.Deliver(payhooktest.Handler(payhook.Handle(p, a.handle)), r, payhooktest.Policy{})
	assert.Equal(t, want, res.Last().Status, res.String())
	assert.Equal(t, want == http.StatusOK, len(a.processed()) == 1)
}

func TestHandleKazawallet(t *testing.T) {
	p, err := kazawallet.New("key", "secret")
	require.NoError(t, err)
	sender := payhooktest.Kazawallet{APIKey: "key", APISecret: "secret"}
	want := kwEvent
	want.SignedAmount = "10.00"
	roundTrip(t, p, func() *http.Request { return sender.Request("/webhooks/kazawallet", kwEvent) },
		sender.Forged("/webhooks/kazawallet", kwEvent), sender.Policy(), want)
}

func TestHandleKKiaPay(t *testing.T) {
	api := payhooktest.NewKKiaPayAPI(t)
	api.Confirm(kkEvent)
	for _, confirm := range []bool{false, true} {
		t.Run(map[bool]string{false: "header only", true: "confirmed"}[confirm], func(t *testing.T) {
			var opts []kkiapay.Option
			want := kkEvent
			yes := true
			want.PaymentSucceeded, want.StateData = &yes, []byte("{}")
			if confirm {
				opts = append(opts, kkiapay.WithConfirmation(api.Client()))
				tx := payhooktest.ConfirmedTransaction(kkEvent)
				tx.State = nil
				want.Confirmation = &tx
			}
			p, err := kkiapay.New("hash_secret", opts...)
			require.NoError(t, err)
			sender := payhooktest.KKiaPay{Secret: "hash_secret"}
			dropRaw := func(e *kkiapay.Event) {
				if confirm && assert.NotNil(t, e.Confirmation) {
					assert.NotEmpty(t, e.Confirmation.Raw, "the API's answer as received")
					e.Confirmation.Raw = nil
				}
			}
			roundTrip(t, p, func() *http.Request { return sender.Request("/webhooks/kkiapay", kkEvent) },
				sender.Forged("/webhooks/kkiapay", kkEvent), sender.Policy(), want, dropRaw)
		})
	}
}

func TestHandleKasperoPay(t *testing.T) {
	clock := payhooktest.NewClock(kpEvent.Timestamp)
	api := payhooktest.NewKasperoPayAPI(t)
	api.Confirm(kpEvent)
	p, err := kasperopay.New(kasperopay.WithBaseURL(api.URL()), kasperopay.WithWebhookSecret("whsec"), kasperopay.WithClock(clock.Now))
	require.NoError(t, err)
	sender := payhooktest.KasperoPay{Secret: "whsec", Now: clock.Now}
	want := kpEvent
	want.Signed = true
	confirmed := payhooktest.ConfirmedPayment(kpEvent)
	want.Confirmed = &confirmed
	roundTrip(t, p, func() *http.Request { return sender.Request("/webhooks/kasperopay", kpEvent) },
		sender.Forged("/webhooks/kasperopay", kpEvent), sender.Policy(), want)
	assert.Len(t, api.Calls(), 1, "a duplicate of a processed payment is acknowledged without asking the API")
}

// TestKKiaPayRetriesAFailedHandler replays KKiaPay's schedule against a
// handler that fails twice: the third attempt is processed, once.
func TestKKiaPayRetriesAFailedHandler(t *testing.T) {
	p, err := kkiapay.New("hash_secret")
	require.NoError(t, err)
	sender := payhooktest.KKiaPay{Secret: "hash_secret"}
	a := &app[kkiapay.Event]{fail: 2}
	rt := payhooktest.Handler(payhook.Handle(p, a.handle))

	res := payhooktest.Deliver(rt, sender.Request("/webhooks/kkiapay", kkEvent), sender.Policy())
	assert.Equal(t, []int{500, 500, 200}, res.Statuses(), res.String())
	assert.Equal(t, time.Second, res.Last().Wait)
	assert.Len(t, a.processed(), 1)
	assert.Equal(t, 3, a.calls)

	res = payhooktest.Deliver(rt, sender.Request("/webhooks/kkiapay", kkEvent), sender.Policy())
	assert.Equal(t, "already processed\n", res.Last().Body)
	assert.Equal(t, 3, a.calls, "the processed event does not reach the handler again")
}

func TestKKiaPayConfirmation(t *testing.T) {
	pending := payhooktest.ConfirmedTransaction(kkEvent)
	pending.Status = kkiapay.StatusPending
	other := payhooktest.ConfirmedTransaction(kkEvent)
	other.Amount = payhook.MustAmount("100")
	failed := payhooktest.ConfirmedTransaction(kkEvent)
	failed.Status = kkiapay.StatusFailed
	tests := []struct {
		name   string
		answer payhooktest.Answer
		want   int
	}{
		{"confirmed", payhooktest.Transaction(payhooktest.ConfirmedTransaction(kkEvent)), http.StatusOK},
		{"pending", payhooktest.Transaction(pending), http.StatusServiceUnavailable},
		{"amount mismatch", payhooktest.Transaction(other), http.StatusUnauthorized},
		{"status mismatch", payhooktest.Transaction(failed), http.StatusUnauthorized},
		{"not found", payhooktest.NotFound(), http.StatusUnauthorized},
		{"down", payhooktest.Down(), http.StatusServiceUnavailable},
		{"hangup", payhooktest.Hangup(), http.StatusServiceUnavailable},
		{"slow", payhooktest.Slow(time.Hour, payhooktest.Transaction(payhooktest.ConfirmedTransaction(kkEvent))), http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := payhooktest.NewKKiaPayAPI(t)
			api.Set(kkEvent.TransactionID, tt.answer)
			cl := api.Client(kkiapay.WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}))
			p, err := kkiapay.New("hash_secret", kkiapay.WithConfirmation(cl))
			require.NoError(t, err)
			deliverOnce(t, p, payhooktest.KKiaPay{Secret: "hash_secret"}.Request("/webhooks/kkiapay", kkEvent), tt.want)
		})
	}
}

// TestKKiaPayRetryCatchesUpWithTheAPI: the webhook comes before the status
// API says SUCCESS; KKiaPay's retry, once the API has caught up, is
// processed.
func TestKKiaPayRetryCatchesUpWithTheAPI(t *testing.T) {
	api := payhooktest.NewKKiaPayAPI(t)
	pending := payhooktest.ConfirmedTransaction(kkEvent)
	pending.Status = kkiapay.StatusPending
	api.Set(kkEvent.TransactionID, payhooktest.Transaction(pending))
	p, err := kkiapay.New("hash_secret", kkiapay.WithConfirmation(api.Client()))
	require.NoError(t, err)
	a := &app[kkiapay.Event]{}
	sender := payhooktest.KKiaPay{Secret: "hash_secret"}
	policy := sender.Policy()
	policy.Sleep = func(ctx context.Context, d time.Duration) error {
		if d == 2*payhooktest.KKiaPayInterval { // by the second retry the payment has gone through
			api.Confirm(kkEvent)
		}
		return nil
	}
	res := payhooktest.Deliver(payhooktest.Handler(payhook.Handle(p, a.handle)), sender.Request("/webhooks/kkiapay", kkEvent), policy)
	assert.Equal(t, []int{503, 503, 200}, res.Statuses(), res.String())
	assert.Len(t, a.processed(), 1)
}

func TestKasperoPayConfirmation(t *testing.T) {
	pending := payhooktest.ConfirmedPayment(kpEvent)
	pending.Status = kasperopay.StatusPending
	other := payhooktest.ConfirmedPayment(kpEvent)
	other.AmountKAS = payhook.MustAmount("1.5")
	otherTx := payhooktest.ConfirmedPayment(kpEvent)
	otherTx.TxID = "f00"
	tests := []struct {
		name   string
		answer payhooktest.Answer
		want   int
	}{
		{"confirmed", payhooktest.Payment(payhooktest.ConfirmedPayment(kpEvent)), http.StatusOK},
		{"pending", payhooktest.Payment(pending), http.StatusServiceUnavailable},
		{"amount mismatch", payhooktest.Payment(other), http.StatusUnauthorized},
		{"transaction mismatch", payhooktest.Payment(otherTx), http.StatusUnauthorized},
		{"not found", payhooktest.NotFound(), http.StatusUnauthorized},
		{"down", payhooktest.Down(), http.StatusServiceUnavailable},
		{"hangup", payhooktest.Hangup(), http.StatusServiceUnavailable},
		{"slow", payhooktest.Slow(time.Hour, payhooktest.Payment(payhooktest.ConfirmedPayment(kpEvent))), http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := payhooktest.NewKasperoPayAPI(t)
			api.Set(kpEvent.PaymentID, tt.answer)
			p, err := kasperopay.New(kasperopay.WithBaseURL(api.URL()), kasperopay.WithTimeout(50*time.Millisecond),
				kasperopay.WithLogger(slog.New(slog.DiscardHandler)), kasperopay.WithClock(payhooktest.NewClock(kpEvent.Timestamp).Now))
			require.NoError(t, err)
			deliverOnce(t, p, payhooktest.KasperoPay{}.Request("/webhooks/kasperopay", kpEvent), tt.want)
		})
	}
}

// TestConcurrentDuplicates: of five copies at once, one is processed; the
// others are answered 409 while it runs, or 200 once it is done.
func TestConcurrentDuplicates(t *testing.T) {
	p, err := kazawallet.New("key", "secret")
	require.NoError(t, err)
	sender := payhooktest.Kazawallet{APIKey: "key", APISecret: "secret"}
	a := &app[kazawallet.Event]{}
	results := payhooktest.DeliverN(payhooktest.Handler(payhook.Handle(p, a.handle)), sender.Request("/", kwEvent), sender.Policy(), 5)
	counts := map[int]int{}
	for _, r := range results {
		require.Len(t, r.Attempts, 1, "Kazawallet sends once")
		counts[r.Last().Status]++
	}
	assert.Equal(t, 5, counts[200]+counts[409], "%v", counts)
	assert.Len(t, a.processed(), 1)
}

// TestClockMovesLeasesAndRetention expires a lease and the retention with
// the clock, without sleeping.
func TestClockMovesLeasesAndRetention(t *testing.T) {
	clock := &payhooktest.Clock{}
	p, err := kazawallet.New("key", "secret")
	require.NoError(t, err)
	sender := payhooktest.Kazawallet{APIKey: "key", APISecret: "secret"}
	a := &app[kazawallet.Event]{block: make(chan struct{})}
	rt := payhooktest.Handler(payhook.Handle(p, a.handle, append(clock.Options(), payhook.WithLease(time.Minute), payhook.WithRetention(time.Hour))...))
	deliver := func() payhooktest.Result {
		return payhooktest.Deliver(rt, sender.Request("/", kwEvent), sender.Policy())
	}

	first := make(chan payhooktest.Result)
	go func() { first <- deliver() }()
	require.Eventually(t, func() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.calls == 1 }, 10*time.Second, time.Millisecond)
	res := deliver()
	assert.Equal(t, http.StatusConflict, res.Last().Status, "in flight")
	assert.Equal(t, "1", res.Last().RetryAfter)

	clock.Advance(time.Minute)
	a.mu.Lock()
	block := a.block
	a.block = nil
	a.mu.Unlock()
	res = deliver()
	assert.Equal(t, http.StatusOK, res.Last().Status, "the first delivery's lease has ended: the event is processed again")
	assert.Equal(t, "ok\n", res.Last().Body)
	close(block)
	assert.Equal(t, http.StatusOK, (<-first).Last().Status, "the first delivery's handler succeeded too")

	res = deliver()
	assert.Equal(t, "already processed\n", res.Last().Body)
	clock.Advance(time.Hour)
	res = deliver()
	assert.Equal(t, "ok\n", res.Last().Body, "past the retention the event is forgotten")
	assert.Len(t, a.processed(), 3)
}

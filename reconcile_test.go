package payhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kasperopay/kasperopaytest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
	"github.com/payhook/payhook/providers/kkiapay"
	"github.com/payhook/payhook/providers/kkiapay/kkiapaytest"
)

// credits counts the handler's calls per payment id, with the expectation
// each came with.
type credits struct {
	mu    sync.Mutex
	calls map[string]int
	refs  map[string]string
}

func newCredits() *credits { return &credits{calls: map[string]int{}, refs: map[string]string{}} }

func (c *credits) credit(ctx context.Context, p payhook.Payment) error {
	x, ok := payhook.ExpectationFrom(ctx)
	if !ok && p.Paid() {
		return payhook.ErrUnexpected // a shop credits orders it expects
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[p.ID]++
	if ok {
		c.refs[p.ID] = x.Ref
	}
	return nil
}

func (c *credits) n(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[id]
}

func (c *credits) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.calls {
		n += k
	}
	return n
}

// TestWebhookAndPollRace (issue 19): a webhook and a poll that find the
// same payment at the same moment call the handler once, 100 times over:
// both go through one claim of one key.
func TestWebhookAndPollRace(t *testing.T) {
	for _, withInbox := range []bool{false, true} {
		t.Run(fmt.Sprintf("inbox=%v", withInbox), func(t *testing.T) {
			api := kkiapaytest.NewAPI(t)
			p, err := kkiapay.New("hash", kkiapay.WithConfirmation(api.Client()))
			require.NoError(t, err)
			clock := payhooktest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
			store := expect.NewMemory()
			r := payhook.NewReconciler(store, payhook.WithReconcileClock(clock.Now), payhook.WithPollRate(1000, 1000))
			c := newCredits()
			opts := []payhook.Option{payhook.WithReconciler(r), payhook.WithStore(idempotency.NewMemory())}
			var ib *inbox.Inbox
			if withInbox {
				ib = memInbox(t, inbox.WithBackoff(0, 0))
				opts = append(opts, payhook.WithInbox(ib))
			}
			h := payhook.Handle(p, func(ctx context.Context, e kkiapay.Event) error { return c.credit(ctx, e.Payment()) }, opts...)
			send := kkiapaytest.Sender{Secret: "hash"}
			ctx := context.Background()
			const n = 100
			doors := map[string]int{} // the webhook's answers: which door came first
			for i := range n {
				id := fmt.Sprintf("tx_%03d", i)
				ok := true
				e := kkiapay.Event{TransactionID: id, Type: kkiapay.TransactionSuccess, PaymentSucceeded: &ok,
					Amount: payhook.MustAmount("1000"), Method: kkiapay.MobileMoney}
				api.Confirm(e)
				require.NoError(t, r.Expect(ctx, expect.Expectation{Provider: kkiapay.Name, ID: id, Ref: "order_" + id,
					Amount: "1000", Currency: "XOF"}))
				clock.Advance(payhook.DefaultFirstPoll) // due for its first poll now
				var wg sync.WaitGroup
				var code int
				var body string
				wg.Add(2)
				go func() {
					defer wg.Done()
					w := httptest.NewRecorder()
					h.ServeHTTP(w, send.Request("/", e))
					code, body = w.Code, w.Body.String()
				}()
				go func() {
					defer wg.Done()
					_, err := r.Pass(ctx)
					assert.NoError(t, err)
				}()
				wg.Wait()
				doors[body]++
				assert.Contains(t, []int{http.StatusOK, http.StatusConflict}, code, "%s: the webhook is processed, or in flight under the poll", id)
			}
			t.Logf("webhook answers: %q", doors)
			if withInbox {
				drain(t, ib)
			}
			for i := range n {
				id := fmt.Sprintf("tx_%03d", i)
				assert.Equal(t, 1, c.n(id), "%s: the handler, called once", id)
				x, err := store.Get(ctx, expect.Key{Provider: kkiapay.Name, ID: id})
				require.NoError(t, err)
				assert.Equal(t, expect.Settled, x.State, id)
				assert.Equal(t, "order_"+id, c.refs[id], "%s: the handler finds its order through the expectation", id)
			}
		})
	}
}

// drain runs ib until no entry is pending or running.
func drain(t *testing.T, ib *inbox.Inbox) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ib.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	for {
		stats, err := ib.Backend().Stats(ctx)
		require.NoError(t, err)
		busy := 0
		for _, s := range stats {
			if s.State == inbox.Pending || s.State == inbox.Running {
				busy += s.N
			}
		}
		if busy == 0 {
			return
		}
		waitABit()
	}
}

// waitABit yields without a timer: the inbox's workers run meanwhile.
func waitABit() {
	ch := make(chan struct{})
	go func() { close(ch) }()
	<-ch
}

// kazawalletHandle is a Kazawallet Handle with expectations, and what it
// credits.
func kazawalletHandle(t *testing.T, store expect.Store, opts ...payhook.Option) (http.Handler, *credits, kazawallettest.Sender) {
	t.Helper()
	kw, err := kazawallet.New("key", "secret")
	require.NoError(t, err)
	c := newCredits()
	h := payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error { return c.credit(ctx, e.Payment()) },
		append([]payhook.Option{payhook.WithExpectations(store)}, opts...)...)
	return h, c, kazawallettest.Sender{APIKey: "key", APISecret: "secret"}
}

func kazawalletExpect(t *testing.T, store expect.Store, ref, amount string) {
	t.Helper()
	require.NoError(t, store.Add(context.Background(), expect.Expectation{Provider: kazawallet.Name, Ref: ref,
		Amount: amount, Currency: "USD", Deadline: time.Now().Add(time.Hour)}))
}

// TestKazawalletOneRule (issue 19): the reference finds the expectation,
// the signed amount and currency must match it, each expectation is
// settled once, and each signed order id settles at most one.
func TestKazawalletOneRule(t *testing.T) {
	ctx := context.Background()
	paid := func(orderID, ref, amount, currency string) kazawallet.Event {
		return kazawallet.Event{OrderID: orderID, Ref: ref, Type: kazawallet.Fulfilled, Amount: payhook.MustAmount(amount), Currency: currency}
	}
	t.Run("paid once, credited once", func(t *testing.T) {
		store := expect.NewMemory()
		kazawalletExpect(t, store, "order_1", "10.00")
		h, c, send := kazawalletHandle(t, store)
		for range 2 {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, send.Request("/", paid("ord_A", "order_1", "10", "USD")))
			assert.Equal(t, http.StatusOK, w.Code)
		}
		assert.Equal(t, 1, c.n("ord_A"))
		assert.Equal(t, "order_1", c.refs["ord_A"])
		x, err := store.Get(ctx, expect.Key{Provider: kazawallet.Name, Ref: "order_1"})
		require.NoError(t, err)
		assert.Equal(t, expect.Settled, x.State)
		assert.Equal(t, "ord_A", x.PaymentID)
	})
	t.Run("replayed with another ref credits nothing", func(t *testing.T) {
		store := expect.NewMemory()
		kazawalletExpect(t, store, "order_1", "10.00")
		kazawalletExpect(t, store, "order_2", "10.00")
		h, c, send := kazawalletHandle(t, store)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, send.Request("/", paid("ord_A", "order_1", "10.00", "USD")))
		require.Equal(t, http.StatusOK, w.Code)
		// The same signed order id with the ref rewritten, past the
		// idempotency store's memory (a fresh store): the expectation of
		// order_2 is not settled by a payment that settled order_1.
		h2, c2, _ := kazawalletHandle(t, store)
		w = httptest.NewRecorder()
		h2.ServeHTTP(w, send.Request("/", paid("ord_A", "order_2", "10.00", "USD")))
		assert.Equal(t, http.StatusInternalServerError, w.Code)
		assert.Equal(t, 1, c.total())
		assert.Equal(t, 0, c2.total(), "order_2 credited by order_1's payment")
		x, err := store.Get(ctx, expect.Key{Provider: kazawallet.Name, Ref: "order_2"})
		require.NoError(t, err)
		assert.Equal(t, expect.Pending, x.State)
	})
	t.Run("a wrong amount or currency never credits", func(t *testing.T) {
		for name, e := range map[string]kazawallet.Event{
			"amount":   paid("ord_B", "order_1", "1.00", "USD"),
			"currency": paid("ord_C", "order_1", "10.00", "EUR"),
		} {
			t.Run(name, func(t *testing.T) {
				store := expect.NewMemory()
				kazawalletExpect(t, store, "order_1", "10.00")
				h, c, send := kazawalletHandle(t, store)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, send.Request("/", e))
				assert.Equal(t, http.StatusInternalServerError, w.Code)
				assert.Zero(t, c.total())
				x, err := store.Get(ctx, expect.Key{Provider: kazawallet.Name, Ref: "order_1"})
				require.NoError(t, err)
				assert.Equal(t, expect.Pending, x.State, "not settled: it will be reported overdue")
			})
		}
	})
	t.Run("a wrong amount is kept dead in the inbox, never credited", func(t *testing.T) {
		store := expect.NewMemory()
		kazawalletExpect(t, store, "order_1", "10.00")
		ib := memInbox(t, inbox.WithBackoff(0, 0))
		h, c, send := kazawalletHandle(t, store, payhook.WithInbox(ib))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, send.Request("/", paid("ord_B", "order_1", "9.99", "USD")))
		assert.Equal(t, http.StatusOK, w.Code, "acknowledged: the delivery is kept")
		drain(t, ib)
		assert.Zero(t, c.total())
		dead, err := ib.Backend().List(ctx, inbox.Filter{State: inbox.Dead})
		require.NoError(t, err)
		require.Len(t, dead, 1, "kept for an operator")
		assert.Equal(t, 1, dead[0].Attempts, "dead at once: no retry mends it")
		assert.Contains(t, dead[0].LastError(), "does not match its expectation")
	})
	t.Run("unexpected payment reaches the handler, which waits for its expectation", func(t *testing.T) {
		h, c, send := kazawalletHandle(t, expect.NewMemory())
		w := httptest.NewRecorder()
		h.ServeHTTP(w, send.Request("/", paid("ord_D", "order_9", "10.00", "USD")))
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.Zero(t, c.total())
		w = httptest.NewRecorder()
		h.ServeHTTP(w, send.Request("/", kazawallet.Event{OrderID: "ord_E", Ref: "order_9", Type: kazawallet.TimedOut, Amount: payhook.MustAmount("10"), Currency: "USD"}))
		assert.Equal(t, http.StatusOK, w.Code, "a timed-out link: nothing to credit, the handler may know")
		assert.Equal(t, 1, c.n("ord_E"))
	})
}

// kasperoForged is a KasperoPay Handle without a webhook secret, with an
// inbox and expectations, and an expectation of pay_1 for 25.5 KAS.
func kasperoForged(t *testing.T) (*kasperopaytest.API, http.Handler, *inbox.Inbox, *credits, expect.Store, *payhook.Reconciler) {
	t.Helper()
	api := kasperopaytest.NewAPI(t)
	p, err := kasperopay.New(kasperopay.WithConfirmation(api.Client()))
	require.NoError(t, err)
	store := expect.NewMemory()
	r := payhook.NewReconciler(store)
	require.NoError(t, r.Expect(context.Background(), expect.Expectation{Provider: kasperopay.Name, ID: "pay_1", Amount: "25.5", Currency: "KAS"}))
	ib := memInbox(t, inbox.WithBackoff(0, 0), inbox.WithMaxAttempts(3))
	c := newCredits()
	h := payhook.Handle(p, func(ctx context.Context, e kasperopay.Event) error { return c.credit(ctx, e.Payment()) },
		payhook.WithInbox(ib), payhook.WithReconciler(r))
	return api, h, ib, c, store, r
}

// TestForgedKasperoPayCannotSettle (issue 19): a forged unsigned
// KasperoPay webhook cannot settle an expectation that the status API does
// not confirm.
func TestForgedKasperoPayCannotSettle(t *testing.T) {
	ctx := context.Background()
	forged := kasperopay.Event{Type: kasperopay.PaymentCompleted, PaymentID: "pay_1", AmountKAS: payhook.MustAmount("25.5"), OrderID: "order_1"}
	for name, answer := range map[string]payhooktest.Answer{
		"pending":   kasperopaytest.Payment(kasperopay.Payment{PaymentID: "pay_1", Status: kasperopay.StatusPending}),
		"not found": payhooktest.NotFound(),
	} {
		t.Run(name, func(t *testing.T) {
			api, h, ib, c, store, _ := kasperoForged(t)
			api.Set("pay_1", answer)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, kasperopaytest.Sender{}.Request("/", forged))
			drain(t, ib)
			assert.Zero(t, c.total(), "answered %d", w.Code)
			x, err := store.Get(ctx, expect.Key{Provider: kasperopay.Name, ID: "pay_1"})
			require.NoError(t, err)
			assert.Equal(t, expect.Pending, x.State)
		})
	}
	t.Run("completed, another amount", func(t *testing.T) {
		api, h, ib, c, store, _ := kasperoForged(t)
		api.Set("pay_1", kasperopaytest.Payment(kasperopay.Payment{PaymentID: "pay_1", Status: kasperopay.StatusCompleted,
			AmountKAS: payhook.MustAmount("2.5"), ConfirmedAt: time.Now()}))
		e := forged
		e.AmountKAS = payhook.MustAmount("2.5")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, kasperopaytest.Sender{}.Request("/", e))
		require.Equal(t, http.StatusOK, w.Code, "a real payment: kept")
		drain(t, ib)
		assert.Zero(t, c.total(), "2.5 KAS paid for an expectation of 25.5: never credited")
		x, err := store.Get(ctx, expect.Key{Provider: kasperopay.Name, ID: "pay_1"})
		require.NoError(t, err)
		assert.Equal(t, expect.Pending, x.State)
	})
}

// TestPollFindsMissedPayment (issue 19): with the receiver down when the
// payment was made, a poll finds it and the handler runs once; the
// webhook sent again afterwards is "already processed".
func TestPollFindsMissedPayment(t *testing.T) {
	ctx := context.Background()
	clock := payhooktest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))

	kkAPI := kkiapaytest.NewAPI(t)
	kk, err := kkiapay.New("hash", kkiapay.WithConfirmation(kkAPI.Client()))
	require.NoError(t, err)
	kpAPI := kasperopaytest.NewAPI(t)
	kp, err := kasperopay.New(kasperopay.WithConfirmation(kpAPI.Client()), kasperopay.WithClock(clock.Now))
	require.NoError(t, err)

	store := expect.NewMemory()
	r := payhook.NewReconciler(store, payhook.WithReconcileClock(clock.Now))
	c := newCredits()
	hk := payhook.Handle(kk, func(ctx context.Context, e kkiapay.Event) error { return c.credit(ctx, e.Payment()) }, payhook.WithReconciler(r))
	hp := payhook.Handle(kp, func(ctx context.Context, e kasperopay.Event) error { return c.credit(ctx, e.Payment()) }, payhook.WithReconciler(r))

	ok := true
	kkEvent := kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, PaymentSucceeded: &ok, Amount: payhook.MustAmount("1000")}
	kkAPI.Confirm(kkEvent)
	kpEvent := kasperopay.Event{Type: kasperopay.PaymentCompleted, PaymentID: "pay_1", AmountKAS: payhook.MustAmount("25.5"), Timestamp: clock.Now()}
	kpAPI.Confirm(kpEvent)
	require.NoError(t, r.Expect(ctx, expect.Expectation{Provider: kkiapay.Name, ID: "tx_1", Ref: "order_1", Amount: "1000", Currency: "XOF"}))
	require.NoError(t, r.Expect(ctx, expect.Expectation{Provider: kasperopay.Name, ID: "pay_1", Ref: "order_2", Amount: "25.5", Currency: "KAS"}))

	res, err := r.Pass(ctx)
	require.NoError(t, err)
	assert.Zero(t, res.Polled, "not due before the first wait")
	clock.Advance(payhook.DefaultFirstPoll)
	res, err = r.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, payhook.PassResult{Polled: 2, Found: 2}, res)
	assert.Equal(t, 1, c.n("tx_1"))
	assert.Equal(t, 1, c.n("pay_1"))
	assert.Equal(t, map[string]string{"tx_1": "order_1", "pay_1": "order_2"}, c.refs)

	for _, try := range []struct {
		h   http.Handler
		req *http.Request
	}{
		{hk, kkiapaytest.Sender{Secret: "hash"}.Request("/", kkEvent)},
		{hp, kasperopaytest.Sender{Now: clock.Now}.Request("/", kpEvent)},
	} {
		w := httptest.NewRecorder()
		try.h.ServeHTTP(w, try.req)
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "already processed\n", w.Body.String())
	}
	assert.Equal(t, 2, c.total())

	clock.Advance(48 * time.Hour)
	res, err = r.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, payhook.PassResult{Confirmed: 2}, res, "settled: neither polled again nor overdue, and confirmed (their keys are done)")
}

// TestForgedUnsignedCollapse (issue 17 §1): without a KasperoPay webhook
// secret, forged bodies naming one pending payment are one inbox entry,
// which keeps the payment id only, and cost one status call; forged ids
// cost one call each and keep no body.
func TestForgedUnsignedCollapse(t *testing.T) {
	ctx := context.Background()
	api := kasperopaytest.NewAPI(t)
	api.SetDefault(kasperopaytest.Payment(kasperopay.Payment{Status: kasperopay.StatusPending}))
	p, err := kasperopay.New(kasperopay.WithConfirmation(api.Client()))
	require.NoError(t, err)
	ib := memInbox(t)
	c := newCredits()
	h := payhook.Handle(p, func(ctx context.Context, e kasperopay.Event) error { return c.credit(ctx, e.Payment()) }, payhook.WithInbox(ib))
	send := kasperopaytest.Sender{}

	const n = 300
	for i := range n {
		e := kasperopay.Event{Type: kasperopay.PaymentCompleted, PaymentID: "pay_real", AmountKAS: payhook.MustAmount(fmt.Sprint(i + 1)),
			Metadata: []byte(fmt.Sprintf(`{"pad":%q}`, strings.Repeat("x", 1000)))}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, send.Request("/", e))
		require.Equal(t, http.StatusOK, w.Code)
	}
	entries, err := ib.Backend().List(ctx, inbox.Filter{Limit: 1000})
	require.NoError(t, err)
	require.Len(t, entries, 1, "%d forged bodies of one payment: one entry", n)
	assert.Equal(t, "pay_real", entries[0].Key)
	assert.Less(t, len(entries[0].Event), 200, "the entry keeps the payment id, not a body: %s", entries[0].Event)
	assert.LessOrEqual(t, len(api.Calls()), 1, "one status call for one payment id")

	for i := range n {
		e := kasperopay.Event{Type: kasperopay.PaymentCompleted, PaymentID: fmt.Sprintf("pay_forged_%d", i), AmountKAS: payhook.MustAmount("1")}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, send.Request("/", e))
		require.Equal(t, http.StatusOK, w.Code)
	}
	assert.LessOrEqual(t, len(api.Calls()), 1+n, "one status call per forged id")
	entries, err = ib.Backend().List(ctx, inbox.Filter{Limit: 1000})
	require.NoError(t, err)
	for _, en := range entries {
		assert.Less(t, len(en.Event), 200, "%s keeps a body", en.ID)
	}
}

// TestExpectationOptionsRefused: what the options cannot use is refused
// at construction (ErrConfig), never ignored.
func TestExpectationOptionsRefused(t *testing.T) {
	fn := func(context.Context, string) error { return nil }
	store := expect.NewMemory()
	for name, build := range map[string]func(){
		"an event without a Payment": func() { payhook.Handle[string](fakeProvider{key: "k"}, fn, payhook.WithExpectations(store)) },
		"a nil store":                func() { payhook.Handle[string](fakeProvider{key: "k"}, fn, payhook.WithExpectations(nil)) },
		"a nil reconciler":           func() { payhook.Handle[string](fakeProvider{key: "k"}, fn, payhook.WithReconciler(nil)) },
		"a reconciler on Middleware": func() {
			kw, _ := kazawallet.New("key", "secret")
			payhook.Middleware(kw, payhook.WithReconciler(payhook.NewReconciler(store)))
		},
		"a reconciler without a budget": func() { payhook.NewReconciler(store, payhook.WithPollRate(0, 1)) },
		"a nil expectations store":      func() { payhook.NewReconciler(nil) },
		"a retention below 1":           func() { payhook.NewReconciler(store, payhook.WithExpectRetention(0)) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				err, _ := recover().(error)
				assert.ErrorIs(t, err, payhook.ErrConfig)
			}()
			build()
			t.Error("no panic")
		})
	}
}

// TestForgedUnsignedBoundedAndDropped (issue 17 §1): unauthenticated
// entries are bounded in total (beyond: 503), and one that the status API
// refuses is deleted, not kept dead.
func TestForgedUnsignedBoundedAndDropped(t *testing.T) {
	ctx := context.Background()
	api := kasperopaytest.NewAPI(t)
	api.SetDefault(kasperopaytest.Payment(kasperopay.Payment{Status: kasperopay.StatusPending}))
	clock := payhooktest.NewClock(time.Now())
	p, err := kasperopay.New(kasperopay.WithConfirmation(api.Client()), kasperopay.WithClock(clock.Now))
	require.NoError(t, err)
	const bound = 50
	ib := memInbox(t, inbox.WithMaxUnconfirmed(bound))
	var o observed
	c := newCredits()
	h := payhook.Handle(p, func(ctx context.Context, e kasperopay.Event) error { return c.credit(ctx, e.Payment()) },
		payhook.WithInbox(ib), payhook.WithObserver(o.observer()))

	codes := map[int]int{}
	const n = 300
	for i := range n {
		e := kasperopay.Event{Type: kasperopay.PaymentCompleted, PaymentID: fmt.Sprintf("pay_forged_%d", i), AmountKAS: payhook.MustAmount("1")}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, kasperopaytest.Sender{}.Request("/", e))
		codes[w.Code]++
	}
	assert.Equal(t, map[int]int{http.StatusOK: bound, http.StatusServiceUnavailable: n - bound}, codes)
	assert.Contains(t, o.outcomes(), "rejected/inbox_full")
	entries, err := ib.Backend().List(ctx, inbox.Filter{Limit: 1000})
	require.NoError(t, err)
	assert.Len(t, entries, bound)
	assert.LessOrEqual(t, len(api.Calls()), n, "one status call per forged id")

	api.SetDefault(payhooktest.NotFound()) // the forgeries: unknown to KasperoPay
	clock.Advance(time.Minute)             // past the pending answers remembered
	drain(t, ib)
	entries, err = ib.Backend().List(ctx, inbox.Filter{Limit: 1000})
	require.NoError(t, err)
	assert.Len(t, entries, 0, "refused by the API: deleted, not dead")
	assert.Zero(t, c.total())
}

// memInbox is a memory inbox with opts, or the test's end.
func memInbox(t testing.TB, opts ...inbox.Option) *inbox.Inbox {
	t.Helper()
	ib, err := inbox.New(inbox.NewMemory(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return ib
}

// TestDoorsExcludeEachOther: while one door's handler runs, the other
// door does not run it: a webhook settled the expectation, so no poll
// takes it; a poll holds the key, so the webhook is answered 409. Then
// the webhook is "already processed".
func TestDoorsExcludeEachOther(t *testing.T) {
	for _, first := range []string{"webhook", "poll"} {
		t.Run(first+" first", func(t *testing.T) {
			api := kkiapaytest.NewAPI(t)
			p, err := kkiapay.New("hash", kkiapay.WithConfirmation(api.Client()))
			require.NoError(t, err)
			clock := payhooktest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
			r := payhook.NewReconciler(expect.NewMemory(), payhook.WithReconcileClock(clock.Now))
			entered, release := make(chan struct{}, 2), make(chan struct{})
			c := newCredits()
			h := payhook.Handle(p, func(ctx context.Context, e kkiapay.Event) error {
				entered <- struct{}{}
				<-release
				return c.credit(ctx, e.Payment())
			}, payhook.WithReconciler(r))
			ctx := context.Background()
			ok := true
			e := kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, PaymentSucceeded: &ok, Amount: payhook.MustAmount("1000")}
			api.Confirm(e)
			require.NoError(t, r.Expect(ctx, expect.Expectation{Provider: kkiapay.Name, ID: "tx_1", Ref: "order_1", Amount: "1000", Currency: "XOF"}))
			clock.Advance(payhook.DefaultFirstPoll)
			webhook := func() *httptest.ResponseRecorder {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, kkiapaytest.Sender{Secret: "hash"}.Request("/", e))
				return w
			}
			pass := func() payhook.PassResult {
				res, err := r.Pass(ctx)
				require.NoError(t, err)
				return res
			}

			done := make(chan any, 1)
			if first == "webhook" {
				go func() { done <- webhook().Code }()
				<-entered
				assert.Equal(t, payhook.PassResult{}, pass(), "the webhook settled the expectation before its handler: no poll")
			} else {
				go func() { done <- pass() }()
				<-entered
				assert.Equal(t, http.StatusConflict, webhook().Code, "the webhook finds it in flight: KKiaPay retries")
			}
			close(release)
			<-done
			assert.Equal(t, 1, c.n("tx_1"))
			assert.Equal(t, "already processed\n", webhook().Body.String())
			clock.Advance(time.Hour)
			assert.Zero(t, pass().Polled, "settled: not polled again")
			assert.Equal(t, 1, c.n("tx_1"))
		})
	}
}

// TestForgedUnsignedPendingToTheEndDropped: a forged body naming a
// payment that anyone can create and leave unpaid is answered "pending"
// by the status API at every attempt. At its last attempt the entry is
// dropped, not kept dead: nothing ever authenticated it, and a dead one
// would count against the bound of unauthenticated entries for good, so
// that one round of such forgeries would refuse (503) every genuine
// unsigned delivery afterwards, until an operator discarded each.
func TestForgedUnsignedPendingToTheEndDropped(t *testing.T) {
	ctx := context.Background()
	api := kasperopaytest.NewAPI(t)
	api.SetDefault(kasperopaytest.Payment(kasperopay.Payment{Status: kasperopay.StatusPending}))
	clock := payhooktest.NewClock(time.Now())
	p, err := kasperopay.New(kasperopay.WithConfirmation(api.Client()), kasperopay.WithClock(clock.Now))
	require.NoError(t, err)
	const bound = 5
	ib := memInbox(t, inbox.WithMaxUnconfirmed(bound), inbox.WithMaxAttempts(1))
	c := newCredits()
	h := payhook.Handle(p, func(ctx context.Context, e kasperopay.Event) error { return c.credit(ctx, e.Payment()) }, payhook.WithInbox(ib))
	send := func(id string) int {
		e := kasperopay.Event{Type: kasperopay.PaymentCompleted, PaymentID: id, AmountKAS: payhook.MustAmount("1")}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, kasperopaytest.Sender{}.Request("/", e))
		return w.Code
	}
	for i := range bound {
		require.Equal(t, http.StatusOK, send(fmt.Sprintf("pay_unpaid_%d", i)))
	}
	require.Equal(t, http.StatusServiceUnavailable, send("pay_genuine_0"), "at the bound")

	drain(t, ib) // one attempt each: still pending at the last
	entries, err := ib.Backend().List(ctx, inbox.Filter{Limit: 1000})
	require.NoError(t, err)
	assert.Empty(t, entries, "unauthenticated to the end: dropped, not dead")
	n, err := ib.Backend().Unconfirmed(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Equal(t, http.StatusOK, send("pay_genuine_1"), "the bound is free again")
	assert.Zero(t, c.total())
}

// TestPollRefusesAnUnprintableKey: an expectation's id is the operator's
// or the application's word (any bytes, up to expect.MaxField); a poll
// hands its payment to the pipeline under that key, which is checked as a
// webhook's is (payhook.MaxKeyBytes, printable): a key with a line break
// would break the log lines it is put in, and the forward's webhook-id.
func TestPollRefusesAnUnprintableKey(t *testing.T) {
	ctx := context.Background()
	clock := payhooktest.NewClock(time.Now())
	kkAPI := kkiapaytest.NewAPI(t)
	kk, err := kkiapay.New("hash", kkiapay.WithConfirmation(kkAPI.Client()))
	require.NoError(t, err)
	store := expect.NewMemory()
	r := payhook.NewReconciler(store, payhook.WithReconcileClock(clock.Now))
	c := newCredits()
	payhook.Handle(kk, func(ctx context.Context, e kkiapay.Event) error { return c.credit(ctx, e.Payment()) }, payhook.WithReconciler(r))
	ok := true
	const id = "tx_1\r\nX-Injected: 1"
	kkAPI.Confirm(kkiapay.Event{TransactionID: id, Type: kkiapay.TransactionSuccess, PaymentSucceeded: &ok, Amount: payhook.MustAmount("1000")})
	require.NoError(t, r.Expect(ctx, expect.Expectation{Provider: kkiapay.Name, ID: id, Amount: "1000", Currency: "XOF"}))
	clock.Advance(payhook.DefaultFirstPoll)
	_, err = r.Pass(ctx)
	require.NoError(t, err)
	assert.Zero(t, c.total(), "never handed to the handler")
	x, err := store.Get(ctx, expect.Key{Provider: kkiapay.Name, ID: id})
	require.NoError(t, err)
	assert.NotEqual(t, expect.Settled, x.State)
}

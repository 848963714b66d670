package payhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/inbox"
)

// shopEvent is the event of shopProvider.
type shopEvent struct {
	ID        string `json:"id"`
	Amount    string `json:"amount"`
	Confirmed bool   `json:"confirmed,omitempty"`
}

// shopProvider is a provider whose "API" the test controls: it knows each
// payment's amount ("pending" for one not settled yet), or answers with an
// error; with no API set it confirms everything. Authenticated says whether
// Verify authenticates the sender (as a signature would); without, Verify
// confirms through the API itself, as KasperoPay does without a secret.
type shopProvider struct {
	authenticated bool

	mu    sync.Mutex
	api   map[string]string // payment id -> amount the API knows
	down  error             // when set, every API call fails with it
	calls int
}

func (*shopProvider) Name() string           { return "shop" }
func (*shopProvider) Key(e shopEvent) string { return e.ID }

func (p *shopProvider) Verify(ctx context.Context, h http.Header, body []byte) (shopEvent, error) {
	var e shopEvent
	if err := json.Unmarshal(body, &e); err != nil || e.ID == "" {
		return shopEvent{}, fmt.Errorf("shop: %w", payhook.ErrMalformed)
	}
	if p.authenticated {
		if h.Get("X-Signature") != "ok" {
			return shopEvent{}, fmt.Errorf("shop: %w", payhook.ErrInvalidSignature)
		}
		return e, nil
	}
	if err := p.Confirm(ctx, &e); err != nil {
		return e, err // with the event: the contract of Verify
	}
	return e, nil
}

func (p *shopProvider) Confirm(_ context.Context, e *shopEvent) error {
	if e.Confirmed {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.down != nil {
		return p.down
	}
	amount, ok := p.api[e.ID]
	switch {
	case p.api == nil: // no API set: every payment is confirmed
	case !ok:
		return fmt.Errorf("shop: %w: unknown payment", payhook.ErrInvalidSignature)
	case amount == "pending":
		return fmt.Errorf("shop: %w", payhook.ErrPending)
	case amount != e.Amount:
		return fmt.Errorf("shop: %w: amount %s, API says %s", payhook.ErrInvalidSignature, e.Amount, amount)
	}
	e.Confirmed = true
	return nil
}

func (p *shopProvider) set(id, amount string, down error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.api == nil {
		p.api = map[string]string{}
	}
	if id != "" {
		p.api[id] = amount
	}
	p.down = down
}

var errAPIDown = fmt.Errorf("shop: %w: API down", payhook.ErrUnavailable)

func shopPost(id, amount string) *http.Request {
	r := post(fmt.Sprintf(`{"id":%q,"amount":%q}`, id, amount))
	r.Header.Set("X-Signature", "ok")
	return r
}

// running runs ib until the test ends.
func running(t *testing.T, ib *inbox.Inbox) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ib.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
}

// newInbox returns a memory inbox that retries at once.
func newInbox(opts ...inbox.Option) *inbox.Inbox {
	ib, err := inbox.New(inbox.NewMemory(), append([]inbox.Option{inbox.WithBackoff(0, 0)}, opts...)...)
	if err != nil {
		panic(err)
	}
	return ib
}

// calls is a handler that fails the first fails calls, then sends each
// event it processes on done.
type calls struct {
	fromInbox bool // the handler runs from an inbox: ReceivedAt is set
	mu        sync.Mutex
	n         int
	fails     int
	panics    bool
	done      chan shopEvent
}

func newCalls(fails int) *calls {
	return &calls{fromInbox: true, fails: fails, done: make(chan shopEvent, 16)}
}

func (c *calls) handle(ctx context.Context, e shopEvent) error {
	c.mu.Lock()
	c.n++
	n := c.n
	c.mu.Unlock()
	if k, ok := payhook.KeyFrom(ctx); !ok || k != e.ID {
		return fmt.Errorf("KeyFrom = %q, %t", k, ok)
	}
	if got, ok := payhook.EventFrom[shopEvent](ctx); !ok || got != e {
		return fmt.Errorf("EventFrom = %+v, %t", got, ok)
	}
	if at, ok := payhook.ReceivedAt(ctx); c.fromInbox && (!ok || time.Since(at) > time.Minute) {
		return fmt.Errorf("ReceivedAt = %v, %t: want the delivery's time", at, ok)
	}
	if n <= c.fails {
		if c.panics {
			panic("handler bug")
		}
		return fmt.Errorf("app down (call %d)", n)
	}
	c.done <- e
	return nil
}

func (c *calls) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func wait[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatal("the inbox did not run the handler")
		panic("unreachable")
	}
}

func TestInboxAcknowledgesThenRetries(t *testing.T) {
	ib := newInbox()
	c := newCalls(2)
	h := payhook.Handle(&shopProvider{authenticated: true}, c.handle, payhook.WithInbox(ib))

	w := serve(h, shopPost("pay_1", "10"))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "accepted\n", w.Body.String())
	assert.Equal(t, 0, c.count(), "the handler runs from the inbox, not in the request")
	info, err := ib.Get(context.Background(), "shop:pay_1")
	require.NoError(t, err, "the entry is committed before the answer")
	assert.Equal(t, inbox.Pending, info.State)

	running(t, ib)
	assert.Equal(t, shopEvent{ID: "pay_1", Amount: "10", Confirmed: true}, wait(t, c.done))
	w = serve(h, shopPost("pay_1", "10"))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "already processed\n", w.Body.String(), "a duplicate of a kept event adds no entry")
	require.Eventually(t, func() bool {
		info, _ = ib.Get(context.Background(), "shop:pay_1")
		return info.State == inbox.Done
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, 3, info.Attempts)
	require.Len(t, info.Errors, 2)
	assert.Contains(t, info.Errors[0].Error, "app down (call 1)")
	assert.Contains(t, info.Errors[1].Error, "app down (call 2)")
}

func TestInboxPanicIsRetried(t *testing.T) {
	ib := newInbox()
	c := newCalls(1)
	c.panics = true
	h := payhook.Handle(&shopProvider{authenticated: true}, c.handle, payhook.WithInbox(ib))
	require.Equal(t, http.StatusOK, serve(h, shopPost("pay_1", "10")).Code)
	running(t, ib)
	wait(t, c.done)
	assert.Equal(t, 2, c.count())
}

func TestInboxDeadThenReplayed(t *testing.T) {
	ib := newInbox(inbox.WithMaxAttempts(3))
	c := newCalls(3)
	h := payhook.Handle(&shopProvider{authenticated: true}, c.handle, payhook.WithInbox(ib))
	require.Equal(t, http.StatusOK, serve(h, shopPost("pay_1", "10")).Code)
	running(t, ib)
	require.Eventually(t, func() bool {
		dead, err := ib.List(context.Background(), inbox.Filter{State: inbox.Dead})
		return err == nil && len(dead) == 1
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, 3, c.count(), "dead after its last attempt")

	ids, err := ib.ReplayDead(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"shop:pay_1"}, ids)
	wait(t, c.done)
	assert.Equal(t, 4, c.count())
}

func TestInboxConfirmsLater(t *testing.T) {
	p := &shopProvider{authenticated: true}
	p.set("pay_1", "pending", nil)
	ib := newInbox()
	c := newCalls(0)
	h := payhook.Handle(p, c.handle, payhook.WithInbox(ib))

	w := serve(h, shopPost("pay_1", "10"))
	assert.Equal(t, http.StatusOK, w.Code, "a pending payment is kept, not answered 503 and lost")
	info, err := ib.Get(context.Background(), "shop:pay_1")
	require.NoError(t, err)
	assert.True(t, info.Confirm, "the worker must confirm it")
	assert.False(t, info.Claim, "an authenticated sender holds the key at once")

	p.set("pay_1", "10", nil)
	running(t, ib)
	assert.Equal(t, shopEvent{ID: "pay_1", Amount: "10", Confirmed: true}, wait(t, c.done))
}

func TestInboxRefusalIsDeadAndNeverHandled(t *testing.T) {
	p := &shopProvider{authenticated: true}
	p.set("", "", errAPIDown)
	ib := newInbox()
	c := newCalls(0)
	h := payhook.Handle(p, c.handle, payhook.WithInbox(ib))
	require.Equal(t, http.StatusOK, serve(h, shopPost("pay_1", "99")).Code)

	p.set("pay_1", "10", nil) // the API is back, and knows another amount
	running(t, ib)
	require.Eventually(t, func() bool {
		info, err := ib.Get(context.Background(), "shop:pay_1")
		return err == nil && info.State == inbox.Dead
	}, 10*time.Second, time.Millisecond)
	info, _ := ib.Get(context.Background(), "shop:pay_1")
	assert.Equal(t, 1, info.Attempts, "a refusal is not retried")
	assert.Contains(t, info.LastError(), "refused")
	assert.Equal(t, 0, c.count())
}

// Without authentication, a forgery kept while the API was down must not
// hold the key of the genuine payment, which arrives once.
func TestInboxForgeryDoesNotShadowTheGenuineDelivery(t *testing.T) {
	p := &shopProvider{}
	p.set("", "", errAPIDown)
	store := idempotency.NewMemory()
	ib := newInbox()
	c := newCalls(0)
	h := payhook.Handle(p, c.handle, payhook.WithInbox(ib), payhook.WithStore(store))

	require.Equal(t, http.StatusOK, serve(h, shopPost("pay_1", "1")).Code, "forgery, while the API is down")
	require.Equal(t, http.StatusOK, serve(h, shopPost("pay_1", "10")).Code, "genuine, while the API is down")
	require.Equal(t, http.StatusOK, serve(h, shopPost("pay_1", "10")).Code, "the same body again")
	entries, err := ib.List(context.Background(), inbox.Filter{})
	require.NoError(t, err)
	require.Len(t, entries, 2, "one entry per distinct body")
	for _, e := range entries {
		assert.True(t, strings.HasPrefix(e.ID, "shop:pay_1#"), e.ID)
		assert.True(t, e.Confirm && e.Claim)
	}
	token := idempotency.NewToken()
	state, err := store.Claim(context.Background(), "shop:pay_1", token, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Acquired, state, "neither delivery holds the key")
	require.NoError(t, store.Release(context.Background(), "shop:pay_1", token))

	p.set("pay_1", "10", nil)
	running(t, ib)
	assert.Equal(t, shopEvent{ID: "pay_1", Amount: "10", Confirmed: true}, wait(t, c.done))
	require.Eventually(t, func() bool { // the forgery, refused: deleted, not kept dead (issue 17)
		all, err := ib.List(context.Background(), inbox.Filter{})
		return err == nil && len(all) == 1 && all[0].State == inbox.Done
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, 1, c.count(), "the forgery never reached the handler")

	w := serve(h, shopPost("pay_1", "10"))
	assert.Equal(t, "already processed\n", w.Body.String(), "the worker marked the key done")
}

func TestInboxUnavailableIs503AndReleases(t *testing.T) {
	b := &failingInbox{Memory: inbox.NewMemory(), err: errors.New("disk full")}
	ib, err := inbox.New(b, inbox.WithBackoff(0, 0))
	require.NoError(t, err)
	store := idempotency.NewMemory()
	c := newCalls(0)
	h := payhook.Handle(&shopProvider{authenticated: true}, c.handle, payhook.WithInbox(ib), payhook.WithStore(store))
	w := serve(h, shopPost("pay_1", "10"))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.NotContains(t, w.Body.String(), "disk full")

	b.err = nil
	assert.Equal(t, http.StatusOK, serve(h, shopPost("pay_1", "10")).Code, "the failed delivery released its key")
	running(t, ib)
	wait(t, c.done)
}

// failingInbox is a real memory backend whose Put fails while err is set.
type failingInbox struct {
	*inbox.Memory
	err error
}

func (f *failingInbox) Put(ctx context.Context, e inbox.Entry) (bool, error) {
	if f.err != nil {
		return false, f.err
	}
	return f.Memory.Put(ctx, e)
}

func TestMiddlewareRefusesAnInbox(t *testing.T) {
	assert.PanicsWithError(t,
		"payhook: invalid configuration: WithInbox is an option of Handle, not Middleware: the next handler cannot be run again from the inbox",
		func() { payhook.Middleware[shopEvent](&shopProvider{}, payhook.WithInbox(newInbox())) })
}

func TestOneHandlePerProviderPerInbox(t *testing.T) {
	ib := newInbox()
	payhook.Handle(&shopProvider{}, newCalls(0).handle, payhook.WithInbox(ib))
	assert.Panics(t, func() { payhook.Handle(&shopProvider{}, newCalls(0).handle, payhook.WithInbox(ib)) })
}

// completingInbox is a memory backend that completes the claim with the
// entry, as a backend sharing the store's database does in one
// transaction.
type completingInbox struct {
	*inbox.Memory
	calls int
}

func (c *completingInbox) PutComplete(ctx context.Context, e inbox.Entry, s idempotency.Store, key, token string, retention time.Duration) (bool, bool, error) {
	c.calls++
	added, err := c.Put(ctx, e)
	if err != nil {
		return false, true, err
	}
	return added, true, s.Complete(ctx, key, token, retention)
}

func TestInboxCompleterCompletesTheClaimOnce(t *testing.T) {
	var logs strings.Builder
	b := &completingInbox{Memory: inbox.NewMemory()}
	ib, err := inbox.New(b)
	require.NoError(t, err)
	h := payhook.Handle(&shopProvider{authenticated: true}, newCalls(0).handle, payhook.WithInbox(ib),
		payhook.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	assert.Equal(t, "accepted\n", serve(h, shopPost("pay_1", "10")).Body.String())
	assert.Equal(t, "already processed\n", serve(h, shopPost("pay_1", "10")).Body.String())
	assert.Equal(t, 1, b.calls)
	assert.NotContains(t, logs.String(), "not recorded as done", "the middleware did not complete the claim a second time")
}

// Without an inbox, a payment the API has not settled is 503 with a
// Retry-After, so that a provider that retries (KKiaPay) comes back.
func TestPendingIs503WithRetryAfter(t *testing.T) {
	p := &shopProvider{authenticated: true}
	p.set("pay_1", "pending", nil)
	c := newCalls(0)
	c.fromInbox = false
	w := serve(payhook.Handle(p, c.handle), shopPost("pay_1", "10"))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "30", w.Header().Get("Retry-After"))
	p.set("pay_1", "10", nil)
	assert.Equal(t, http.StatusOK, serve(payhook.Handle(p, c.handle), shopPost("pay_1", "10")).Code)
}

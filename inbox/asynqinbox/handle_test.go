package asynqinbox_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

const apiKey, apiSecret = "test_api_key", "test_api_secret"

var sender = kazawallettest.Sender{APIKey: apiKey, APISecret: apiSecret}

// order returns a paid Kazawallet event of an order no other test has.
func order() kazawallet.Event {
	return kazawallet.Event{OrderID: "ord_" + rand.Text(), Amount: payhook.MustAmount("10.00"),
		Type: kazawallet.Fulfilled, Currency: "USD", Ref: "user-42"}
}

func entryID(e kazawallet.Event) string { return "kazawallet:" + e.OrderID }

// quiet logs payhook's warnings and errors only.
var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

func newKazawallet(t testing.TB) *kazawallet.Provider {
	kw, err := kazawallet.New(apiKey, apiSecret)
	require.NoError(t, err)
	return kw
}

// app is the application's handler: it fails each order as often as told
// (-1: always), and counts the calls.
type app struct {
	mu    sync.Mutex
	fails map[string]int
	calls map[string]int
}

func newApp() *app { return &app{fails: map[string]int{}, calls: map[string]int{}} }

func (a *app) handle(ctx context.Context, e kazawallet.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if got, ok := kazawallet.EventFrom(ctx); !ok || got.OrderID != e.OrderID {
		return fmt.Errorf("EventFrom = %+v, %t", got, ok)
	}
	a.calls[e.OrderID]++
	if f := a.fails[e.OrderID]; f != 0 {
		a.fails[e.OrderID] = f - 1
		return errors.New("app down")
	}
	return nil
}

func (a *app) fail(e kazawallet.Event, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fails[e.OrderID] = n
}

func (a *app) count(e kazawallet.Event) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[e.OrderID]
}

// deliverOne sends e's webhook to h as Kazawallet does, and returns the
// answer.
func deliverOne(h http.Handler, e kazawallet.Event) deliver.Attempt {
	return deliver.Send(payhooktest.Handler(h), sender.Request("/webhooks/kazawallet", e), sender.Policy()).Last()
}

// TestThroughHandle runs the whole middleware on Redis: redisstore for the
// claims, this inbox for the events. A delivery is acknowledged once its
// entry is committed; a failing handler is retried; one that keeps failing
// is dead after its last attempt, and ReplayDead delivers it once the app
// is fixed.
func TestThroughHandle(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	ib, _ := newInbox(t, client, inbox.WithMaxAttempts(3))
	store := newStore(t, client, "test:"+rand.Text()+":")
	a := newApp()
	h := payhook.Handle(newKazawallet(t), a.handle, payhook.WithInbox(ib), payhook.WithStore(store), payhook.WithLogger(quiet))

	flaky, broken := order(), order()
	a.fail(flaky, 2)
	a.fail(broken, -1)
	for _, e := range []kazawallet.Event{flaky, broken} {
		res := deliverOne(h, e)
		require.True(t, res.OK(), "%v", res)
		assert.Equal(t, "accepted\n", res.Body)
		info, err := ib.Get(ctx, entryID(e))
		require.NoError(t, err, "the entry is committed before the answer")
		assert.Equal(t, inbox.Pending, info.State)
		assert.Equal(t, 0, a.count(e), "the handler runs from the inbox, not in the request")
	}
	res := deliverOne(h, flaky)
	assert.Equal(t, "already processed\n", res.Body, "a second delivery adds no entry: %v", res)

	running(t, ib)
	info := eventually(t, ib, entryID(flaky), inbox.Done)
	assert.Equal(t, 3, info.Attempts)
	require.Len(t, info.Errors, 2)
	assert.Equal(t, "app down", info.LastError())
	assert.Equal(t, 3, a.count(flaky))

	info = eventually(t, ib, entryID(broken), inbox.Dead)
	assert.Equal(t, 3, info.Attempts, "dead after its last attempt")
	assert.Len(t, info.Errors, 3)
	assert.Equal(t, 3, a.count(broken))

	a.fail(broken, 0)
	ids, err := ib.ReplayDead(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{entryID(broken)}, ids)
	info = eventually(t, ib, entryID(broken), inbox.Done)
	assert.Equal(t, 4, info.Attempts)
	assert.Equal(t, 4, a.count(broken))
	assert.Equal(t, 3, a.count(flaky), "processed once, after its retries")
}

package riverinbox_test

import (
	"context"
	"crypto/rand"

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
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/riverinbox"
	"github.com/payhook/payhook/providers/kazawallet"
)

const apiKey, apiSecret = "test_api_key", "test_api_secret"

// webhook is the body of a signed Kazawallet delivery of order id.
func webhook(id string) string {
	return `{"order_id":"` + id + `","amount":"10.00","status":"fulfilled","currency":"USD","ref":"r1","secret":"` +
		kazawallet.Sign(apiKey, apiSecret, "10.00", id) + `"}`
}

// deliver posts order id's webhook to h and returns the answer.
func deliver(h http.Handler, id string) (int, string) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/webhooks/kazawallet", strings.NewReader(webhook(id))))
	return w.Code, w.Body.String()
}

// running runs ib until the returned stop is called; stop waits for Run
// to return, so that River has recorded every attempt that ended.
func running(t testing.TB, ib *inbox.Inbox) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ib.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			assert.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

// shop is the application's handler: it fails the first fails[id] calls of
// an order (every call while broken[id]), and reports each call.
type shop struct {
	mu     sync.Mutex
	fails  map[string]int
	broken map[string]bool
	calls  map[string]int
	called chan string
}

func newShop() *shop {
	return &shop{fails: map[string]int{}, broken: map[string]bool{}, calls: map[string]int{}, called: make(chan string, 100)}
}

func (s *shop) handle(ctx context.Context, e kazawallet.Event) error {
	defer func() { s.called <- e.OrderID }()
	if key, _ := payhook.KeyFrom(ctx); key != e.OrderID {
		return fmt.Errorf("KeyFrom %q, want the order %q", key, e.OrderID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[e.OrderID]++
	if s.broken[e.OrderID] || s.calls[e.OrderID] <= s.fails[e.OrderID] {
		return fmt.Errorf("app down (call %d)", s.calls[e.OrderID])
	}
	return nil
}

// await waits for the calls want counts, order by order.
func (s *shop) await(t *testing.T, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	deadline := time.After(time.Minute)
	for !equalCounts(got, want) {
		select {
		case id := <-s.called:
			got[id]++
		case <-deadline:
			t.Fatalf("calls %v, want %v", got, want)
		}
	}
}

func equalCounts(got, want map[string]int) bool {
	for k, n := range want {
		if got[k] < n {
			return false
		}
	}
	return true
}

// TestThroughHandle: payhook.Handle with the River inbox and pgstore on the
// same database acknowledges each delivery once its entry is committed and
// its key done; the func runs from the inbox, with retries; an entry that
// fails every attempt is dead, and ReplayDead delivers it once the app is
// fixed.
func TestThroughHandle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, store, _, _ := withStore(t)
	ib, err := inbox.New(b, inbox.WithMaxAttempts(3), inbox.WithBackoff(0, 0))
	require.NoError(t, err)
	kw, err := kazawallet.New(apiKey, apiSecret)
	require.NoError(t, err)
	app := newShop()
	h := payhook.Handle(kw, app.handle, payhook.WithInbox(ib), payhook.WithStore(store))

	suffix := rand.Text()
	ok, flaky, broken := "ord_ok_"+suffix, "ord_flaky_"+suffix, "ord_broken_"+suffix
	app.fails[flaky] = 2
	app.broken[broken] = true
	for _, id := range []string{ok, flaky, broken} {
		code, answer := deliver(h, id)
		require.Equal(t, http.StatusOK, code, answer)
		assert.Equal(t, "accepted\n", answer)
		// Committed with its key done, before the func has run.
		info, err := ib.Get(ctx, "kazawallet:"+id)
		require.NoError(t, err)
		assert.Equal(t, inbox.Pending, info.State)
		state, err := store.Claim(ctx, "kazawallet:"+id, idempotency.NewToken(), time.Minute)
		require.NoError(t, err)
		assert.Equal(t, idempotency.Done, state, "the key of %s", id)
	}
	code, answer := deliver(h, ok)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "already processed\n", answer, "a second delivery adds nothing")

	stop := running(t, ib)
	app.await(t, map[string]int{ok: 1, flaky: 3, broken: 3})
	stop()

	expect := func(id string, state inbox.State, attempts, errs int) inbox.Info {
		t.Helper()
		info, err := ib.Get(ctx, "kazawallet:"+id)
		require.NoError(t, err)
		assert.Equal(t, state, info.State, id)
		assert.Equal(t, attempts, info.Attempts, id)
		assert.Len(t, info.Errors, errs, id)
		return info
	}
	expect(ok, inbox.Done, 1, 0)
	info := expect(flaky, inbox.Done, 3, 2)
	assert.Equal(t, "app down (call 2)", info.LastError())
	info = expect(broken, inbox.Dead, 3, 3)
	assert.Equal(t, "app down (call 3)", info.LastError())
	dead, err := ib.List(ctx, inbox.Filter{State: inbox.Dead})
	require.NoError(t, err)
	require.Len(t, dead, 1)
	assert.Equal(t, "kazawallet:"+broken, dead[0].ID)

	// The app is fixed; the operator replays the dead entries.
	app.mu.Lock()
	app.broken[broken] = false
	app.mu.Unlock()
	replayed, err := ib.ReplayDead(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"kazawallet:" + broken}, replayed)
	stop = running(t, ib)
	app.await(t, map[string]int{broken: 1})
	stop()
	expect(broken, inbox.Done, 4, 3)
	assert.Equal(t, map[string]int{ok: 1, flaky: 3, broken: 4}, app.calls)
}

// TestRunnersShareEntries: two runners, each with its own pool and River
// client, as two replicas would, run every entry once between them.
func TestRunnersShareEntries(t *testing.T) {
	t.Parallel()
	const n = 400
	ctx := context.Background()
	b1, schema := migrated(t)
	b2 := newBackend(t, newPool(t), schema)
	var (
		mu   sync.Mutex
		runs = map[string]int{}
		all  = make(chan struct{})
	)
	handler := func(ctx context.Context, a inbox.Attempt) error {
		mu.Lock()
		defer mu.Unlock()
		runs[a.ID]++
		if len(runs) == n && runs[a.ID] == 1 {
			close(all)
		}
		return nil
	}
	var stops []func()
	for _, b := range []*riverinbox.Backend{b1, b2} {
		ib, err := inbox.New(b, inbox.WithWorkers(4))
		require.NoError(t, err)
		ib.Handle("test", handler)
		for i := range n / 2 {
			_, err := ib.Put(ctx, inbox.Entry{ID: fmt.Sprintf("test:%p-%d", b, i), Provider: "test", Key: "k", Event: []byte(`{}`)})
			require.NoError(t, err)
		}
		stops = append(stops, running(t, ib))
	}
	select {
	case <-all:
	case <-time.After(2 * time.Minute):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%d of %d entries run", len(runs), n)
	}
	for _, stop := range stops {
		stop()
	}
	for id, k := range runs {
		assert.Equal(t, 1, k, "runs of %s", id)
	}
	stats, err := b1.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, []inbox.Stat{{Provider: "test", State: inbox.Done, N: n}}, stats)
}

package payhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

// TestReopenAfterCrash: without an inbox, a crash after a webhook settled
// its expectation and before its handler succeeded leaves the expectation
// settled by that payment and its key not done. The provider's retry finds
// it settled by its own payment; when that retry's handler fails too, the
// expectation is reopened all the same, so that a poll or a later retry
// settles it again. A duplicate that arrives once the key is done (the
// payment credited) never reopens it.
func TestReopenAfterCrash(t *testing.T) {
	ctx := context.Background()
	store := expect.NewMemory()
	kazawalletExpect(t, store, "order_1", "10.00")
	k := expect.Key{Provider: kazawallet.Name, Ref: "order_1"}
	// The crashed delivery: settled, never handled, its key never completed.
	_, err := store.Settle(ctx, k, expect.Settlement{PaymentID: "ord_A", Outcome: expect.OutcomePaid, At: time.Now()})
	require.NoError(t, err)

	kw, err := kazawallet.New("key", "secret")
	require.NoError(t, err)
	var fail atomic.Bool
	var credited atomic.Int32
	h := payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		if fail.Load() {
			return errors.New("database down")
		}
		_, ok := payhook.ExpectationFrom(ctx)
		require.True(t, ok)
		credited.Add(1)
		return nil
	}, payhook.WithExpectations(store))
	send := kazawallettest.Sender{APIKey: "key", APISecret: "secret"}
	deliver := func() int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, send.Request("/", kazawallet.Event{OrderID: "ord_A", Ref: "order_1", Type: kazawallet.Fulfilled,
			Amount: payhook.MustAmount("10.00"), Currency: "USD"}))
		return w.Code
	}
	state := func() expect.State {
		x, err := store.Get(ctx, k)
		require.NoError(t, err)
		return x.State
	}

	fail.Store(true)
	assert.NotEqual(t, http.StatusOK, deliver())
	assert.Equal(t, expect.Pending, state(), "the retry's handler failed: the expectation must be reopened")

	fail.Store(false)
	assert.Equal(t, http.StatusOK, deliver())
	assert.Equal(t, expect.Settled, state())
	assert.EqualValues(t, 1, credited.Load())

	fail.Store(true)
	assert.Equal(t, http.StatusOK, deliver(), "a duplicate of a processed event")
	assert.Equal(t, expect.Settled, state(), "a duplicate of a credited payment never reopens its expectation")
	assert.EqualValues(t, 1, credited.Load())
}

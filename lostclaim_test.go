package payhook_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
)

// lostAnswer is a real store whose answer to the next claim is lost, as a
// timeout or a dropped connection loses it: the claim is applied, and the
// caller gets an error.
type lostAnswer struct {
	idempotency.Store
	lose atomic.Bool
}

var errLost = errors.New("i/o timeout")

func (s *lostAnswer) Claim(ctx context.Context, key, token string, lease time.Duration) (idempotency.State, error) {
	state, err := s.Store.Claim(ctx, key, token, lease)
	if err == nil && s.lose.CompareAndSwap(true, false) {
		return 0, errLost
	}
	return state, err
}

// TestClaimWithLostAnswer: a claim the store applied but whose answer was
// lost is released, so the provider's next retry (KKiaPay retries within
// seconds, five times) is processed. Before, the key stayed held by nobody
// for the whole lease, every retry was answered 409 and the event was never
// processed.
func TestClaimWithLostAnswer(t *testing.T) {
	store := idempotency.NewMemory()
	lossy := &lostAnswer{Store: store}
	lossy.lose.Store(true)
	rec := &recorder{}
	h := payhook.Middleware(provider(t), payhook.WithStore(lossy), payhook.WithLease(time.Hour))(rec)
	body := webhook("ord_1", "10", "fulfilled")

	w := serve(h, post(body))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code, "the store's state is unknown")
	assert.Zero(t, rec.calls())

	w = serve(h, post(body)) // the provider's next retry
	require.Equal(t, http.StatusOK, w.Code, "the retry is processed, not refused for the lease: %s", w.Body)
	assert.Equal(t, 1, rec.calls())
	w = serve(h, post(body))
	assert.Equal(t, "already processed\n", w.Body.String())
	assert.Equal(t, 1, rec.calls())
}

// TestClaimWithLostAnswerOfCanceledRequest: the client went away while the
// claim was on its way, and the claim was applied. The release does not use
// the request's canceled context.
func TestClaimWithLostAnswerOfCanceledRequest(t *testing.T) {
	store := idempotency.NewMemory()
	ctx, cancel := context.WithCancel(context.Background())
	canceling := &cancelAfterClaim{Store: store, cancel: cancel}
	rec := &recorder{}
	h := payhook.Middleware(provider(t), payhook.WithStore(canceling), payhook.WithLease(time.Hour))(rec)
	body := webhook("ord_1", "10", "fulfilled")

	assert.Equal(t, http.StatusServiceUnavailable, serve(h, post(body).WithContext(ctx)).Code)
	state, err := store.Claim(context.Background(), "kazawallet:ord_1", idempotency.NewToken(), time.Minute)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Acquired, state, "the applied claim was released")
	assert.Zero(t, rec.calls())
}

// cancelAfterClaim applies a claim, then cancels the request and answers
// with the context's error, as a store does when the request ends during
// the round trip.
type cancelAfterClaim struct {
	idempotency.Store
	cancel context.CancelFunc
}

func (s *cancelAfterClaim) Claim(ctx context.Context, key, token string, lease time.Duration) (idempotency.State, error) {
	if _, err := s.Store.Claim(ctx, key, token, lease); err != nil {
		return 0, err
	}
	s.cancel()
	return 0, ctx.Err()
}

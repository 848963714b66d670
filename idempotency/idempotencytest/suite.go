// Package idempotencytest checks an [idempotency.Store] against the contract
// written on that interface, in the spirit of testing/fstest and
// testing/slogtest. Every store in this repository runs it, and so should a
// store of your own:
//
//	func TestConformance(t *testing.T) {
//		idempotencytest.Run(t, func(t *testing.T) idempotencytest.Harness {
//			return idempotencytest.Harness{Store: mystore.New(client)}
//		})
//	}
package idempotencytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/idempotency"
)

// Harness is one store under test.
type Harness struct {
	// Store is the store under test. Run uses keys unique to each run, so
	// the store need not be empty and may be shared between harnesses.
	Store idempotency.Store
	// Advance, if set, moves the store's clock forward by d, so that leases
	// and retention end without waiting. When nil (a server's clock), Run
	// waits in real time, with leases of RealTimeLease.
	Advance func(d time.Duration)
}

// RealTimeLease is the lease and retention Run uses for its expiry tests
// when a Harness has no Advance: long enough for a round trip to a loaded
// server, short enough to keep the suite quick.
const RealTimeLease = 250 * time.Millisecond

// long is a lease that no test outlives.
const long = time.Hour

// Run tests the stores that newHarness makes against the Store contract.
// Each subtest calls newHarness once and runs in parallel with the others.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	run := func(name string, f func(t *testing.T, h *harness)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := &harness{Harness: newHarness(t), prefix: randomPrefix(t)}
			require.NotNil(t, h.Store, "Harness.Store")
			f(t, h)
		})
	}

	run("ClaimAbsentKey", func(t *testing.T, h *harness) {
		assert.Equal(t, idempotency.Acquired, h.claim(t, "a", idempotency.NewToken(), long))
	})

	run("ClaimHeldKeyIsInFlight", func(t *testing.T, h *harness) {
		first := idempotency.NewToken()
		require.Equal(t, idempotency.Acquired, h.claim(t, "a", first, long))
		assert.Equal(t, idempotency.InFlight, h.claim(t, "a", idempotency.NewToken(), long))
		// The refused claim changed nothing: the first owner still completes.
		assert.NoError(t, h.Store.Complete(ctx(t), h.key("a"), first, long))
	})

	run("ClaimAgainWithOwnToken", func(t *testing.T, h *harness) {
		// A claim sent again (its answer was lost) is its own: acquired,
		// and the key is still the caller's alone.
		own, other := idempotency.NewToken(), idempotency.NewToken()
		require.Equal(t, idempotency.Acquired, h.claim(t, "a", own, long))
		assert.Equal(t, idempotency.Acquired, h.claim(t, "a", own, long), "the same token again")
		assert.Equal(t, idempotency.InFlight, h.claim(t, "a", other, long), "another token")
		assert.ErrorIs(t, h.Store.Complete(ctx(t), h.key("a"), other, long), idempotency.ErrNotOwner)
		require.NoError(t, h.Store.Complete(ctx(t), h.key("a"), own, long))
		assert.Equal(t, idempotency.Done, h.claim(t, "a", own, long), "done, for its owner too")
		assert.Equal(t, idempotency.Done, h.claim(t, "a", other, long))
		assert.ErrorIs(t, h.Store.Complete(ctx(t), h.key("a"), own, long), idempotency.ErrNotOwner, "a done claim is not held again")

		// The same once released: the key is absent, and the token a new claim.
		require.Equal(t, idempotency.Acquired, h.claim(t, "b", own, long))
		require.NoError(t, h.Store.Release(ctx(t), h.key("b"), own))
		assert.Equal(t, idempotency.Acquired, h.claim(t, "b", own, long))
		assert.NoError(t, h.Store.Release(ctx(t), h.key("b"), own))
	})

	run("ClaimAgainRenewsLease", func(t *testing.T, h *harness) {
		// A short lease, renewed by the same token for a long one before it
		// ends, outlives its first end. (Should the short lease end before the
		// renewal reaches the store, the renewal is a fresh claim with the same
		// outcome.)
		lease, own := h.shortLease(), idempotency.NewToken()
		require.Equal(t, idempotency.Acquired, h.claim(t, "a", own, lease))
		require.Equal(t, idempotency.Acquired, h.claim(t, "a", own, long))
		h.elapse(lease)
		assert.Equal(t, idempotency.InFlight, h.claim(t, "a", idempotency.NewToken(), long), "held past the first lease")
		assert.NoError(t, h.Store.Complete(ctx(t), h.key("a"), own, long), "the owner still completes")

		// A renewal sets the lease from now, shorter too.
		require.Equal(t, idempotency.Acquired, h.claim(t, "b", own, long))
		require.Equal(t, idempotency.Acquired, h.claim(t, "b", own, lease))
		h.elapse(lease)
		h.eventuallyAcquire(t, "b", idempotency.NewToken())
		assert.ErrorIs(t, h.Store.Release(ctx(t), h.key("b"), own), idempotency.ErrNotOwner)
	})

	run("EmptyTokenIsRefused", func(t *testing.T, h *harness) {
		state, err := h.Store.Claim(ctx(t), h.key("a"), "", long)
		assert.Error(t, err, "claim with an empty token")
		assert.NotEqual(t, idempotency.Acquired, state)
		assert.Equal(t, idempotency.Acquired, h.claim(t, "a", idempotency.NewToken(), long), "nothing was taken")
	})

	run("ConcurrentClaimsOneWinner", func(t *testing.T, h *harness) {
		const claimers = 64
		for round := range 5 {
			key := h.key("race" + string(rune('a'+round)))
			var (
				wg     sync.WaitGroup
				start  = make(chan struct{})
				states = make([]idempotency.State, claimers)
				errs   = make([]error, claimers)
			)
			for i := range claimers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					states[i], errs[i] = h.Store.Claim(context.Background(), key, idempotency.NewToken(), long)
				}()
			}
			close(start)
			wg.Wait()
			won := 0
			for i := range claimers {
				require.NoError(t, errs[i])
				switch states[i] {
				case idempotency.Acquired:
					won++
				case idempotency.InFlight:
				default:
					t.Errorf("claimer %d: state %v, want acquired or in flight", i, states[i])
				}
			}
			assert.Equal(t, 1, won, "round %d: exactly one concurrent claim wins", round)
		}
	})

	run("CompleteMakesDone", func(t *testing.T, h *harness) {
		own := idempotency.NewToken()
		h.claim(t, "a", own, long)
		require.NoError(t, h.Store.Complete(ctx(t), h.key("a"), own, long))
		assert.Equal(t, idempotency.Done, h.claim(t, "a", idempotency.NewToken(), long))
	})

	run("ReleaseMakesClaimable", func(t *testing.T, h *harness) {
		first, second := idempotency.NewToken(), idempotency.NewToken()
		h.claim(t, "a", first, long)
		require.NoError(t, h.Store.Release(ctx(t), h.key("a"), first))
		assert.Equal(t, idempotency.Acquired, h.claim(t, "a", second, long))
		// The released token no longer owns the key.
		assert.ErrorIs(t, h.Store.Complete(ctx(t), h.key("a"), first, long), idempotency.ErrNotOwner)
		assert.Equal(t, idempotency.InFlight, h.claim(t, "a", first, long), "nor claims it back")
		assert.NoError(t, h.Store.Complete(ctx(t), h.key("a"), second, long))
	})

	run("OnlyTheOwnerFinishes", func(t *testing.T, h *harness) {
		own := idempotency.NewToken()
		h.claim(t, "a", own, long)
		key := h.key("a")
		for _, bad := range []string{"", "not-" + own, strings.ToLower(own), own[:len(own)-1]} {
			assert.ErrorIs(t, h.Store.Complete(ctx(t), key, bad, long), idempotency.ErrNotOwner, "complete with %q", bad)
			assert.ErrorIs(t, h.Store.Release(ctx(t), key, bad), idempotency.ErrNotOwner, "release with %q", bad)
		}
		assert.Equal(t, idempotency.InFlight, h.claim(t, "a", idempotency.NewToken(), long), "failed attempts change nothing")
		// A token owns only the key it was given for.
		other := idempotency.NewToken()
		h.claim(t, "b", other, long)
		assert.ErrorIs(t, h.Store.Complete(ctx(t), key, other, long), idempotency.ErrNotOwner)
		assert.ErrorIs(t, h.Store.Release(ctx(t), key, other), idempotency.ErrNotOwner)

		require.NoError(t, h.Store.Complete(ctx(t), key, own, long))
		assert.ErrorIs(t, h.Store.Complete(ctx(t), key, own, long), idempotency.ErrNotOwner, "complete twice")
		assert.ErrorIs(t, h.Store.Release(ctx(t), key, own), idempotency.ErrNotOwner, "release after complete")
		assert.Equal(t, idempotency.Done, h.claim(t, "a", idempotency.NewToken(), long), "still done")
	})

	run("FinishAbsentKey", func(t *testing.T, h *harness) {
		assert.ErrorIs(t, h.Store.Complete(ctx(t), h.key("never"), "token", long), idempotency.ErrNotOwner)
		assert.ErrorIs(t, h.Store.Release(ctx(t), h.key("never"), "token"), idempotency.ErrNotOwner)
		assert.Equal(t, idempotency.Acquired, h.claim(t, "never", idempotency.NewToken(), long), "nothing was recorded")
	})

	run("ExpiredLeaseIsTakenOver", func(t *testing.T, h *harness) {
		lease, crashed := h.shortLease(), idempotency.NewToken()
		require.Equal(t, idempotency.Acquired, h.claim(t, "a", crashed, lease))
		assert.Equal(t, idempotency.InFlight, h.claim(t, "a", idempotency.NewToken(), long), "held within the lease")

		h.elapse(lease)
		taker := h.eventuallyAcquire(t, "a", idempotency.NewToken())

		// The crashed owner comes back late: it can neither complete nor
		// release the new owner's claim, nor claim it back.
		assert.ErrorIs(t, h.Store.Complete(ctx(t), h.key("a"), crashed, long), idempotency.ErrNotOwner)
		assert.ErrorIs(t, h.Store.Release(ctx(t), h.key("a"), crashed), idempotency.ErrNotOwner)
		assert.Equal(t, idempotency.InFlight, h.claim(t, "a", crashed, long))
		require.NoError(t, h.Store.Complete(ctx(t), h.key("a"), taker, long))
		assert.Equal(t, idempotency.Done, h.claim(t, "a", crashed, long))
	})

	run("ExpiredLeaseCannotFinish", func(t *testing.T, h *harness) {
		lease, c, d := h.shortLease(), idempotency.NewToken(), idempotency.NewToken()
		h.claim(t, "a", c, lease)
		h.claim(t, "b", d, lease)
		h.elapse(2 * lease)
		assert.ErrorIs(t, h.Store.Complete(ctx(t), h.key("a"), c, long), idempotency.ErrNotOwner)
		assert.ErrorIs(t, h.Store.Release(ctx(t), h.key("b"), d), idempotency.ErrNotOwner)
		assert.Equal(t, idempotency.Acquired, h.claim(t, "a", idempotency.NewToken(), long), "the late completion did not mark it done")
		assert.Equal(t, idempotency.Acquired, h.claim(t, "b", idempotency.NewToken(), long))
	})

	run("RetentionEnds", func(t *testing.T, h *harness) {
		retention, own := h.shortLease(), idempotency.NewToken()
		h.claim(t, "a", own, long)
		require.NoError(t, h.Store.Complete(ctx(t), h.key("a"), own, retention))
		assert.Equal(t, idempotency.Done, h.claim(t, "a", own, long), "done within retention")
		h.elapse(retention)
		h.eventuallyAcquire(t, "a", idempotency.NewToken())
	})

	run("RetentionOutlivesLease", func(t *testing.T, h *harness) {
		lease, own := h.shortLease(), idempotency.NewToken()
		h.claim(t, "a", own, lease)
		require.NoError(t, h.Store.Complete(ctx(t), h.key("a"), own, long))
		h.elapse(2 * lease)
		assert.Equal(t, idempotency.Done, h.claim(t, "a", idempotency.NewToken(), long), "done is kept for retention, not lease")
	})

	run("KeysAreIndependent", func(t *testing.T, h *harness) {
		keys := []string{"a", "A", "a:b", "a b", "ключ", "with'quote\"and\\slash", "%s{}[]*?", strings.Repeat("long", 64)}
		own := idempotency.NewToken() // one token may hold many keys
		for _, k := range keys {
			require.Equal(t, idempotency.Acquired, h.claim(t, k, own, long), "key %q", k)
			require.NoError(t, h.Store.Complete(ctx(t), h.key(k), own, long))
		}
		for _, k := range keys {
			assert.Equal(t, idempotency.Done, h.claim(t, k, own, long), "key %q", k)
		}
		assert.Equal(t, idempotency.Acquired, h.claim(t, "a2", own, long))
	})

	run("CanceledContextTakesNothing", func(t *testing.T, h *harness) {
		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		state, err := h.Store.Claim(canceled, h.key("a"), idempotency.NewToken(), long)
		assert.Error(t, err, "claim with a canceled context")
		assert.NotEqual(t, idempotency.Acquired, state)
		assert.Equal(t, idempotency.Acquired, h.claim(t, "a", idempotency.NewToken(), long))
	})
}

type harness struct {
	Harness
	prefix string
}

func (h *harness) key(k string) string { return h.prefix + k }

func (h *harness) claim(t *testing.T, k, token string, lease time.Duration) idempotency.State {
	t.Helper()
	state, err := h.Store.Claim(ctx(t), h.key(k), token, lease)
	require.NoError(t, err)
	return state
}

func (h *harness) shortLease() time.Duration {
	if h.Advance != nil {
		return time.Minute
	}
	return RealTimeLease
}

// elapse lets d pass on the store's clock.
func (h *harness) elapse(d time.Duration) {
	if h.Advance != nil {
		h.Advance(d + time.Millisecond)
		return
	}
	time.Sleep(d + 10*time.Millisecond)
}

// eventuallyAcquire claims k for token until it is acquired, allowing a
// server's expiry a little slack, and returns token.
func (h *harness) eventuallyAcquire(t *testing.T, k, token string) string {
	t.Helper()
	require.Eventually(t, func() bool {
		return h.claim(t, k, token, long) == idempotency.Acquired
	}, 5*time.Second, 10*time.Millisecond, "key %q is claimable again", k)
	return token
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func randomPrefix(t *testing.T) string {
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "idempotencytest:" + hex.EncodeToString(b) + ":" + t.Name() + ":"
}

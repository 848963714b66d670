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
		c := h.claim(t, "a", long)
		assert.Equal(t, idempotency.Acquired, c.State)
		assert.NotEmpty(t, c.Token, "an acquired claim has a token")
	})

	run("ClaimHeldKeyIsInFlight", func(t *testing.T, h *harness) {
		first := h.claim(t, "a", long)
		require.Equal(t, idempotency.Acquired, first.State)
		second := h.claim(t, "a", long)
		assert.Equal(t, idempotency.InFlight, second.State)
		assert.Empty(t, second.Token, "only an acquired claim has a token")
		// The refused claim changed nothing: the first owner still completes.
		assert.NoError(t, h.Store.Complete(ctx(t), h.key("a"), first.Token, long))
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
					c, err := h.Store.Claim(context.Background(), key, long)
					states[i], errs[i] = c.State, err
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
		c := h.claim(t, "a", long)
		require.NoError(t, h.Store.Complete(ctx(t), h.key("a"), c.Token, long))
		again := h.claim(t, "a", long)
		assert.Equal(t, idempotency.Done, again.State)
		assert.Empty(t, again.Token)
	})

	run("ReleaseMakesClaimable", func(t *testing.T, h *harness) {
		c := h.claim(t, "a", long)
		require.NoError(t, h.Store.Release(ctx(t), h.key("a"), c.Token))
		again := h.claim(t, "a", long)
		assert.Equal(t, idempotency.Acquired, again.State)
		assert.NotEqual(t, c.Token, again.Token, "a new claim has a new token")
		// The released token no longer owns the key.
		assert.ErrorIs(t, h.Store.Complete(ctx(t), h.key("a"), c.Token, long), idempotency.ErrNotOwner)
		assert.NoError(t, h.Store.Complete(ctx(t), h.key("a"), again.Token, long))
	})

	run("TokensAreUnique", func(t *testing.T, h *harness) {
		seen := map[string]bool{}
		for i := range 50 {
			k := string(rune('a' + i%26))
			if i >= 26 {
				k += "2"
			}
			c := h.claim(t, k, long)
			require.Equal(t, idempotency.Acquired, c.State)
			assert.False(t, seen[c.Token], "token %q given twice", c.Token)
			seen[c.Token] = true
			if i%2 == 0 { // released keys are claimed again with a fresh token
				require.NoError(t, h.Store.Release(ctx(t), h.key(k), c.Token))
				c = h.claim(t, k, long)
				assert.False(t, seen[c.Token], "token %q given twice", c.Token)
				seen[c.Token] = true
			}
		}
	})

	run("OnlyTheOwnerFinishes", func(t *testing.T, h *harness) {
		c := h.claim(t, "a", long)
		key := h.key("a")
		for _, bad := range []string{"", "not-" + c.Token, strings.ToUpper(c.Token) + "x"} {
			assert.ErrorIs(t, h.Store.Complete(ctx(t), key, bad, long), idempotency.ErrNotOwner, "complete with %q", bad)
			assert.ErrorIs(t, h.Store.Release(ctx(t), key, bad), idempotency.ErrNotOwner, "release with %q", bad)
		}
		assert.Equal(t, idempotency.InFlight, h.claim(t, "a", long).State, "failed attempts change nothing")
		// A token owns only the key it was given for.
		other := h.claim(t, "b", long)
		assert.ErrorIs(t, h.Store.Complete(ctx(t), key, other.Token, long), idempotency.ErrNotOwner)
		assert.ErrorIs(t, h.Store.Release(ctx(t), key, other.Token), idempotency.ErrNotOwner)

		require.NoError(t, h.Store.Complete(ctx(t), key, c.Token, long))
		assert.ErrorIs(t, h.Store.Complete(ctx(t), key, c.Token, long), idempotency.ErrNotOwner, "complete twice")
		assert.ErrorIs(t, h.Store.Release(ctx(t), key, c.Token), idempotency.ErrNotOwner, "release after complete")
		assert.Equal(t, idempotency.Done, h.claim(t, "a", long).State, "still done")
	})

	run("FinishAbsentKey", func(t *testing.T, h *harness) {
		assert.ErrorIs(t, h.Store.Complete(ctx(t), h.key("never"), "token", long), idempotency.ErrNotOwner)
		assert.ErrorIs(t, h.Store.Release(ctx(t), h.key("never"), "token"), idempotency.ErrNotOwner)
		assert.Equal(t, idempotency.Acquired, h.claim(t, "never", long).State, "nothing was recorded")
	})

	run("ExpiredLeaseIsTakenOver", func(t *testing.T, h *harness) {
		lease := h.shortLease()
		crashed := h.claim(t, "a", lease)
		require.Equal(t, idempotency.Acquired, crashed.State)
		assert.Equal(t, idempotency.InFlight, h.claim(t, "a", long).State, "held within the lease")

		h.elapse(lease)
		taker := h.eventuallyAcquire(t, "a")
		assert.NotEqual(t, crashed.Token, taker.Token)

		// The crashed owner comes back late: it can neither complete nor
		// release the new owner's claim.
		assert.ErrorIs(t, h.Store.Complete(ctx(t), h.key("a"), crashed.Token, long), idempotency.ErrNotOwner)
		assert.ErrorIs(t, h.Store.Release(ctx(t), h.key("a"), crashed.Token), idempotency.ErrNotOwner)
		assert.Equal(t, idempotency.InFlight, h.claim(t, "a", long).State)
		require.NoError(t, h.Store.Complete(ctx(t), h.key("a"), taker.Token, long))
		assert.Equal(t, idempotency.Done, h.claim(t, "a", long).State)
	})

	run("ExpiredLeaseCannotFinish", func(t *testing.T, h *harness) {
		lease := h.shortLease()
		c := h.claim(t, "a", lease)
		d := h.claim(t, "b", lease)
		h.elapse(2 * lease)
		assert.ErrorIs(t, h.Store.Complete(ctx(t), h.key("a"), c.Token, long), idempotency.ErrNotOwner)
		assert.ErrorIs(t, h.Store.Release(ctx(t), h.key("b"), d.Token), idempotency.ErrNotOwner)
		assert.Equal(t, idempotency.Acquired, h.claim(t, "a", long).State, "the late completion did not mark it done")
		assert.Equal(t, idempotency.Acquired, h.claim(t, "b", long).State)
	})

	run("RetentionEnds", func(t *testing.T, h *harness) {
		retention := h.shortLease()
		c := h.claim(t, "a", long)
		require.NoError(t, h.Store.Complete(ctx(t), h.key("a"), c.Token, retention))
		assert.Equal(t, idempotency.Done, h.claim(t, "a", long).State, "done within retention")
		h.elapse(retention)
		again := h.eventuallyAcquire(t, "a")
		assert.NotEqual(t, c.Token, again.Token)
	})

	run("RetentionOutlivesLease", func(t *testing.T, h *harness) {
		lease := h.shortLease()
		c := h.claim(t, "a", lease)
		require.NoError(t, h.Store.Complete(ctx(t), h.key("a"), c.Token, long))
		h.elapse(2 * lease)
		assert.Equal(t, idempotency.Done, h.claim(t, "a", long).State, "done is kept for retention, not lease")
	})

	run("KeysAreIndependent", func(t *testing.T, h *harness) {
		keys := []string{"a", "A", "a:b", "a b", "ключ", "with'quote\"and\\slash", "%s{}[]*?", strings.Repeat("long", 64)}
		for _, k := range keys {
			c := h.claim(t, k, long)
			require.Equal(t, idempotency.Acquired, c.State, "key %q", k)
			require.NoError(t, h.Store.Complete(ctx(t), h.key(k), c.Token, long))
		}
		for _, k := range keys {
			assert.Equal(t, idempotency.Done, h.claim(t, k, long).State, "key %q", k)
		}
		assert.Equal(t, idempotency.Acquired, h.claim(t, "a2", long).State)
	})

	run("CanceledContextTakesNothing", func(t *testing.T, h *harness) {
		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		c, err := h.Store.Claim(canceled, h.key("a"), long)
		assert.Error(t, err, "claim with a canceled context")
		assert.NotEqual(t, idempotency.Acquired, c.State)
		assert.Equal(t, idempotency.Acquired, h.claim(t, "a", long).State)
	})
}

type harness struct {
	Harness
	prefix string
}

func (h *harness) key(k string) string { return h.prefix + k }

func (h *harness) claim(t *testing.T, k string, lease time.Duration) idempotency.Claim {
	t.Helper()
	c, err := h.Store.Claim(ctx(t), h.key(k), lease)
	require.NoError(t, err)
	return c
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

// eventuallyAcquire claims k until it is acquired, allowing a server's
// expiry a little slack.
func (h *harness) eventuallyAcquire(t *testing.T, k string) idempotency.Claim {
	t.Helper()
	var c idempotency.Claim
	require.Eventually(t, func() bool {
		c = h.claim(t, k, long)
		return c.State == idempotency.Acquired
	}, 5*time.Second, 10*time.Millisecond, "key %q is claimable again", k)
	return c
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

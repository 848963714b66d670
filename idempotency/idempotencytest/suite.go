// Package idempotencytest checks an [idempotency.Store] against the contract
// written on that interface, in the manner of testing/slogtest: [Test]
// returns the failures as one error, usable from any test framework, and
// [Run] runs each case as a subtest. Every store in this repository runs
// it, and so should a store of your own:
//
//	func TestConformance(t *testing.T) {
//		idempotencytest.Run(t, func(t *testing.T) idempotencytest.Harness {
//			return idempotencytest.Harness{Store: mystore.New(client)}
//		})
//	}
//
// It imports nothing beyond the standard library and package idempotency.
package idempotencytest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payhook/payhook/idempotency"
)

// Harness is one store under test.
type Harness struct {
	// Store is the store under test. The cases use keys unique to each
	// case, so the store need not be empty and may be shared between
	// harnesses.
	Store idempotency.Store
	// Advance, if set, moves the store's clock forward by d, so that leases
	// and retention end without waiting. When nil (a server's clock), the
	// cases wait in real time, with leases of RealTimeLease.
	Advance func(d time.Duration)
}

// RealTimeLease is the lease and retention the cases use for their expiry
// checks when a Harness has no Advance: long enough for a round trip to a
// loaded server, short enough to keep the suite quick.
const RealTimeLease = 250 * time.Millisecond

// long is a lease that no case outlives.
const long = time.Hour

type tcase struct {
	name string
	run  func(h *harness) error
}

var cases = []tcase{
	{"ClaimAbsentKey", claimAbsentKey},
	{"ClaimHeldKeyIsInFlight", claimHeldKeyIsInFlight},
	{"ClaimAgainWithOwnToken", claimAgainWithOwnToken},
	{"ClaimAgainRenewsLease", claimAgainRenewsLease},
	{"EmptyTokenIsRefused", emptyTokenIsRefused},
	{"ConcurrentClaimsOneWinner", concurrentClaimsOneWinner},
	{"CompleteMakesDone", completeMakesDone},
	{"ReleaseMakesClaimable", releaseMakesClaimable},
	{"OnlyTheOwnerFinishes", onlyTheOwnerFinishes},
	{"FinishAbsentKey", finishAbsentKey},
	{"ExpiredLeaseIsTakenOver", expiredLeaseIsTakenOver},
	{"ExpiredLeaseCannotFinish", expiredLeaseCannotFinish},
	{"RetentionEnds", retentionEnds},
	{"RetentionOutlivesLease", retentionOutlivesLease},
	{"KeysAreIndependent", keysAreIndependent},
	{"CanceledContextTakesNothing", canceledContextTakesNothing},
}

// Run runs every case as a parallel subtest, each with a harness of its
// own from newHarness.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h, err := newHarnessOf(newHarness(t))
			if err == nil {
				err = c.run(h)
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
}

// Test runs every case in turn, each with a harness of its own from
// newHarness, and returns their failures joined; nil when the store meets
// the contract.
func Test(newHarness func() (Harness, error)) error {
	var errs []error
	for _, c := range cases {
		hv, err := newHarness()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: harness: %w", c.name, err))
			continue
		}
		h, err := newHarnessOf(hv)
		if err == nil {
			err = c.run(h)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

func claimAbsentKey(h *harness) error {
	h.want("a", idempotency.NewToken(), long, idempotency.Acquired, "")
	return h.err
}

func claimHeldKeyIsInFlight(h *harness) error {
	first := idempotency.NewToken()
	h.want("a", first, long, idempotency.Acquired, "")
	h.want("a", idempotency.NewToken(), long, idempotency.InFlight, "another token, while the key is held")
	h.complete("a", first, long, nil, "the refused claim changed nothing: the owner still completes")
	return h.err
}

// claimAgainWithOwnToken: a claim sent again (its answer was lost) is its
// own: acquired, and the key is still the caller's alone.
func claimAgainWithOwnToken(h *harness) error {
	own, other := idempotency.NewToken(), idempotency.NewToken()
	h.want("a", own, long, idempotency.Acquired, "")
	h.want("a", own, long, idempotency.Acquired, "the same token again")
	h.want("a", other, long, idempotency.InFlight, "another token")
	h.complete("a", other, long, idempotency.ErrNotOwner, "another token")
	h.complete("a", own, long, nil, "the owner, after claiming twice")
	h.want("a", own, long, idempotency.Done, "done, for its owner too")
	h.want("a", other, long, idempotency.Done, "done, whatever the token")
	h.complete("a", own, long, idempotency.ErrNotOwner, "a done key is not held again")

	// Once released, the key is absent, and the same token a new claim.
	h.want("b", own, long, idempotency.Acquired, "")
	h.release("b", own, nil, "")
	h.want("b", own, long, idempotency.Acquired, "the same token after its release")
	h.release("b", own, nil, "")
	return h.err
}

// claimAgainRenewsLease: a short lease, renewed by the same token for a
// long one before it ends, outlives its first end. (Should the short lease
// end before the renewal reaches the store, the renewal is a fresh claim,
// with the same outcome.) A renewal sets the lease from now, shorter too.
func claimAgainRenewsLease(h *harness) error {
	lease, own := h.shortLease(), idempotency.NewToken()
	h.want("a", own, lease, idempotency.Acquired, "")
	h.want("a", own, long, idempotency.Acquired, "the renewal")
	h.elapse(lease)
	h.want("a", idempotency.NewToken(), long, idempotency.InFlight, "held past the first lease's end")
	h.complete("a", own, long, nil, "the owner, past its first lease's end")

	h.want("b", own, long, idempotency.Acquired, "")
	h.want("b", own, lease, idempotency.Acquired, "a renewal for a shorter lease")
	h.elapse(lease)
	h.eventuallyAcquire("b", idempotency.NewToken())
	h.release("b", own, idempotency.ErrNotOwner, "the owner, once the shortened lease ended")
	return h.err
}

func emptyTokenIsRefused(h *harness) error {
	ctx, cancel := callContext()
	defer cancel()
	state, err := h.Store.Claim(ctx, h.key("a"), "", long)
	switch {
	case err == nil:
		return fmt.Errorf(`Claim(%q, "") = %v, nil; want an error`, "a", state)
	case state == idempotency.Acquired:
		return fmt.Errorf(`Claim(%q, "") = Acquired with an error %v`, "a", err)
	}
	h.want("a", idempotency.NewToken(), long, idempotency.Acquired, "the claim with an empty token took nothing")
	h.complete("x", "", long, idempotency.ErrNotOwner, "an empty token")
	h.release("x", "", idempotency.ErrNotOwner, "an empty token")
	return h.err
}

func concurrentClaimsOneWinner(h *harness) error {
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
				ctx, cancel := callContext()
				defer cancel()
				states[i], errs[i] = h.Store.Claim(ctx, key, idempotency.NewToken(), long)
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for i := range claimers {
			switch {
			case errs[i] != nil:
				return fmt.Errorf("round %d: claimer %d: %w", round, i, errs[i])
			case states[i] == idempotency.Acquired:
				won++
			case states[i] != idempotency.InFlight:
				return fmt.Errorf("round %d: claimer %d: %v, want acquired or in flight", round, i, states[i])
			}
		}
		if won != 1 {
			return fmt.Errorf("round %d: %d of %d concurrent claims acquired the key, want exactly 1", round, won, claimers)
		}
	}
	return nil
}

func completeMakesDone(h *harness) error {
	own := idempotency.NewToken()
	h.want("a", own, long, idempotency.Acquired, "")
	h.complete("a", own, long, nil, "")
	h.want("a", idempotency.NewToken(), long, idempotency.Done, "")
	return h.err
}

func releaseMakesClaimable(h *harness) error {
	first, second := idempotency.NewToken(), idempotency.NewToken()
	h.want("a", first, long, idempotency.Acquired, "")
	h.release("a", first, nil, "")
	h.want("a", second, long, idempotency.Acquired, "after the release")
	h.complete("a", first, long, idempotency.ErrNotOwner, "the released token")
	h.want("a", first, long, idempotency.InFlight, "the released token does not claim the key back")
	h.complete("a", second, long, nil, "")
	return h.err
}

func onlyTheOwnerFinishes(h *harness) error {
	own := idempotency.NewToken()
	h.want("a", own, long, idempotency.Acquired, "")
	for _, bad := range []string{"", "not-" + own, strings.ToLower(own), own[:len(own)-1]} {
		h.complete("a", bad, long, idempotency.ErrNotOwner, "")
		h.release("a", bad, idempotency.ErrNotOwner, "")
	}
	h.want("a", idempotency.NewToken(), long, idempotency.InFlight, "the failed attempts changed nothing")

	// A token owns only the key it was given for.
	other := idempotency.NewToken()
	h.want("b", other, long, idempotency.Acquired, "")
	h.complete("a", other, long, idempotency.ErrNotOwner, "the token of another key")
	h.release("a", other, idempotency.ErrNotOwner, "the token of another key")

	h.complete("a", own, long, nil, "")
	h.complete("a", own, long, idempotency.ErrNotOwner, "complete twice")
	h.release("a", own, idempotency.ErrNotOwner, "release after complete")
	h.want("a", idempotency.NewToken(), long, idempotency.Done, "still done")
	return h.err
}

func finishAbsentKey(h *harness) error {
	h.complete("never", "token", long, idempotency.ErrNotOwner, "")
	h.release("never", "token", idempotency.ErrNotOwner, "")
	h.want("never", idempotency.NewToken(), long, idempotency.Acquired, "nothing was recorded")
	return h.err
}

func expiredLeaseIsTakenOver(h *harness) error {
	lease, crashed := h.shortLease(), idempotency.NewToken()
	h.want("a", crashed, lease, idempotency.Acquired, "")
	h.want("a", idempotency.NewToken(), long, idempotency.InFlight, "held within the lease")
	h.elapse(lease)
	taker := idempotency.NewToken()
	h.eventuallyAcquire("a", taker)

	// The crashed owner comes back late: it can neither complete nor
	// release the new owner's claim, nor claim it back.
	h.complete("a", crashed, long, idempotency.ErrNotOwner, "the owner whose lease ended")
	h.release("a", crashed, idempotency.ErrNotOwner, "the owner whose lease ended")
	h.want("a", crashed, long, idempotency.InFlight, "the owner whose lease ended")
	h.complete("a", taker, long, nil, "the new owner")
	h.want("a", crashed, long, idempotency.Done, "")
	return h.err
}

func expiredLeaseCannotFinish(h *harness) error {
	lease, c, d := h.shortLease(), idempotency.NewToken(), idempotency.NewToken()
	h.want("a", c, lease, idempotency.Acquired, "")
	h.want("b", d, lease, idempotency.Acquired, "")
	h.elapse(2 * lease)
	h.complete("a", c, long, idempotency.ErrNotOwner, "after the lease ended")
	h.release("b", d, idempotency.ErrNotOwner, "after the lease ended")
	h.want("a", idempotency.NewToken(), long, idempotency.Acquired, "the late completion did not mark it done")
	h.want("b", idempotency.NewToken(), long, idempotency.Acquired, "")
	return h.err
}

func retentionEnds(h *harness) error {
	retention, own := h.shortLease(), idempotency.NewToken()
	h.want("a", own, long, idempotency.Acquired, "")
	h.complete("a", own, retention, nil, "")
	h.want("a", own, long, idempotency.Done, "within the retention")
	h.elapse(retention)
	h.eventuallyAcquire("a", idempotency.NewToken())
	return h.err
}

func retentionOutlivesLease(h *harness) error {
	lease, own := h.shortLease(), idempotency.NewToken()
	h.want("a", own, lease, idempotency.Acquired, "")
	h.complete("a", own, long, nil, "")
	h.elapse(2 * lease)
	h.want("a", idempotency.NewToken(), long, idempotency.Done, "done is kept for the retention, not the lease")
	return h.err
}

func keysAreIndependent(h *harness) error {
	keys := []string{"a", "A", "a:b", "a b", "ключ", `with'quote"and\slash`, "%s{}[]*?", strings.Repeat("long", 64)}
	own := idempotency.NewToken() // one token may hold many keys
	for _, k := range keys {
		h.want(k, own, long, idempotency.Acquired, "")
		h.complete(k, own, long, nil, "")
	}
	for _, k := range keys {
		h.want(k, own, long, idempotency.Done, "")
	}
	h.want("a2", own, long, idempotency.Acquired, "")
	return h.err
}

func canceledContextTakesNothing(h *harness) error {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	state, err := h.Store.Claim(canceled, h.key("a"), idempotency.NewToken(), long)
	switch {
	case err == nil:
		return fmt.Errorf("Claim(%q) with a canceled context = %v, nil; want an error", "a", state)
	case state == idempotency.Acquired:
		return fmt.Errorf("Claim(%q) with a canceled context = Acquired with an error %v", "a", err)
	}
	h.want("a", idempotency.NewToken(), long, idempotency.Acquired, "the canceled claim took nothing")
	return h.err
}

// harness runs one case's calls. The first failure sticks: later calls do
// nothing, and the case returns it.
type harness struct {
	Harness
	prefix string
	err    error
}

func newHarnessOf(h Harness) (*harness, error) {
	if h.Store == nil {
		return nil, errors.New("Harness.Store is nil")
	}
	return &harness{Harness: h, prefix: "idempotencytest:" + rand.Text() + ":"}, nil
}

func (h *harness) key(k string) string { return h.prefix + k }

func (h *harness) failf(format string, args ...any) {
	if h.err == nil {
		h.err = fmt.Errorf(format, args...)
	}
}

// because is ": why", or nothing.
func because(why string) string {
	if why == "" {
		return ""
	}
	return ": " + why
}

// want claims k for token and checks the state.
func (h *harness) want(k, token string, lease time.Duration, want idempotency.State, why string) {
	if h.err != nil {
		return
	}
	ctx, cancel := callContext()
	defer cancel()
	state, err := h.Store.Claim(ctx, h.key(k), token, lease)
	switch {
	case err != nil:
		h.failf("Claim(%q, %s): %w%s", k, token, err, because(why))
	case state != want:
		h.failf("Claim(%q, %s) = %v, want %v%s", k, token, state, want, because(why))
	}
}

// complete completes k with token and checks the error: nil or wantErr.
func (h *harness) complete(k, token string, retention time.Duration, wantErr error, why string) {
	if h.err != nil {
		return
	}
	ctx, cancel := callContext()
	defer cancel()
	h.check("Complete", k, token, h.Store.Complete(ctx, h.key(k), token, retention), wantErr, why)
}

// release releases k with token and checks the error: nil or wantErr.
func (h *harness) release(k, token string, wantErr error, why string) {
	if h.err != nil {
		return
	}
	ctx, cancel := callContext()
	defer cancel()
	h.check("Release", k, token, h.Store.Release(ctx, h.key(k), token), wantErr, why)
}

func (h *harness) check(call, k, token string, err, wantErr error, why string) {
	switch {
	case wantErr == nil && err != nil:
		h.failf("%s(%q, %q) = %v, want nil%s", call, k, token, err, because(why))
	case wantErr != nil && !errors.Is(err, wantErr):
		h.failf("%s(%q, %q) = %v, want %v%s", call, k, token, err, wantErr, because(why))
	}
}

func (h *harness) shortLease() time.Duration {
	if h.Advance != nil {
		return time.Minute
	}
	return RealTimeLease
}

// elapse lets d pass on the store's clock: moved by Advance, or waited for
// in real time when the clock is a server's.
func (h *harness) elapse(d time.Duration) {
	if h.err != nil {
		return
	}
	if h.Advance != nil {
		h.Advance(d + time.Millisecond)
		return
	}
	time.Sleep(d + 10*time.Millisecond)
}

// eventuallyAcquire claims k for token until it is acquired, allowing a
// server's expiry a little slack: polling with a deadline, since the
// expiry is another process's.
func (h *harness) eventuallyAcquire(k, token string) {
	if h.err != nil {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := callContext()
		state, err := h.Store.Claim(ctx, h.key(k), token, long)
		cancel()
		switch {
		case err != nil:
			h.failf("Claim(%q, %s): %w", k, token, err)
			return
		case state == idempotency.Acquired:
			return
		case time.Now().After(deadline):
			h.failf("Claim(%q, %s) = %v 5s after the lease or retention ended, want %v", k, token, state, idempotency.Acquired)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// callContext bounds one call of the store.
func callContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

package payhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/internal/optcheck"
)

var (
	// ErrUnexpected means a paid payment matches no expectation
	// ([WithExpectations]): none has its id, nor its reference. payhook
	// does not decide this for you: such a payment reaches the handler
	// without an expectation ([ExpectationFrom] reports false), so that a
	// receiver that expects only some payments (or none, as payhook serve
	// printing every event) still gets the others. A handler that needs
	// the expectation returns ErrUnexpected (wrapped or not): the
	// expectation may not be added yet (the page that got a KKiaPay
	// transaction id from the widget races its webhook), so the delivery
	// is answered 503 with Retry-After, and an inbox retries it, until its
	// last attempt: then it is dead, kept for an operator.
	ErrUnexpected = errors.New("payhook: payment not expected")
	// ErrMismatch means a payment contradicts its expectation: a paid
	// amount or currency other than expected, an expectation already
	// settled by another payment, a payment id that already settled another
	// expectation, an expectation cancelled, or a reference that names an
	// expectation of another payment id. It is never credited: the handler
	// never sees it. With an inbox its entry is dead at once, kept for an
	// operator (payhook inbox list --state dead); without, the delivery is
	// answered 500 and logged at error level with both sides. Status 500.
	ErrMismatch = errors.New("payhook: payment does not match its expectation")
)

// unexpectedRetryAfter is the Retry-After of ErrUnexpected, in seconds:
// the time an application takes to add the expectation it was racing.
const unexpectedRetryAfter = "5"

// expectationKey is the context key of the expectation a payment settled.
type expectationKey struct{}

// ExpectationFrom returns the expectation that the event being handled
// matched and settled ([WithExpectations]), and whether there was one. It
// is the one way to find the order a payment pays, for every provider:
// the order is the one the application named when it added the
// expectation (its Ref, or its ID), and the payment's amount and currency
// are the expected ones, checked before the handler is called.
func ExpectationFrom(ctx context.Context) (expect.Expectation, bool) {
	x, ok := ctx.Value(expectationKey{}).(*expect.Expectation)
	if !ok || x == nil {
		return expect.Expectation{}, false
	}
	return *x, true
}

// WithExpectations checks each payment against the application's
// expectations in store before the handler sees it (see package expect),
// and settles the expectation it matches:
//
//   - the expectation is the one whose ID is the payment's id, or, when
//     none is, the one whose Ref is the payment's reference (Kazawallet's
//     ref, KKiaPay's partnerId, KasperoPay's order_id) and that names no
//     other payment id;
//   - a paid amount and currency must be the expected ones, compared as
//     numbers and without regard to case; each expectation is settled
//     once, and each payment id settles at most one expectation, so a
//     captured webhook replayed with another reference credits nothing.
//     A payment that fails any of this is [ErrMismatch]: never credited,
//     kept for an operator;
//   - a payment that matches no expectation reaches the handler without
//     one; a handler that needs it returns [ErrUnexpected], retried (the
//     expectation may be on its way).
//
// The handler finds the matched expectation with [ExpectationFrom]. The
// event must give a [Payment] (every provider's does): WithExpectations
// on another event type, or with a nil store, is refused ([ErrConfig]).
// Without an inbox, an expectation settled by the payment of a delivery
// whose handler fails is reopened, so that a retry or a poll settles it
// again: whether this delivery settled it or an earlier one that crashed
// before its handler succeeded (the delivery holds the event's key, not
// done, so no handler credited the payment). When no delivery comes again
// (the process died between the two), a [Reconciler] given with
// [WithReconciler] reopens it once the key's claim has expired (see
// [Reconciler.Pass]).
func WithExpectations(store expect.Store) Option {
	return func(c *config) {
		if store == nil {
			c.refused.Add("WithExpectations(nil)")
			return
		}
		c.expect = store
	}
}

// WithReconciler registers [Handle]'s provider with r, the second door:
// when the provider is a [Poller] (KKiaPay with its API keys, KasperoPay),
// r polls its status API for the expectations no webhook has settled and
// hands each payment it finds to this Handle's pipeline, as if its webhook
// had come: same key, store, inbox, observer and handler, so the door that
// comes second finds the payment already processed. It implies
// WithExpectations(r.Store()) unless another store is given. A provider
// that is not a Poller (Kazawallet) gets the expectations only: r reports
// them overdue. One Handle per provider per Reconciler; an option of
// Handle only (Middleware's next handler cannot be called from a poll).
func WithReconciler(r *Reconciler) Option {
	return func(c *config) { optcheck.NotNil(&c.refused, "WithReconciler", r, &c.reconciler) }
}

// expectations completes the engine's configuration of expectations: the
// reconciler's store when none is given, and the check that E gives a
// Payment.
func (e *engine[E]) expectations() error {
	if e.reconciler != nil && e.expect == nil {
		e.expect = e.reconciler.store
	}
	if e.expect == nil {
		return nil
	}
	var zero E
	if _, ok := any(zero).(Payer); !ok {
		return fmt.Errorf("%w: WithExpectations: %T has no Payment method", ErrConfig, zero)
	}
	return nil
}

// register makes the reconciler poll p's expectations through this
// engine, when p is a Poller, and sweep the expectations this engine
// settled (see sweep), when it settles them in the reconciler's store.
func (e *engine[E]) register() {
	if e.reconciler == nil {
		return
	}
	if poller, ok := e.p.(Poller[E]); ok {
		e.poller = poller
		e.reconciler.register(e.name, e.poll)
	}
	if sameStore(e.expect, e.reconciler.store) {
		if _, ok := e.store.(*idempotency.Memory); ok {
			// A memory store forgets every key when the process ends: only
			// what this process settled can be told apart.
			e.memSince = e.now()
		}
		e.reconciler.registerSweep(e.name, e.lease, e.sweep)
	}
}

// sameStore reports whether a and b are the same store; false when their
// type cannot be compared.
func sameStore(a, b expect.Store) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// sweep checks x, settled by a payment of this engine's provider at least
// a lease ago and not confirmed since, against the idempotency store: the
// payment's key done means a handler credited it (or the inbox holds it),
// and x is confirmed; the key held by a delivery means it is in flight,
// and x is left for a later pass; the key free means the delivery that
// settled x ended without its handler succeeding (the process died between
// the two, with no inbox, and no redelivery came), and x is reopened, so
// that a poll brings the payment again or the deadline reports it overdue.
// The sweep holds the key while it reopens x, so that no delivery of the
// payment runs meanwhile. An expectation settled before what the
// idempotency store can still tell (its retention, or, for a memory
// store, this process's start) is confirmed, logged at error level: its
// key may be forgotten, and reopening it could credit it twice.
func (e *engine[E]) sweep(ctx context.Context, x expect.Expectation, now time.Time) (sweepResult, error) {
	k := x.Key()
	storeKey, token := e.prefix+x.PaymentID, idempotency.NewToken()
	state, err := e.store.Claim(ctx, storeKey, token, e.lease)
	switch {
	case err != nil:
		return "", e.unclaim(ctx, claim{storeKey: storeKey, token: token}, err)
	case state == idempotency.Done:
		return sweptDone, e.confirmSettled(ctx, k, x.PaymentID)
	case state == idempotency.InFlight:
		return sweptInFlight, nil
	case state != idempotency.Acquired:
		return "", fmt.Errorf("%w: idempotency store answered %v", ErrUnavailable, state)
	}
	cutoff := now.Add(-e.retention)
	if e.memSince.After(cutoff) {
		cutoff = e.memSince
	}
	if x.SettledAt.Before(cutoff) {
		e.release(ctx, storeKey, token)
		e.log(ctx, slog.LevelError, "payhook: expectation settled too long ago for the idempotency store to tell whether its payment was credited; check it with the provider",
			slog.String("expectation", k.String()), slog.String("payment", x.PaymentID), slog.Time("settled_at", x.SettledAt))
		return sweptUnknown, e.confirmSettled(ctx, k, x.PaymentID)
	}
	err = e.expect.Reopen(ctx, k, x.PaymentID)
	if errors.Is(err, expect.ErrState) || errors.Is(err, expect.ErrNotFound) {
		err = nil // reopened, or forgotten, meanwhile
	}
	rerr := e.release(ctx, storeKey, token)
	if err != nil {
		return "", errors.Join(fmt.Errorf("%w: expectations: %w", ErrUnavailable, err), rerr)
	}
	e.log(ctx, slog.LevelWarn, "payhook: expectation settled by a delivery whose handler never succeeded; reopened",
		slog.String("expectation", k.String()), slog.String("payment", x.PaymentID), slog.Any("release_error", rerr))
	return sweptReopened, nil
}

// release gives back the sweep's claim of storeKey.
func (e *engine[E]) release(ctx context.Context, storeKey, token string) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	return e.store.Release(rctx, storeKey, token)
}

// confirmSettled confirms the expectation k finds, settled by paymentID.
func (e *engine[E]) confirmSettled(ctx context.Context, k expect.Key, paymentID string) error {
	err := e.expect.Confirm(ctx, k, paymentID)
	if err != nil && !errors.Is(err, expect.ErrState) && !errors.Is(err, expect.ErrNotFound) {
		return fmt.Errorf("%w: expectations: %w", ErrUnavailable, err)
	}
	return nil
}

// expected checks d's payment against its expectation and settles it, and
// records the expectation in d for the handler ([ExpectationFrom]).
func (e *engine[E]) expected(d *delivery[E]) error {
	if e.expect == nil {
		return nil
	}
	pay := any(d.event).(Payer).Payment()
	x, err := e.findExpectation(d, pay)
	switch {
	case errors.Is(err, expect.ErrNotFound):
		return nil // not expected: the handler decides (ErrUnexpected to wait for it)
	case err != nil:
		return err
	case pay.Outcome == "":
		d.x = &x // not final: the handler sees it, the expectation stays pending
		return nil
	}
	if pay.Paid() && !amountMatches(x, pay) {
		return fmt.Errorf("%w: %s payment %q paid %s %s, expected %s %s for %s", ErrMismatch,
			e.name, pay.ID, pay.Amount, pay.Currency, x.Amount, x.Currency, x.Key())
	}
	k := x.Key()
	x, err = e.expect.Settle(d, k, expect.Settlement{PaymentID: pay.ID, Outcome: string(pay.Outcome), At: e.now()})
	switch {
	case errors.Is(err, expect.ErrSettled), errors.Is(err, expect.ErrConflict), errors.Is(err, expect.ErrState):
		return fmt.Errorf("%w: %s payment %q for %s: %w", ErrMismatch, e.name, pay.ID, k, err)
	case err != nil:
		return fmt.Errorf("%w: expectations: %w", ErrUnavailable, err)
	}
	// Settled by this payment, now or by an earlier delivery that crashed
	// before its handler succeeded: this delivery holds the event's claim,
	// so the key is not done and no handler has credited the payment. A
	// failed handler reopens it either way; a duplicate of a credited
	// payment finds its key done and never gets here.
	d.x, d.reopen = &x, true
	return nil
}

// findExpectation returns the expectation of pay: by its id, else by its
// reference when that expectation names no other payment id.
func (e *engine[E]) findExpectation(ctx context.Context, pay Payment) (expect.Expectation, error) {
	x, err := e.expect.Get(ctx, expect.Key{Provider: e.name, ID: pay.ID})
	if errors.Is(err, expect.ErrNotFound) && pay.Ref != "" {
		x, err = e.expect.Get(ctx, expect.Key{Provider: e.name, Ref: pay.Ref})
		if err == nil && x.ID != "" && x.ID != pay.ID {
			return x, fmt.Errorf("%w: %s payment %q names the reference %q of the expectation of payment %q",
				ErrMismatch, e.name, pay.ID, pay.Ref, x.ID)
		}
	}
	if err != nil && !errors.Is(err, expect.ErrNotFound) {
		return x, fmt.Errorf("%w: expectations: %w", ErrUnavailable, err)
	}
	return x, err
}

// amountMatches reports whether a paid amount and currency are x's.
func amountMatches(x expect.Expectation, pay Payment) bool {
	want, err := ParseAmount(x.Amount)
	return err == nil && !pay.Amount.IsZero() && pay.Amount.Equal(want) && strings.EqualFold(pay.Currency, x.Currency)
}

// reopen gives back the expectation that d's payment settled, when its
// handler failed without an inbox to retry it: a retry of the webhook, or
// a poll, settles it again.
func (e *engine[E]) reopen(d *delivery[E]) {
	if !d.reopen || d.x == nil {
		return
	}
	ctx := &d.detached
	if err := e.expect.Reopen(ctx, d.x.Key(), d.x.PaymentID); err != nil {
		e.log(ctx, slog.LevelError, "payhook: expectation settled but its handler failed, and it could not be reopened",
			slog.String("key", d.key), slog.Any("error", err))
	}
}

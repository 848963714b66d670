package payhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/internal/optcheck"
)

// WithInbox makes [Handle] keep every verified, new event in ib before it
// answers, and run its func from ib rather than in the request. A delivery
// is then acknowledged 200 as soon as its event is committed to the inbox,
// and the func runs afterwards, retried with backoff until it returns nil
// (see package inbox for the attempts, dead entries and replays). So a
// one-shot webhook (Kazawallet, KasperoPay) is never lost to a failing or
// panicking handler, a crash or a restart: turn it on for them.
//
// With an inbox:
//
//   - a delivery whose event is already in the inbox, or already processed,
//     is answered 200 without a new entry;
//   - a delivery that the provider's API cannot confirm yet (pending
//     payment, API down) is kept too, and confirmed by the worker before
//     the func runs; one that the API refuses when the worker asks is dead,
//     and the func never sees it. When nothing but that API authenticates
//     the sender (KasperoPay without a webhook secret), such a delivery is
//     kept apart from the event's authenticated deliveries and does not
//     hold its key, so that a forgery cannot shadow the genuine webhook;
//     when the provider is a [Poller], every such delivery of one payment
//     is one entry that keeps the payment id only, whose event the worker
//     rebuilds from the API's answer, and that is removed, not dead, when
//     the API refuses it;
//   - when the inbox cannot be written, the delivery is answered 503 and
//     the key released, as when the store is down.
//
// Handle registers its func on ib for its provider: one Handle per
// provider per inbox, and the inbox must be running ([inbox.Inbox.Run]).
// The func's ctx carries the event's key ([KeyFrom]) and the event
// ([EventFrom]). Events travel through the inbox as JSON, so E must
// survive json.Marshal and json.Unmarshal; every provider's does.
//
// WithInbox is an option of Handle only: Middleware's next handler is an
// http.Handler bound to its request, which cannot be run again later, so
// Middleware panics when given it. A nil inbox is refused ([ErrConfig]).
func WithInbox(ib *inbox.Inbox) Option {
	return func(c *config) { optcheck.NotNil(&c.refused, "WithInbox", ib, &c.inbox) }
}

// deferredID is the inbox ID of a delivery kept before anything
// authenticated its sender: apart from every other delivery of the same
// key, unless it is the same body.
func deferredID(name, key string, body []byte) string {
	sum := sha256.Sum256(body)
	return name + ":" + key + "#" + hex.EncodeToString(sum[:8])
}

// keepUnclaimed keeps a delivery that nothing authenticated, and whose
// payment the provider's API could not settle yet (why), for a worker to
// confirm and then claim: apart from the event's other deliveries, so that
// a forgery cannot shadow the genuine webhook.
//
// When the provider is a [Poller] (KasperoPay), the entry keeps only what
// the API can confirm, the payment id, under one ID per payment: every
// forged copy of one payment is that one entry, whatever its body, and the
// worker rebuilds the event from the API's answer.
func (e *engine[E]) keepUnclaimed(w http.ResponseWriter, r *http.Request, t *timings, event E, key string, body []byte, why error) result {
	entry := inbox.Entry{ID: deferredID(e.name, key, body), Key: key, Confirm: true, Claim: true}
	if _, ok := e.p.(Poller[E]); ok {
		var zero E
		entry.ID, event = e.name+":"+key+unverifiedSuffix, zero
	}
	res, _ := e.enqueue(w, r, t, event, entry, why, nil)
	return res
}

// unverifiedSuffix ends the ID of the one entry that the unauthenticated
// deliveries of a payment share, apart from the entry of an authenticated
// one ("kasperopay:pay_1#unverified").
const unverifiedSuffix = "#unverified"

// polledEvent rebuilds the event of a collapsed unauthenticated entry
// from the provider's API. A payment the API does not confirm as paid is
// refused for good, and the entry dropped: nothing of it was the
// sender's to keep.
func (e *engine[E]) polledEvent(ctx context.Context, poller Poller[E], a inbox.Attempt) (E, error) {
	event, err := poller.Poll(ctx, a.Key)
	switch {
	case err != nil && settlesLater(err):
		return event, unsettledToTheEnd(a, err)
	case err == nil && e.p.Key(event) != a.Key:
		err = fmt.Errorf("%w: the API answered for payment %q", ErrInvalidSignature, e.p.Key(event))
	case err == nil && !paid(event):
		err = fmt.Errorf("%w: the API does not say the payment is paid", ErrInvalidSignature)
	}
	if err != nil {
		return event, inbox.Drop(fmt.Errorf("payhook: unauthenticated delivery refused by the provider's API: %w", err))
	}
	return event, nil
}

// paid reports whether event is a paid payment, when it gives a Payment.
func paid[E any](event E) bool {
	p, ok := any(event).(Payer)
	return !ok || p.Payment().Paid()
}

// keep keeps the event of a delivery holding the claim c for the worker to
// run the func, and to confirm it first when later, the error that
// deferred its confirmation, is not nil.
func (e *engine[E]) keep(w http.ResponseWriter, r *http.Request, t *timings, d *delivery[E], c *claim, later error) result {
	entry := inbox.Entry{ID: e.name + ":" + d.key, Key: d.key, Confirm: later != nil}
	res, settled := e.enqueue(w, r, t, d.event, entry, later, c)
	c.acked, c.settled, c.why = res.status == http.StatusOK, settled, "inbox unavailable"
	return res
}

// enqueue writes entry to the inbox, with event encoded in it, and
// answers. why is the error that deferred confirmation, for the log. With
// c, the delivery's claim, a backend that can complete the claim in the
// transaction that writes the entry does (inbox.Completer), and completed
// says so.
func (e *engine[E]) enqueue(w http.ResponseWriter, r *http.Request, t *timings, event E, entry inbox.Entry, why error, c *claim) (res result, completed bool) {
	ctx, key := r.Context(), entry.Key
	payload, err := json.Marshal(event)
	if err != nil {
		return e.rejectKey(w, r, key, fmt.Errorf("payhook: encoding %s event for the inbox: %w", e.name, err), ReasonHandler), false
	}
	entry.Provider, entry.Event = e.name, payload
	var added bool
	if c != nil {
		added, completed, err = e.inbox.PutComplete(ctx, entry, e.store, c.storeKey, c.token, e.retention)
	}
	if err == nil && !completed {
		added, err = e.inbox.Put(ctx, entry)
	}
	t.lap(stepStore)
	if err != nil {
		reason := ReasonInboxUnavailable
		if errors.Is(err, inbox.ErrFull) {
			reason = ReasonInboxFull // unauthenticated deliveries at their bound
		}
		return e.rejectKey(w, r, key, fmt.Errorf("%w: inbox: %w", ErrUnavailable, err), reason), false
	}
	e.logKept(ctx, entry, added, why)
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "accepted\n")
	res = result{outcome: Processed, status: http.StatusOK, key: key}
	switch {
	case !added:
		res.outcome = Duplicate
	case why != nil:
		res.reason = ReasonConfirmationLater
	}
	return res, completed
}

// logKept logs an entry written to the inbox (added), or found there.
func (e *engine[E]) logKept(ctx context.Context, entry inbox.Entry, added bool, why error) {
	attrs := []slog.Attr{slog.String("key", entry.Key), slog.String("entry", entry.ID)}
	if why != nil {
		attrs = append(attrs, slog.Any("confirm_later", why))
	}
	if added {
		e.log(ctx, slog.LevelDebug, "payhook: delivery kept in the inbox", attrs...) // the normal path, as a processed delivery is not logged
	} else {
		e.log(ctx, slog.LevelInfo, "payhook: delivery already in the inbox", attrs...)
	}
}

// work runs one attempt of an inbox entry: it decodes the event, confirms
// and claims it when the entry says so, and calls the func; then it tells
// the log and the observer.
func (e *engine[E]) work(ctx context.Context, a inbox.Attempt) error {
	start := time.Now()
	ctx = context.WithValue(ctx, receivedKey{}, a.ReceivedAt)
	result, err := e.attempt(ctx, a)
	if err != nil {
		result = AttemptRetry
		level := slog.LevelWarn
		switch {
		case inbox.IsDrop(err):
			result = AttemptDropped
		case inbox.IsPermanent(err) || a.N >= a.MaxAttempts:
			result, level = AttemptDead, slog.LevelError
		}
		e.log(ctx, level, "payhook: inbox attempt failed", slog.String("key", a.Key), slog.String("entry", a.ID),
			slog.Int("attempt", a.N), slog.String("result", string(result)), slog.Any("error", err))
	}
	if e.observer != nil && e.observer.Attempt != nil {
		e.observer.Attempt(ctx, Attempt{Provider: e.name, Key: a.Key, N: a.N, Result: result,
			Reason: classOf(err).reason, Duration: time.Since(start), ReceivedAt: a.ReceivedAt})
	}
	return err
}

// attempt is work's attempt itself: AttemptDone or AttemptDuplicate when
// the error is nil.
func (e *engine[E]) attempt(ctx context.Context, a inbox.Attempt) (AttemptResult, error) {
	event, err := e.entryEvent(ctx, a)
	if err != nil {
		return "", err
	}
	if a.Claim {
		dup, err := e.claimForEntry(ctx, a)
		if err != nil {
			return "", err
		}
		if dup {
			e.log(ctx, slog.LevelInfo, "payhook: inbox entry is a duplicate of a processed event",
				slog.String("key", a.Key), slog.String("entry", a.ID))
			return AttemptDuplicate, nil
		}
	}
	d := &delivery[E]{Context: ctx, event: event, key: a.Key, detached: detached{ctx}}
	err = e.expected(d)
	if errors.Is(err, ErrMismatch) {
		err = inbox.Permanent(err) // kept, dead, for an operator: never credited
	}
	if err == nil {
		err = e.run(d)
	}
	if a.Claim {
		err = e.finishEntry(ctx, a, err)
	}
	if err != nil {
		return "", err
	}
	return AttemptDone, nil
}

// entryEvent returns the event of an entry: decoded, and confirmed with
// the provider's API when the entry says so; rebuilt from the API for the
// one entry of a payment's unauthenticated deliveries.
func (e *engine[E]) entryEvent(ctx context.Context, a inbox.Attempt) (E, error) {
	if poller, ok := e.p.(Poller[E]); ok && a.Claim && strings.HasSuffix(a.ID, unverifiedSuffix) {
		return e.polledEvent(ctx, poller, a)
	}
	var event E
	if err := json.Unmarshal(a.Event, &event); err != nil {
		return event, inbox.Permanent(fmt.Errorf("payhook: %s event in the inbox does not decode: %w", e.name, err))
	}
	if a.Confirm && e.confirm != nil {
		if err := e.confirm.Confirm(ctx, &event); err != nil {
			err = fmt.Errorf("payhook: refused by the provider's API: %w", err)
			switch {
			case settlesLater(err):
				err = unsettledToTheEnd(a, err)
			case a.Claim:
				err = inbox.Drop(err) // nothing authenticated it: a forgery is not kept
			default:
				err = inbox.Permanent(err)
			}
			return event, err
		}
	}
	return event, nil
}

// unsettledToTheEnd is the error of an attempt whose payment the
// provider's API cannot settle yet (err): retried, except at the last
// attempt of an entry that nothing authenticated (Claim), which is
// dropped rather than kept dead. Anyone can create a payment and leave it
// unpaid, and dead entries count against the inbox's bound on
// unauthenticated ones (inbox.WithMaxUnconfirmed) for good: kept, one
// round of forgeries naming such payments would have every genuine
// unsigned delivery refused afterwards. The log keeps the payment id; an
// expectation of the payment is still polled (Reconciler).
func unsettledToTheEnd(a inbox.Attempt, err error) error {
	if a.Claim && a.N >= a.MaxAttempts {
		return inbox.Drop(fmt.Errorf("payhook: unauthenticated delivery still not settled by the provider's API at its last attempt, dropped: %w", err))
	}
	return err
}

// run calls the func with d's event, turning a panic into an error.
func (e *engine[E]) run(d *delivery[E]) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("payhook: handler panicked: %v\n%s", v, debug.Stack())
		}
	}()
	return e.fn(d, d.event)
}

// claimForEntry claims the key of an entry kept before its sender was
// authenticated, now that its event is confirmed. It reports whether the
// event was already processed through another delivery. The claim's token
// is the entry's, so that a retry of this entry, after a crash before the
// claim was finished, takes the key again; finishEntry completes it once
// the handler succeeded, and releases it otherwise, so that the entry's
// retry (or another door) processes the payment again.
func (e *engine[E]) claimForEntry(ctx context.Context, a inbox.Attempt) (dup bool, err error) {
	state, err := e.store.Claim(ctx, e.prefix+a.Key, a.ID, e.lease)
	if err != nil {
		return false, fmt.Errorf("%w: idempotency store: %w", ErrUnavailable, err)
	}
	switch state {
	case idempotency.Done:
		return true, nil
	case idempotency.InFlight:
		return false, fmt.Errorf("%w: key %q", ErrInFlight, a.Key)
	case idempotency.Acquired:
		return false, nil
	}
	return false, errors.New("payhook: idempotency store answered " + state.String())
}

// finishEntry finishes the claim of claimForEntry: completed when the
// attempt succeeded (err nil), released otherwise. It returns the
// attempt's error, or the store's when the key could not be completed.
func (e *engine[E]) finishEntry(ctx context.Context, a inbox.Attempt, err error) error {
	storeKey := e.prefix + a.Key
	if err != nil {
		if rerr := e.release(ctx, storeKey, a.ID); rerr != nil {
			e.log(ctx, slog.LevelWarn, "payhook: key of a failed inbox entry not released; taken again by its retry",
				slog.String("key", a.Key), slog.String("entry", a.ID), slog.Any("error", rerr))
		}
		return err
	}
	if cerr := e.store.Complete(ctx, storeKey, a.ID, e.retention); cerr != nil {
		// The handler did its work; a later duplicate may be processed again.
		e.log(ctx, slog.LevelError, "payhook: event processed but not recorded as done",
			slog.String("key", a.Key), slog.String("entry", a.ID), slog.Any("error", cerr))
	}
	return nil
}

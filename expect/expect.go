// Package expect keeps the payments an application expects, so that a
// payment whose webhook never arrived is found all the same: through the
// provider's status API where it has one (KKiaPay, KasperoPay), or, where it
// has none (Kazawallet), by saying loudly that it is overdue.
//
// When the application starts a payment (a Kazawallet payment link, the
// transaction id that KKiaPay's widget hands the page, a KasperoPay payment
// id), it adds an [Expectation]: the provider, the payment's id and/or the
// merchant's own reference, the amount and currency it expects, and a
// deadline. payhook then settles the expectation with the first door that
// brings the payment, the webhook or a poll of the status API, checks the
// paid amount and currency against it, and reports those that no door
// brought by their deadline.
//
// An expectation goes through these states:
//
//	Add ──▶ pending ──Settle (the payment, by id or reference)──▶ settled
//	         │  ▲  ▲                                               │
//	         │  │  └──────Reopen (a handler failed, or swept)──────┘
//	         │  └─Due (leased for one poll), Reschedule (the next poll)
//	         │
//	         ├──deadline passed: MarkOverdue──▶ overdue ──Settle (late)──▶ settled
//	         │                                    │
//	         └──Cancel──▶ cancelled ◀──Cancel─────┘
//
//	settled, cancelled ──Forget (the retention passed)──▶ gone
//
// Settled means the provider gave its final word on the payment: paid, or
// failed, expired or timed out (Outcome says which). Overdue means its
// deadline passed with no word at all.
//
// A [Store] keeps expectations. [NewMemory] keeps them in one process's
// memory (tests, and nothing that must survive a restart). Package
// [github.com/payhook/payhook/expect/expecttest] checks any Store against
// the contract written on the interface.
package expect

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/payhook/payhook/internal/decimal"
	"github.com/payhook/payhook/internal/statename"
)

// State is where an expectation is in its life.
type State uint8

// The states of an expectation.
const (
	// Pending expectations wait for their payment.
	Pending State = iota + 1
	// Settled expectations have their payment's outcome.
	Settled
	// Overdue expectations passed their deadline with no outcome. A late
	// payment still settles them.
	Overdue
	// Cancelled expectations are no longer expected, and nothing settles
	// them.
	Cancelled
)

var stateNames = [...]string{Pending: "pending", Settled: "settled", Overdue: "overdue", Cancelled: "cancelled"}

// String returns "pending", "settled", "overdue" or "cancelled".
func (s State) String() string { return statename.String(stateNames[:], uint8(s)) }

// ParseState returns the State whose String is s.
func ParseState(s string) (State, error) {
	if st, ok := statename.Parse(stateNames[:], s); ok {
		return State(st), nil
	}
	return 0, fmt.Errorf("expect: unknown state %q (want pending, settled, overdue or cancelled)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *State) UnmarshalText(b []byte) error {
	st, err := ParseState(string(b))
	if err == nil {
		*s = st
	}
	return err
}

// The outcomes a settlement records, the same words as payhook.Payment's.
const (
	OutcomePaid     = "paid"
	OutcomeFailed   = "failed"
	OutcomeExpired  = "expired"
	OutcomeTimedOut = "timed_out"
)

// Expectation is one payment the application expects. The application
// fills Provider, ID and/or Ref, Amount, Currency and Deadline; the store
// keeps the rest.
type Expectation struct {
	// Provider is the provider's name ("kkiapay").
	Provider string `json:"provider"`
	// ID is the provider's payment id, the event's idempotency key
	// (KKiaPay's transactionId, KasperoPay's payment_id, Kazawallet's
	// order_id), when the application knows it. Only an expectation with
	// an ID can be polled.
	ID string `json:"id,omitempty"`
	// Ref is the merchant's own reference (Kazawallet's ref, KKiaPay's
	// partnerId, KasperoPay's order_id), when the application has one.
	Ref string `json:"ref,omitempty"`
	// Amount is the amount expected, as exact decimal text ("10.50").
	Amount string `json:"amount"`
	// Currency is the currency expected ("USD", "XOF", "KAS").
	Currency string `json:"currency"`
	// Deadline is when the expectation becomes overdue if no outcome
	// arrived.
	Deadline time.Time `json:"deadline"`
	// State is the expectation's state. Add stores Pending whatever it
	// says.
	State State `json:"state"`
	// CreatedAt is when it was added; Add sets it when zero.
	CreatedAt time.Time `json:"created_at"`

	// PaymentID is the payment that settled the expectation: its ID, or,
	// for an expectation added by reference only, the id the provider
	// signed or confirmed.
	PaymentID string `json:"payment_id,omitempty"`
	// Outcome is the settled payment's outcome (OutcomePaid, ...).
	Outcome string `json:"outcome,omitempty"`
	// SettledAt is when it was settled.
	SettledAt time.Time `json:"settled_at,omitzero"`

	// NextPoll is when a pending expectation with an ID is next due for a
	// poll of the provider's status API; zero means at once.
	NextPoll time.Time `json:"next_poll,omitzero"`
	// Attempts is how many times it was taken for a poll ([Store.Due]).
	Attempts int `json:"attempts"`
}

// Key returns the key that finds x: its ID when it has one, else its Ref.
func (x Expectation) Key() Key {
	if x.ID != "" {
		return Key{Provider: x.Provider, ID: x.ID}
	}
	return Key{Provider: x.Provider, Ref: x.Ref}
}

// MaxField bounds the length of Provider, ID, Ref and Currency.
const MaxField = 200

// Validate reports an error wrapping [ErrInvalid] when x cannot be added:
// no provider, neither ID nor Ref, an Amount that is not a decimal number,
// no currency, a zero deadline, or a field longer than MaxField.
func (x Expectation) Validate() error {
	var why string
	switch {
	case x.Provider == "":
		why = "no provider"
	case x.ID == "" && x.Ref == "":
		why = "neither id nor ref"
	case !decimal.Valid(x.Amount):
		why = "amount is not a decimal number"
	case x.Currency == "":
		why = "no currency"
	case x.Deadline.IsZero():
		why = "no deadline"
	case len(x.Provider) > MaxField || len(x.ID) > MaxField || len(x.Ref) > MaxField || len(x.Currency) > MaxField:
		why = "a field is longer than " + strconv.Itoa(MaxField) + " bytes"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalid, why)
}

// Key finds one expectation: the provider's, by ID when ID is set, else by
// Ref.
type Key struct {
	Provider string
	ID       string
	Ref      string
}

// String returns "provider:id" or "provider:ref=REF".
func (k Key) String() string {
	if k.ID != "" {
		return k.Provider + ":" + k.ID
	}
	return k.Provider + ":ref=" + k.Ref
}

// Settlement is a payment's outcome, as it settles an expectation.
type Settlement struct {
	// PaymentID is the payment's id at the provider, signed or confirmed
	// by it. It is never empty.
	PaymentID string
	// Outcome is the payment's outcome (OutcomePaid, ...). It is never
	// empty.
	Outcome string
	// At is when it settled.
	At time.Time
}

// Filter selects expectations for [Store.List].
type Filter struct {
	// Provider selects one provider's expectations; "" selects every
	// provider's.
	Provider string
	// State selects expectations in that state; 0 selects every state.
	State State
	// Limit bounds the number returned. Default (0): DefaultListLimit.
	Limit int
}

// DefaultListLimit is the number of expectations List returns when
// Filter.Limit is 0.
const DefaultListLimit = 100

// Store keeps expectations. Every method must be safe for concurrent use by
// several goroutines and, for shared stores, by several processes. Times
// are the caller's (now, deadlines, settlements), so that every replica
// and every test agrees on them.
//
// The contract, which [github.com/payhook/payhook/expect/expecttest.Run]
// checks:
//
//   - Add stores x as Pending with 0 Attempts and no settlement, setting
//     CreatedAt when zero, and returns once it is durable. It returns an
//     error wrapping [ErrInvalid] when x.Validate does, and [ErrExists],
//     changing nothing, when an expectation of x.Provider, in any state,
//     has x's ID or x's Ref (each non-empty ID and each non-empty Ref
//     names at most one expectation of a provider).
//   - Get returns the expectation that k finds: of k.Provider, whose ID is
//     k.ID when k.ID is set, else whose Ref is k.Ref; [ErrNotFound] when
//     none does. Get by ID never finds by PaymentID.
//   - Settle settles the expectation k finds with s, atomically:
//     a pending or overdue one becomes Settled with s's PaymentID, Outcome
//     and At; Settle returns it. Each expectation is settled once, and
//     each payment id settles at most one expectation of a provider: of
//     any number of concurrent Settles, those naming one expectation or one
//     payment id, exactly one succeeds. An expectation already settled by
//     s.PaymentID is returned unchanged, with no error (a retry is its
//     own). It returns [ErrNotFound] for no expectation; [ErrSettled] for
//     one settled by another payment; [ErrConflict] when the expectation
//     has an ID other than s.PaymentID, or s.PaymentID settled another
//     expectation of the provider; [ErrState] for a cancelled one; none of
//     these changes anything.
//   - Reopen makes the expectation k finds, settled by paymentID, pending
//     again, due for a poll at once, without its settlement (the payment
//     it recorded may settle an expectation again). [ErrNotFound] when k
//     finds none; [ErrState], changing nothing, when it is not settled by
//     paymentID.
//   - Cancel makes a pending or overdue expectation Cancelled; a cancelled
//     one stays so, with no error. [ErrNotFound]; [ErrState] for a settled
//     one, changing nothing.
//   - Due takes up to limit pending expectations with an ID, of the given
//     providers (every provider's when none is given), whose NextPoll is
//     not after now, those due first: each is leased for one poll, its
//     NextPoll moved to now+lease and its Attempts raised by one, and
//     returned so. Of concurrent Dues, none returns an expectation another
//     returned until that one's lease has ended, so that across replicas
//     each is polled by one at a time. An expectation without an ID, or
//     not pending, is never taken.
//   - Reschedule sets the NextPoll of the pending expectation k finds to
//     next. [ErrNotFound]; [ErrState], changing nothing, when it is not
//     pending.
//   - MarkOverdue makes up to limit pending expectations of the given
//     providers (every provider's when none is given) whose Deadline is
//     not after now Overdue, and returns them so. Of concurrent
//     MarkOverdues, each expectation is returned by one only, once.
//   - List returns the expectations f selects, the earliest Deadline
//     first, at most f.Limit (DefaultListLimit when 0).
//   - Forget deletes up to limit expectations of the given providers
//     (every provider's when none is given) that are settled or cancelled,
//     whose Deadline is before before and, for a settled one, whose
//     SettledAt is too, and returns how many it deleted. It never deletes
//     a pending or overdue one. A forgotten expectation is as if never
//     added: Get answers ErrNotFound, and its ID, its Ref and the payment
//     id that settled it are free again (that payment may settle another
//     expectation). Of concurrent Forgets, each expectation is counted by
//     one only. A limit below 1 deletes nothing.
//   - Unconfirmed returns up to limit settled expectations of the given
//     providers (every provider's when none is given) that are not
//     confirmed and whose SettledAt is not after before, the earliest
//     settled first, changing nothing. Settle leaves the expectation it
//     settles unconfirmed (a retry that returns it unchanged leaves it as
//     it was). A limit below 1 returns none.
//   - Confirm marks the expectation k finds, settled by paymentID,
//     confirmed: Unconfirmed no longer returns it (until it is reopened
//     and settled again). A confirmed one stays so, with no error.
//     [ErrNotFound]; [ErrState], changing nothing, when it is not settled
//     by paymentID.
//   - Any other error means the store could not answer; the caller must
//     treat the expectation's state as unknown.
//
// Unconfirmed and Confirm are the reconciler's sweep of settlements that
// no handler may have credited: a process that settled an expectation and
// died before its handler succeeded, with no inbox and no redelivery to
// finish the work, leaves it settled; the reconciler finds it, asks the
// idempotency store whether the payment's key is done, and confirms it
// when it is, or reopens it when nothing holds the key.
type Store interface {
	Add(ctx context.Context, x Expectation) error
	Get(ctx context.Context, k Key) (Expectation, error)
	Settle(ctx context.Context, k Key, s Settlement) (Expectation, error)
	Reopen(ctx context.Context, k Key, paymentID string) error
	Cancel(ctx context.Context, k Key) error
	Due(ctx context.Context, providers []string, now time.Time, lease time.Duration, limit int) ([]Expectation, error)
	Reschedule(ctx context.Context, k Key, next time.Time) error
	MarkOverdue(ctx context.Context, providers []string, now time.Time, limit int) ([]Expectation, error)
	List(ctx context.Context, f Filter) ([]Expectation, error)
	Forget(ctx context.Context, providers []string, before time.Time, limit int) (int, error)
	Unconfirmed(ctx context.Context, providers []string, before time.Time, limit int) ([]Expectation, error)
	Confirm(ctx context.Context, k Key, paymentID string) error
}

// forgettable reports whether Forget with before deletes x: settled or
// cancelled, its Deadline before before and, when settled, its SettledAt
// too.
func forgettable(x Expectation, before time.Time) bool {
	switch x.State {
	case Settled:
		return x.Deadline.Before(before) && x.SettledAt.Before(before)
	case Cancelled:
		return x.Deadline.Before(before)
	}
	return false
}

var (
	// ErrInvalid is wrapped by Add for an expectation that cannot be
	// added (see [Expectation.Validate]), and by Settle for an empty
	// payment id or outcome.
	ErrInvalid = errors.New("expect: invalid expectation")
	// ErrExists is returned by Add when the provider already has an
	// expectation with that ID or Ref.
	ErrExists = errors.New("expect: expectation exists")
	// ErrNotFound is returned for a key that finds no expectation.
	ErrNotFound = errors.New("expect: no such expectation")
	// ErrSettled is returned by Settle for an expectation settled by
	// another payment.
	ErrSettled = errors.New("expect: expectation settled by another payment")
	// ErrConflict is returned by Settle when the payment is not the
	// expectation's: the expectation names another payment id, or the
	// payment settled another expectation.
	ErrConflict = errors.New("expect: payment is another expectation's")
	// ErrState is returned when the expectation's state does not allow the
	// change.
	ErrState = errors.New("expect: expectation is not in a state that allows this")
)

// ValidSettlement reports an error wrapping ErrInvalid for a settlement
// with no payment id or no outcome.
func ValidSettlement(s Settlement) error {
	switch {
	case s.PaymentID == "":
		return fmt.Errorf("%w: settlement without a payment id", ErrInvalid)
	case s.Outcome == "":
		return fmt.Errorf("%w: settlement without an outcome", ErrInvalid)
	case len(s.PaymentID) > MaxField:
		return fmt.Errorf("%w: payment id longer than %d bytes", ErrInvalid, MaxField)
	}
	return nil
}

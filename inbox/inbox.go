// Package inbox keeps verified webhook deliveries durably until the
// application has processed them, so that a one-shot webhook (Kazawallet and
// KasperoPay never resend) is never lost to a failing handler, a panic, a
// crash or a restart.
//
// With an inbox, payhook's middleware answers a delivery 200 only once its
// event is written to the inbox (committed), and the application's handler
// runs from the inbox, with retries:
//
//	webhook ──verify, claim──▶ Put ──▶ pending ──run──▶ done
//	                                      ▲   │
//	                       retry (backoff)└───┤ handler error, panic, timeout,
//	                                          │ worker killed (after the lease)
//	                    Replay ◀── dead ◀─────┘ last attempt, or a Permanent error
//
// An [Inbox] is what the application holds: payhook.Handle registers each
// provider's handler on it (payhook.WithInbox), [Inbox.Run] runs them, and
// its other methods are the operator's: list entries by state, inspect one,
// replay one or every dead one, discard one.
//
// An Inbox stores its entries in a [Backend]. [NewMemory] is one process's
// memory (tests, and nothing that must survive a restart); durable backends
// run on existing engines, each in its own module so that importing payhook
// never brings a driver in: River on PostgreSQL
// (github.com/payhook/payhook/inbox/riverinbox), asynq on Redis
// (github.com/payhook/payhook/inbox/asynqinbox) and SQLite
// (github.com/payhook/payhook/inbox/sqliteinbox). Package
// [github.com/payhook/payhook/inbox/inboxtest] checks any Backend against
// the contract written on the interface.
package inbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/internal/statename"
)

// Entry is one delivery kept in an inbox: the verified event, never the raw
// request (whose headers or body may hold a signature, or for KKiaPay the
// secret itself).
type Entry struct {
	// ID identifies the entry in its inbox: Put of an ID already there adds
	// nothing. payhook uses "provider:key" ("kazawallet:ord_123"), so that
	// one event has one entry whatever the number of its deliveries.
	ID string `json:"id"`
	// Provider is the name of the provider that sent the event; it selects
	// the handler ([Inbox.Handle]). It is never empty.
	Provider string `json:"provider"`
	// Key is the event's idempotency key, without the provider's prefix.
	Key string `json:"key"`
	// Event is the verified event, as JSON.
	Event []byte `json:"event"`
	// Confirm says that the event could not be confirmed with the
	// provider's API when it arrived (the API was down, or had not settled
	// the payment): the handler must confirm it before acting on it.
	Confirm bool `json:"confirm,omitempty"`
	// Claim says that the event's idempotency key was not claimed when it
	// arrived, because nothing had authenticated the sender yet: the
	// handler must confirm the event, then claim its key, so that a forged
	// delivery never holds the key of a genuine one.
	Claim bool `json:"claim,omitempty"`
	// MaxAttempts is the number of the attempt after which a failing entry
	// is dead. Set by [Inbox.Put] from [WithMaxAttempts]; [Inbox.Replay]
	// raises it by that much again.
	MaxAttempts int `json:"max_attempts"`
	// ReceivedAt is when the delivery arrived. Set by Inbox.Put when zero.
	ReceivedAt time.Time `json:"received_at"`
}

// State is where an entry is in its life.
type State uint8

// The states of an entry.
const (
	// Pending entries wait for their first run or their next retry.
	Pending State = iota + 1
	// Running entries are being run by a worker.
	Running
	// Done entries were run successfully.
	Done
	// Dead entries failed their last attempt, or failed with a
	// [Permanent] error. They stay until replayed or discarded.
	Dead
)

var stateNames = [...]string{Pending: "pending", Running: "running", Done: "done", Dead: "dead"}

// String returns "pending", "running", "done" or "dead".
func (s State) String() string { return statename.String(stateNames[:], uint8(s)) }

// ParseState returns the State whose String is s.
func ParseState(s string) (State, error) {
	if st, ok := statename.Parse(stateNames[:], s); ok {
		return State(st), nil
	}
	return 0, fmt.Errorf("inbox: unknown state %q (want pending, running, done or dead)", s)
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

// Info is an entry as the operator sees it.
type Info struct {
	Entry
	// State is the entry's state.
	State State `json:"state"`
	// Attempts is how many times the entry has been run (or is being
	// run).
	Attempts int `json:"attempts"`
	// Errors are the errors of the failed attempts, oldest first. A backend
	// may keep only the last ones; it keeps at least the last.
	Errors []AttemptError `json:"errors,omitempty"`
	// NextAt is when a pending entry is due.
	NextAt time.Time `json:"next_at,omitzero"`
	// UpdatedAt is when the entry last changed state.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// LastError returns the error of the last failed attempt, or "".
func (i Info) LastError() string {
	if len(i.Errors) == 0 {
		return ""
	}
	return i.Errors[len(i.Errors)-1].Error
}

// AttemptError is the error of one failed attempt.
type AttemptError struct {
	// Attempt is the attempt's number, from 1.
	Attempt int `json:"attempt"`
	// At is when the attempt failed.
	At time.Time `json:"at"`
	// Error is the error's text.
	Error string `json:"error"`
}

// Filter selects entries for [Inbox.List].
type Filter struct {
	// State selects entries in that state; 0 selects every state.
	State State
	// Provider selects one provider's entries; "" selects every provider.
	Provider string
	// Limit bounds the number of entries returned, oldest first. Default
	// (0): 100.
	Limit int
}

// DefaultListLimit is the number of entries List returns when Filter.Limit
// is 0.
const DefaultListLimit = 100

// Stat is the number of entries of one provider in one state.
type Stat struct {
	Provider string `json:"provider"`
	State    State  `json:"state"`
	N        int    `json:"n"`
}

// Attempt is one run of an entry.
type Attempt struct {
	Entry
	// N is the attempt's number, from 1.
	N int
}

// Handler runs one attempt of an entry. nil means done. A [Permanent]
// error makes the entry dead at once; any other error is retried, after
// [RunConfig.Backoff], until the entry's MaxAttempts.
type Handler func(ctx context.Context, a Attempt) error

// RunConfig is how a backend runs entries. [Inbox.Run] fills every field.
type RunConfig struct {
	// Workers is how many entries run at once in this process.
	Workers int
	// Backoff returns the wait before the retry that follows failed attempt
	// n (from 1).
	Backoff func(n int) time.Duration
	// Timeout bounds one attempt: its context is canceled after it.
	Timeout time.Duration
	// Lease is how long after an attempt started, with no answer, another
	// worker may take the entry again (its worker was killed). It is longer
	// than Timeout, so that a live worker's attempt has ended first. A
	// backend whose engine keeps its own lease, renewed by a heartbeat
	// (asynq), may ignore it and says so.
	Lease time.Duration
	// ShutdownTimeout is how long Run waits, once its context is done, for
	// running attempts to finish; the rest are canceled and run again at
	// the next start.
	ShutdownTimeout time.Duration
}

// Backend stores an inbox's entries and runs them. Backends live in their
// own packages; [NewMemory] is the in-memory one. Every method must be safe
// for concurrent use by several goroutines and, for shared backends, by
// several processes.
//
// The contract, which [github.com/payhook/payhook/inbox/inboxtest.Run]
// checks:
//
//   - Put stores the entry durably and returns once it is committed (a
//     process that dies after Put returned loses nothing), with added true;
//     if an entry with that ID is there, whatever its state, it changes
//     nothing and returns added false.
//   - Run calls h for due pending entries, at most Workers at once in the
//     process, until ctx is done. An entry is run by one worker at a time,
//     across processes: no two calls of h for one entry overlap, but for an
//     attempt abandoned by a killed process, retried after Lease. h's nil
//     makes the entry done; an error records it in Errors and makes the
//     entry pending again after Backoff(n), or dead when n is MaxAttempts
//     or the error is [Permanent]. When ctx is done, Run takes no more
//     entries, waits up to ShutdownTimeout for the running ones, cancels
//     the others' contexts (those entries stay pending; whether the
//     canceled attempt counts is the backend's), and returns nil. It returns an error only when it
//     could not run at all.
//   - Replay makes a dead or done entry pending and due now, and raises
//     its MaxAttempts to Attempts plus the MaxAttempts it was put with (its
//     Errors are kept); Discard deletes an entry that is not
//     running. Both return [ErrNotFound] for an unknown ID and [ErrState]
//     for a running entry (Replay also for a pending one).
//   - An error of h for which [IsDrop] is true deletes the entry, as
//     Discard would: Get then returns [ErrNotFound], and Put of its ID
//     adds it again.
//   - Get returns [ErrNotFound] for an unknown ID. List returns the entries
//     the filter selects, oldest first; Stats counts every entry by
//     provider and state (states with no entry may be left out).
//   - Unconfirmed counts the entries put with Claim that are not done
//     (pending, running or dead), without reading every entry: an index,
//     or a counter kept as entries change. [Inbox.Put] calls it for every
//     entry with Claim.
type Backend interface {
	Put(ctx context.Context, e Entry) (added bool, err error)
	Run(ctx context.Context, h Handler, cfg RunConfig) error
	Get(ctx context.Context, id string) (Info, error)
	List(ctx context.Context, f Filter) ([]Info, error)
	Stats(ctx context.Context) ([]Stat, error)
	Replay(ctx context.Context, id string) error
	Discard(ctx context.Context, id string) error
	Unconfirmed(ctx context.Context) (int, error)
}

// Completer is implemented by a Backend that can complete an idempotency
// claim in the transaction that puts the entry, when the claim is held in a
// store of the same database (River's inbox and pgstore on one PostgreSQL
// database). payhook's middleware then never leaves, even for an instant,
// an entry without its key marked done or a key marked done without its
// entry. Without it, the middleware puts the entry first and completes the
// claim after: a crash between the two leaves an entry whose key's lease
// runs out, and a retried delivery finds the entry already there.
type Completer interface {
	// PutComplete puts e as Put does and, in the same transaction,
	// completes the claim of key with token in store for retention, as
	// store.Complete does. It reports handled false, having done nothing,
	// when store is not one it can write in its transaction; the caller
	// then calls Put and store.Complete itself.
	PutComplete(ctx context.Context, e Entry, store idempotency.Store, key, token string, retention time.Duration) (added, handled bool, err error)
}

var (
	// ErrNotFound is returned for an ID that no entry has.
	ErrNotFound = errors.New("inbox: no such entry")
	// ErrState is returned by Replay and Discard for an entry whose state
	// does not allow it.
	ErrState = errors.New("inbox: entry is not in a state that allows this")
	// ErrFull is wrapped by [Inbox.Put] of an entry with Claim when the
	// inbox already holds as many such entries, not yet done, as
	// [WithMaxUnconfirmed] allows: deliveries that nothing has
	// authenticated cannot fill the inbox. payhook answers it 503, so that
	// a provider that retries comes back.
	ErrFull = errors.New("inbox: full of entries whose sender is not yet authenticated")
)

// permanent marks an error that no retry can mend.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// Permanent wraps err so that the entry whose attempt returned it is dead at
// once rather than retried: a forged event that the provider's API refuses,
// an event that no longer decodes. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err}
}

// IsPermanent reports whether err was made by [Permanent].
func IsPermanent(err error) bool {
	var p *permanent
	return errors.As(err, &p)
}

// drop marks an error whose entry is deleted.
type drop struct{ err error }

func (d *drop) Error() string { return d.err.Error() }
func (d *drop) Unwrap() error { return d.err }

// Drop wraps err so that the entry whose attempt returned it is deleted,
// not kept dead: an entry put with Claim (its sender not authenticated)
// that the provider's API refuses is a forgery, and keeping it would let
// forgeries fill the inbox. The entry is gone as after [Inbox.Discard];
// a later delivery of its ID is put again. Drop(nil) is nil.
func Drop(err error) error {
	if err == nil {
		return nil
	}
	return &drop{err}
}

// IsDrop reports whether err was made by [Drop].
func IsDrop(err error) bool {
	if err == nil {
		return false
	}
	var d *drop
	return errors.As(err, &d)
}

// Backoff returns the exponential backoff with full jitter that the
// defaults describe: about first after attempt 1, twice that after attempt
// 2, and so on, never above most. Each wait is drawn between half and all of
// that value, so that entries that failed together are not retried
// together.
func Backoff(first, most time.Duration) func(n int) time.Duration {
	return func(n int) time.Duration {
		d := first
		for i := 1; i < n && d < most; i++ {
			d *= 2
		}
		d = min(d, most)
		if d <= 1 {
			return d
		}
		half := d / 2
		return half + rand.N(d-half+1)
	}
}

// Package expectstore holds what the durable expect.Store implementations
// (sqlitestore, pgstore, redisstore) share and that is no driver's: their
// options' checks, the bounding of each call, the reading of a key, and,
// for the SQL stores, the columns of their table, the mapping of a row to
// an Expectation, and what Settle and the other changes answer when their
// statement changed nothing. It imports no driver, so that package expect
// and the root module never drag one in.
package expectstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/internal/optcheck"
)

// Config is what every durable store's options set.
type Config struct {
	// Refused lists the values the options could not use.
	Refused optcheck.Refused
	// Timeout bounds one call of the store (SQL stores).
	Timeout time.Duration
	// Now stamps CreatedAt when Add is given none.
	Now func() time.Time
}

// Apply runs on c each of opts that is not nil.
func Apply[C any, O ~func(*C)](c *C, opts []O) {
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
}

// SetTimeout is WithExpectationsTimeout: a positive duration.
func (c *Config) SetTimeout(d time.Duration) {
	if d <= 0 {
		c.Refused.Add("WithExpectationsTimeout(%s): want a positive duration", d)
		return
	}
	c.Timeout = d
}

// SetClock is WithExpectationsClock: a clock that is not nil.
func (c *Config) SetClock(now func() time.Time) {
	if now == nil {
		c.Refused.Add("WithExpectationsClock(nil)")
		return
	}
	c.Now = now
}

// Begin bounds ctx by timeout, after checking it.
func Begin(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc, error) {
	if err := ctx.Err(); err != nil {
		return ctx, func() {}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, cancel, nil
}

// By returns the index of a store's statements for k (0 by id, 1 by ref)
// and the value to find; ok is false for a key that can find nothing.
func By(k expect.Key) (i int, v string, ok bool) {
	switch {
	case k.ID != "":
		return 0, k.ID, true
	case k.Ref != "":
		return 1, k.Ref, true
	}
	return 0, "", false
}

// Distinct returns providers without repeats.
func Distinct(providers []string) []string {
	if len(providers) < 2 {
		return providers
	}
	out := slices.Clone(providers)
	slices.Sort(out)
	return slices.Compact(out)
}

// ListLimit is f's limit, DefaultListLimit when 0.
func ListLimit(f expect.Filter) int {
	if f.Limit <= 0 {
		return expect.DefaultListLimit
	}
	return f.Limit
}

// The states as the SQL tables keep them. The stores write them as
// literals in their statements, so that the engines match the partial
// indexes.
const (
	Pending   = int(expect.Pending)
	Settled   = int(expect.Settled)
	Overdue   = int(expect.Overdue)
	Cancelled = int(expect.Cancelled)
)

// Cols are the columns of an expectations table, in the order of
// [Row.Dest].
const Cols = `seq, provider, id, ref, amount, currency, deadline, state, created_at, payment_id, outcome, settled_at, next_poll, attempts`

// Row is one row of an expectations table, as a driver scans it: T is
// how the driver reads a time (Unix microseconds in SQLite, time.Time in
// PostgreSQL).
type Row[T any] struct {
	seq                     int64
	x                       expect.Expectation
	id, ref, payment        *string
	deadline, created, next T
	settled                 *T
	state, attempts         int64
}

// Dest returns the scan destinations of the columns Cols, then more.
func (r *Row[T]) Dest(more ...any) []any {
	return append([]any{&r.seq, &r.x.Provider, &r.id, &r.ref, &r.x.Amount, &r.x.Currency, &r.deadline, &r.state,
		&r.created, &r.payment, &r.x.Outcome, &r.settled, &r.next, &r.attempts}, more...)
}

// Expectation returns the scanned row's expectation, its times read with
// at, which keeps the zero time zero.
func (r *Row[T]) Expectation(at func(T) time.Time) expect.Expectation {
	x := r.x
	x.ID, x.Ref, x.PaymentID = deref(r.id), deref(r.ref), deref(r.payment)
	x.Deadline, x.CreatedAt, x.NextPoll = at(r.deadline), at(r.created), at(r.next)
	if r.settled != nil {
		x.SettledAt = at(*r.settled)
	}
	x.State, x.Attempts = expect.State(r.state), int(r.attempts)
	return x
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Null is s, or NULL when s is empty.
func Null(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Settle is the loop of a SQL store's Settle, whose settling statement
// changes a row only when nothing refuses s. try runs that statement: ok
// false when it changed no row. why reads the expectation k finds (found
// false when none does) and taken, whether s.PaymentID settled an
// expectation of its provider. When try changed nothing, Settle answers
// as [expect.WhyNotSettled] says, and tries again, up to tries times, when
// the expectation changed between the two. Errors of try and why are
// returned as they are; pkg names the store in the error of the last try.
func Settle(pkg string, tries int, s expect.Settlement,
	try func() (x expect.Expectation, ok bool, err error),
	why func() (x expect.Expectation, taken, found bool, err error),
) (expect.Expectation, error) {
	for range tries {
		x, ok, err := try()
		switch {
		case err != nil:
			return expect.Expectation{}, err
		case ok:
			return x, nil
		}
		x, taken, found, err := why()
		switch {
		case err != nil:
			return expect.Expectation{}, err
		case !found:
			return expect.Expectation{}, expect.ErrNotFound
		}
		switch retry, err := expect.WhyNotSettled(x, s, taken); {
		case err != nil:
			return expect.Expectation{}, err
		case !retry:
			return x, nil
		}
		// Changed between the two statements: try again.
	}
	return expect.Expectation{}, fmt.Errorf("%s: settle expectation: the expectation kept changing", pkg)
}

// Changed is the answer of a statement that changes the expectation a key
// finds (Reopen, Cancel, Reschedule) and changed n rows: nil when n > 0;
// otherwise, as exists says, [expect.ErrState] when the key finds an
// expectation (its state refused the change) and [expect.ErrNotFound]
// when not.
func Changed(n int64, exists func() (bool, error)) error {
	if n > 0 {
		return nil
	}
	found, err := exists()
	switch {
	case err != nil:
		return err
	case !found:
		return expect.ErrNotFound
	}
	return expect.ErrState
}

// Package expecttest checks an [expect.Store] against the contract written
// on that interface, in the manner of testing/slogtest: [Test] returns the
// failures as one error, usable from any test framework, and [Run] runs
// each case as a subtest. Every store in this repository runs it, and so
// should a store of your own:
//
//	func TestConformance(t *testing.T) {
//		expecttest.Run(t, func(t *testing.T) expect.Store {
//			return mystore.New(client)
//		})
//	}
//
// Each case uses provider names of its own, so the store need not be empty
// and may be shared between cases. It imports nothing beyond the standard
// library and package expect.
package expecttest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/payhook/payhook/expect"
)

type tcase struct {
	name string
	run  func(c *check) error
}

var cases = []tcase{
	{"AddThenGet", addThenGet},
	{"AddRefusesInvalid", addRefusesInvalid},
	{"AddRefusesExisting", addRefusesExisting},
	{"SettleOnce", settleOnce},
	{"SettleByRef", settleByRef},
	{"SettleRefusesAnotherPayment", settleRefusesAnotherPayment},
	{"ConcurrentSettlesOneWinner", concurrentSettlesOneWinner},
	{"OnePaymentSettlesOne", onePaymentSettlesOne},
	{"Reopen", reopen},
	{"Cancel", cancel},
	{"DueLeases", dueLeases},
	{"ConcurrentDueTakesEachOnce", concurrentDueTakesEachOnce},
	{"Reschedule", reschedule},
	{"MarkOverdue", markOverdue},
	{"ConcurrentMarkOverdueEachOnce", concurrentMarkOverdueEachOnce},
	{"List", list},
	{"Forget", forget},
	{"ConcurrentForgetsCountEachOnce", concurrentForgetsCountEachOnce},
	{"UnconfirmedAndConfirm", unconfirmedAndConfirm},
	{"CanceledContextChangesNothing", canceledContextChangesNothing},
}

// Run runs every case as a parallel subtest, each with a store from
// newStore (which may return the same store every time).
func Run(t *testing.T, newStore func(t *testing.T) expect.Store) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if err := c.run(newCheck(newStore(t))); err != nil {
				t.Error(err)
			}
		})
	}
}

// Test runs every case in turn, each with a store from newStore, and
// returns their failures joined; nil when the store meets the contract.
func Test(newStore func() (expect.Store, error)) error {
	var errs []error
	for _, c := range cases {
		s, err := newStore()
		if err == nil {
			err = c.run(newCheck(s))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// epoch is the cases' "now": stores take their times from the caller.
var epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// check is one case's store, its own provider names, and its first error.
type check struct {
	s   expect.Store
	tag string
	// replicas, when set, are stores of the same backend as s, each a
	// replica's own: the concurrent cases spread their calls over them.
	replicas []expect.Store

	mu   sync.Mutex // failf is called from the cases' goroutines too
	errs []error
}

func newCheck(s expect.Store) *check {
	b := make([]byte, 6)
	rand.Read(b)
	return &check{s: s, tag: fmt.Sprintf("%x", b)}
}

func (c *check) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return errors.Join(c.errs...)
}

func (c *check) failf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// replica returns the store the i-th concurrent caller uses.
func (c *check) replica(i int) expect.Store {
	if len(c.replicas) == 0 {
		return c.s
	}
	return c.replicas[i%len(c.replicas)]
}

// provider returns this case's provider called name.
func (c *check) provider(name string) string { return "t" + c.tag + "-" + name }

func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// x returns a valid expectation of this case's provider "p".
func (c *check) x(id, ref string) expect.Expectation {
	return expect.Expectation{
		Provider: c.provider("p"), ID: id, Ref: ref,
		Amount: "10.50", Currency: "USD", Deadline: epoch.Add(time.Hour),
		NextPoll: epoch,
	}
}

func (c *check) add(x expect.Expectation, want error, what string) {
	cx, cancel := ctx()
	defer cancel()
	if err := c.s.Add(cx, x); !is(err, want) {
		c.failf("Add(%s) %s: error %v, want %v", x.Key(), what, err, want)
	}
}

func (c *check) get(k expect.Key, what string) (expect.Expectation, bool) {
	cx, cancel := ctx()
	defer cancel()
	x, err := c.s.Get(cx, k)
	if err != nil {
		c.failf("Get(%s) %s: %v", k, what, err)
		return x, false
	}
	return x, true
}

func (c *check) getErr(k expect.Key, want error, what string) {
	cx, cancel := ctx()
	defer cancel()
	if _, err := c.s.Get(cx, k); !errors.Is(err, want) {
		c.failf("Get(%s) %s: error %v, want %v", k, what, err, want)
	}
}

// wantState checks the state of the expectation k finds.
func (c *check) wantState(k expect.Key, want expect.State, what string) {
	if x, ok := c.get(k, what); ok && x.State != want {
		c.failf("Get(%s) %s: state %v, want %v", k, what, x.State, want)
	}
}

func (c *check) settle(k expect.Key, paymentID string, want error, what string) expect.Expectation {
	cx, cancel := ctx()
	defer cancel()
	x, err := c.s.Settle(cx, k, expect.Settlement{PaymentID: paymentID, Outcome: expect.OutcomePaid, At: epoch})
	if !is(err, want) {
		c.failf("Settle(%s, %q) %s: error %v, want %v", k, paymentID, what, err, want)
	}
	return x
}

func (c *check) due(providers []string, now time.Time, lease time.Duration, limit int) []expect.Expectation {
	cx, cancel := ctx()
	defer cancel()
	xs, err := c.s.Due(cx, providers, now, lease, limit)
	if err != nil {
		c.failf("Due at %v: %v", now, err)
	}
	return xs
}

// is is errors.Is, with nil wanting nil.
func is(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

func ids(xs []expect.Expectation) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, x.ID+x.Ref)
	}
	slices.Sort(out)
	return out
}

func addThenGet(c *check) error {
	x := c.x("pay_1", "order_1")
	x.Attempts, x.State, x.PaymentID = 7, expect.Settled, "bogus"
	c.add(x, nil, "")
	for _, k := range []expect.Key{x.Key(), {Provider: x.Provider, Ref: "order_1"}} {
		got, ok := c.get(k, "")
		if !ok {
			continue
		}
		switch {
		case got.Provider != x.Provider || got.ID != "pay_1" || got.Ref != "order_1" || got.Amount != "10.50" || got.Currency != "USD":
			c.failf("Get(%s) = %+v, want the expectation added", k, got)
		case !got.Deadline.Equal(x.Deadline):
			c.failf("Get(%s): deadline %v, want %v", k, got.Deadline, x.Deadline)
		case got.State != expect.Pending || got.Attempts != 0 || got.PaymentID != "":
			c.failf("Get(%s): state %v, attempts %d, payment %q; want pending, 0, none", k, got.State, got.Attempts, got.PaymentID)
		case got.CreatedAt.IsZero():
			c.failf("Get(%s): CreatedAt is zero; Add sets it", k)
		}
	}
	c.getErr(expect.Key{Provider: x.Provider, ID: "pay_2"}, expect.ErrNotFound, "an unknown id")
	c.getErr(expect.Key{Provider: x.Provider, Ref: "order_2"}, expect.ErrNotFound, "an unknown ref")
	c.getErr(expect.Key{Provider: c.provider("other"), ID: "pay_1"}, expect.ErrNotFound, "another provider's")
	c.getErr(expect.Key{Provider: x.Provider, ID: "order_1"}, expect.ErrNotFound, "a ref given as an id")

	// By ref only: no ID, and a zero NextPoll.
	y := c.x("", "order_3")
	y.NextPoll = time.Time{}
	c.add(y, nil, "by ref only")
	if got, ok := c.get(y.Key(), "by ref only"); ok && (got.ID != "" || got.Ref != "order_3") {
		c.failf("Get(%s) = id %q ref %q, want no id and ref order_3", y.Key(), got.ID, got.Ref)
	}
	return c.err()
}

func addRefusesInvalid(c *check) error {
	valid := c.x("pay_1", "")
	for _, bad := range []struct {
		what string
		edit func(*expect.Expectation)
	}{
		{"no provider", func(x *expect.Expectation) { x.Provider = "" }},
		{"neither id nor ref", func(x *expect.Expectation) { x.ID = "" }},
		{"an amount that is not a number", func(x *expect.Expectation) { x.Amount = "ten" }},
		{"no amount", func(x *expect.Expectation) { x.Amount = "" }},
		{"no currency", func(x *expect.Expectation) { x.Currency = "" }},
		{"no deadline", func(x *expect.Expectation) { x.Deadline = time.Time{} }},
	} {
		x := valid
		bad.edit(&x)
		c.add(x, expect.ErrInvalid, bad.what)
	}
	c.getErr(valid.Key(), expect.ErrNotFound, "after refused Adds")
	c.add(valid, nil, "the valid one")
	return c.err()
}

func addRefusesExisting(c *check) error {
	c.add(c.x("pay_1", "order_1"), nil, "")
	c.add(c.x("pay_1", ""), expect.ErrExists, "the same id")
	c.add(c.x("pay_2", "order_1"), expect.ErrExists, "the same ref, another id")
	c.getErr(expect.Key{Provider: c.provider("p"), ID: "pay_2"}, expect.ErrNotFound, "the refused Add changed nothing")
	c.add(c.x("", "order_1"), expect.ErrExists, "the same ref, no id")

	other := c.x("pay_1", "order_1")
	other.Provider = c.provider("other")
	c.add(other, nil, "another provider's")

	// Whatever the state: a settled expectation's id is still taken.
	c.add(c.x("pay_3", ""), nil, "")
	c.settle(expect.Key{Provider: c.provider("p"), ID: "pay_3"}, "pay_3", nil, "")
	c.add(c.x("pay_3", ""), expect.ErrExists, "a settled one's id")
	return c.err()
}

func settleOnce(c *check) error {
	x := c.x("pay_1", "order_1")
	c.add(x, nil, "")
	k := x.Key()
	got := c.settle(k, "pay_1", nil, "")
	if got.State != expect.Settled || got.PaymentID != "pay_1" || got.Outcome != expect.OutcomePaid || !got.SettledAt.Equal(epoch) {
		c.failf("Settle(%s) = state %v payment %q outcome %q at %v; want settled by pay_1, paid, at %v",
			k, got.State, got.PaymentID, got.Outcome, got.SettledAt, epoch)
	}
	c.wantState(k, expect.Settled, "after Settle")
	again := c.settle(k, "pay_1", nil, "again with the same payment (a retry)")
	if again.State != expect.Settled || again.PaymentID != "pay_1" {
		c.failf("Settle(%s) again = state %v payment %q; want it settled by pay_1", k, again.State, again.PaymentID)
	}
	c.settle(expect.Key{Provider: k.Provider, Ref: "order_1"}, "pay_1", nil, "by ref, with the same payment")
	c.settle(expect.Key{Provider: k.Provider, ID: "pay_9"}, "pay_9", expect.ErrNotFound, "an unknown id")

	cx, cancel := ctx()
	defer cancel()
	y := c.x("pay_2", "")
	c.add(y, nil, "")
	for _, s := range []expect.Settlement{{Outcome: expect.OutcomePaid}, {PaymentID: "pay_2"}} {
		if _, err := c.s.Settle(cx, y.Key(), s); !errors.Is(err, expect.ErrInvalid) {
			c.failf("Settle(%s, %+v): error %v, want ErrInvalid", y.Key(), s, err)
		}
	}
	c.wantState(y.Key(), expect.Pending, "after invalid Settles")

	// Settled with another outcome, the provider's final word too.
	if s, err := c.s.Settle(cx, y.Key(), expect.Settlement{PaymentID: "pay_2", Outcome: expect.OutcomeFailed, At: epoch}); err != nil || s.Outcome != expect.OutcomeFailed {
		c.failf("Settle(%s, failed) = outcome %q, %v; want failed, nil", y.Key(), s.Outcome, err)
	}
	return c.err()
}

func settleByRef(c *check) error {
	x := c.x("", "order_1")
	c.add(x, nil, "")
	got := c.settle(x.Key(), "ord_signed_1", nil, "by ref")
	if got.PaymentID != "ord_signed_1" || got.State != expect.Settled {
		c.failf("Settle(%s) = state %v payment %q; want settled by ord_signed_1", x.Key(), got.State, got.PaymentID)
	}
	c.settle(x.Key(), "ord_signed_1", nil, "again, the same payment")
	c.settle(x.Key(), "ord_signed_2", expect.ErrSettled, "another payment")
	if y, ok := c.get(x.Key(), "after a refused Settle"); ok && y.PaymentID != "ord_signed_1" {
		c.failf("Get(%s): payment %q, want ord_signed_1 still", x.Key(), y.PaymentID)
	}
	return c.err()
}

func settleRefusesAnotherPayment(c *check) error {
	x := c.x("pay_1", "order_1")
	c.add(x, nil, "")
	c.settle(expect.Key{Provider: x.Provider, Ref: "order_1"}, "pay_2", expect.ErrConflict, "by ref, with a payment other than its id")
	c.wantState(x.Key(), expect.Pending, "after the refused Settle")

	y := c.x("pay_3", "")
	c.add(y, nil, "")
	cx, cancel := ctx()
	defer cancel()
	if err := c.s.Cancel(cx, y.Key()); err != nil {
		c.failf("Cancel(%s): %v", y.Key(), err)
	}
	c.settle(y.Key(), "pay_3", expect.ErrState, "a cancelled one")
	c.wantState(y.Key(), expect.Cancelled, "after the refused Settle")
	return c.err()
}

// concurrentSettlesOneWinner: many payments race for one expectation.
func concurrentSettlesOneWinner(c *check) error {
	x := c.x("", "order_1")
	c.add(x, nil, "")
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cx, cancel := ctx()
			defer cancel()
			_, errs[i] = c.replica(i).Settle(cx, x.Key(), expect.Settlement{PaymentID: fmt.Sprintf("pay_%d", i), Outcome: expect.OutcomePaid, At: epoch})
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, expect.ErrSettled):
			c.failf("Settle(%s, pay_%d): error %v, want nil or ErrSettled", x.Key(), i, err)
		}
	}
	if won != 1 {
		c.failf("%d of %d concurrent Settles of one expectation succeeded, want 1", won, n)
	}
	return c.err()
}

// onePaymentSettlesOne: one payment id races for many expectations.
func onePaymentSettlesOne(c *check) error {
	const n = 16
	for i := range n {
		c.add(c.x("", fmt.Sprintf("order_%d", i)), nil, "")
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cx, cancel := ctx()
			defer cancel()
			_, errs[i] = c.replica(i).Settle(cx, expect.Key{Provider: c.provider("p"), Ref: fmt.Sprintf("order_%d", i)},
				expect.Settlement{PaymentID: "ord_signed", Outcome: expect.OutcomePaid, At: epoch})
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, expect.ErrConflict):
			c.failf("Settle(order_%d, ord_signed): error %v, want nil or ErrConflict", i, err)
		}
	}
	if won != 1 {
		c.failf("one payment id settled %d of %d expectations, want 1", won, n)
	}
	// Another provider's payment of the same id is another payment.
	o := c.x("", "order_0")
	o.Provider = c.provider("other")
	c.add(o, nil, "")
	c.settle(o.Key(), "ord_signed", nil, "another provider's expectation, the same payment id")
	return c.err()
}

func reopen(c *check) error {
	x := c.x("", "order_1")
	c.add(x, nil, "")
	k := x.Key()
	cx, cancel := ctx()
	defer cancel()
	if err := c.s.Reopen(cx, k, "ord_1"); !errors.Is(err, expect.ErrState) {
		c.failf("Reopen(%s) of a pending one: %v, want ErrState", k, err)
	}
	c.settle(k, "ord_1", nil, "")
	if err := c.s.Reopen(cx, k, "ord_2"); !errors.Is(err, expect.ErrState) {
		c.failf("Reopen(%s, another payment): %v, want ErrState", k, err)
	}
	c.wantState(k, expect.Settled, "after a refused Reopen")
	if err := c.s.Reopen(cx, k, "ord_1"); err != nil {
		c.failf("Reopen(%s, ord_1): %v", k, err)
	}
	if got, ok := c.get(k, "after Reopen"); ok && (got.State != expect.Pending || got.PaymentID != "") {
		c.failf("Get(%s) after Reopen: state %v payment %q; want pending, no payment", k, got.State, got.PaymentID)
	}
	// The payment is free again: it may settle this one, or another.
	y := c.x("", "order_2")
	c.add(y, nil, "")
	c.settle(y.Key(), "ord_1", nil, "another expectation, by the reopened payment")
	c.settle(k, "ord_1", expect.ErrConflict, "the reopened one, by a payment now another's")
	if err := c.s.Reopen(cx, expect.Key{Provider: x.Provider, Ref: "nope"}, "ord_1"); !errors.Is(err, expect.ErrNotFound) {
		c.failf("Reopen of an unknown ref: %v, want ErrNotFound", err)
	}

	// A reopened expectation with an ID is due for a poll at once.
	z := c.x("pay_3", "")
	z.NextPoll = epoch.Add(time.Hour)
	c.add(z, nil, "")
	c.settle(z.Key(), "pay_3", nil, "")
	if err := c.s.Reopen(cx, z.Key(), "pay_3"); err != nil {
		c.failf("Reopen(%s): %v", z.Key(), err)
	}
	if got := ids(c.due([]string{z.Provider}, epoch, time.Minute, 10)); !slices.Equal(got, []string{"pay_3"}) {
		c.failf("Due after Reopen = %v, want [pay_3]", got)
	}
	return c.err()
}

func cancel(c *check) error {
	cx, cancelCtx := ctx()
	defer cancelCtx()
	x := c.x("pay_1", "")
	c.add(x, nil, "")
	for i := range 2 {
		if err := c.s.Cancel(cx, x.Key()); err != nil {
			c.failf("Cancel(%s) #%d: %v", x.Key(), i+1, err)
		}
	}
	c.wantState(x.Key(), expect.Cancelled, "")
	if got := c.due([]string{x.Provider}, epoch.Add(time.Hour), time.Minute, 10); len(got) != 0 {
		c.failf("Due returned cancelled expectations %v", ids(got))
	}
	if err := c.s.Cancel(cx, expect.Key{Provider: x.Provider, ID: "nope"}); !errors.Is(err, expect.ErrNotFound) {
		c.failf("Cancel of an unknown id: %v, want ErrNotFound", err)
	}
	y := c.x("pay_2", "")
	c.add(y, nil, "")
	c.settle(y.Key(), "pay_2", nil, "")
	if err := c.s.Cancel(cx, y.Key()); !errors.Is(err, expect.ErrState) {
		c.failf("Cancel of a settled one: %v, want ErrState", err)
	}
	c.wantState(y.Key(), expect.Settled, "after a refused Cancel")

	// An overdue one may be cancelled.
	z := c.x("pay_3", "")
	z.Deadline = epoch
	c.add(z, nil, "")
	if _, err := c.s.MarkOverdue(cx, []string{z.Provider}, epoch, 10); err != nil {
		c.failf("MarkOverdue: %v", err)
	}
	if err := c.s.Cancel(cx, z.Key()); err != nil {
		c.failf("Cancel of an overdue one: %v", err)
	}
	c.wantState(z.Key(), expect.Cancelled, "an overdue one, cancelled")
	return c.err()
}

func dueLeases(c *check) error {
	p, q := c.provider("p"), c.provider("q")
	for i, at := range []time.Duration{-2 * time.Minute, -time.Minute, 0, time.Minute} {
		x := c.x(fmt.Sprintf("pay_%d", i), "")
		x.NextPoll = epoch.Add(at)
		c.add(x, nil, "")
	}
	c.add(c.x("", "by_ref"), nil, "")
	other := c.x("pay_q", "")
	other.Provider = q
	c.add(other, nil, "")
	settled := c.x("pay_s", "")
	c.add(settled, nil, "")
	c.settle(settled.Key(), "pay_s", nil, "")

	lease := 30 * time.Second
	first := c.due([]string{p}, epoch, lease, 2)
	if got := ids(first); !slices.Equal(got, []string{"pay_0", "pay_1"}) {
		c.failf("Due(limit 2) = %v, want the two due first, [pay_0 pay_1]", got)
	}
	for _, x := range first {
		if x.Attempts != 1 || !x.NextPoll.Equal(epoch.Add(lease)) {
			c.failf("Due took %s with attempts %d, next poll %v; want 1, %v", x.ID, x.Attempts, x.NextPoll, epoch.Add(lease))
		}
	}
	if got := ids(c.due([]string{p}, epoch, lease, 10)); !slices.Equal(got, []string{"pay_2"}) {
		c.failf("Due again = %v, want only [pay_2]: the others are leased, pay_3 not due, by_ref has no id", got)
	}
	if got := ids(c.due([]string{p}, epoch.Add(lease-time.Second), lease, 10)); len(got) != 0 {
		c.failf("Due within the leases = %v, want none", got)
	}
	if got := ids(c.due([]string{p}, epoch.Add(lease), lease, 10)); !slices.Equal(got, []string{"pay_0", "pay_1", "pay_2"}) {
		c.failf("Due once the leases end = %v, want [pay_0 pay_1 pay_2]", got)
	}
	if got := ids(c.due([]string{p, q}, epoch.Add(2*lease), lease, 10)); !slices.Equal(got, []string{"pay_0", "pay_1", "pay_2", "pay_3", "pay_q"}) {
		c.failf("Due of both providers = %v, want [pay_0 pay_1 pay_2 pay_3 pay_q]", got)
	}
	if x, ok := c.get(expect.Key{Provider: p, ID: "pay_0"}, ""); ok && x.Attempts != 3 {
		c.failf("pay_0 taken three times has attempts %d", x.Attempts)
	}
	if got := c.due([]string{p}, epoch, lease, 0); len(got) != 0 {
		c.failf("Due(limit 0) = %v, want none", ids(got))
	}
	return c.err()
}

func concurrentDueTakesEachOnce(c *check) error {
	const n, workers = 40, 8
	for i := range n {
		c.add(c.x(fmt.Sprintf("pay_%02d", i), ""), nil, "")
	}
	c.eachOnce("concurrent Dues", "within its lease", n, workers, func(w int) []expect.Expectation {
		return c.dueQuiet(c.replica(w), epoch)
	})
	return c.err()
}

// eachOnce runs take in workers goroutines, each until take returns
// nothing (or n times), and checks that of the n expectations each was
// returned by one take only, once; what names the calls in a failure, and
// within says when they must not return one twice.
func (c *check) eachOnce(what, within string, n, workers int, take func(w int) []expect.Expectation) {
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				xs := take(w)
				if len(xs) == 0 {
					return
				}
				mu.Lock()
				for _, x := range xs {
					seen[x.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if within != "" {
		within = " " + within
	}
	if len(seen) != n {
		c.failf("%s returned %d distinct expectations, want %d", what, len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			c.failf("%s returned %s %d times%s, want once", what, id, k, within)
		}
	}
}

func (c *check) dueQuiet(s expect.Store, now time.Time) []expect.Expectation {
	cx, cancel := ctx()
	defer cancel()
	xs, err := s.Due(cx, []string{c.provider("p")}, now, time.Hour, 3)
	if err != nil {
		c.failf("Due: %v", err)
	}
	return xs
}

func reschedule(c *check) error {
	x := c.x("pay_1", "")
	c.add(x, nil, "")
	cx, cancel := ctx()
	defer cancel()
	if err := c.s.Reschedule(cx, x.Key(), epoch.Add(5*time.Minute)); err != nil {
		c.failf("Reschedule: %v", err)
	}
	if got := c.due([]string{x.Provider}, epoch.Add(5*time.Minute-time.Second), time.Minute, 10); len(got) != 0 {
		c.failf("Due before the rescheduled time = %v, want none", ids(got))
	}
	if got, ok := c.get(x.Key(), ""); ok && !got.NextPoll.Equal(epoch.Add(5*time.Minute)) {
		c.failf("NextPoll after Reschedule = %v, want %v", got.NextPoll, epoch.Add(5*time.Minute))
	}
	if got := ids(c.due([]string{x.Provider}, epoch.Add(5*time.Minute), time.Minute, 10)); !slices.Equal(got, []string{"pay_1"}) {
		c.failf("Due at the rescheduled time = %v, want [pay_1]", got)
	}
	if err := c.s.Reschedule(cx, expect.Key{Provider: x.Provider, ID: "nope"}, epoch); !errors.Is(err, expect.ErrNotFound) {
		c.failf("Reschedule of an unknown id: %v, want ErrNotFound", err)
	}
	c.settle(x.Key(), "pay_1", nil, "")
	if err := c.s.Reschedule(cx, x.Key(), epoch); !errors.Is(err, expect.ErrState) {
		c.failf("Reschedule of a settled one: %v, want ErrState", err)
	}
	return c.err()
}

func markOverdue(c *check) error {
	p := c.provider("p")
	cx, cancel := ctx()
	defer cancel()
	late := c.x("pay_late", "")
	late.Deadline = epoch
	onTime := c.x("pay_ontime", "")
	onTime.Deadline = epoch.Add(time.Second)
	paid := c.x("pay_paid", "")
	paid.Deadline = epoch.Add(-time.Hour)
	byRef := c.x("", "ref_late")
	byRef.Deadline = epoch.Add(-time.Minute)
	for _, x := range []expect.Expectation{late, onTime, paid, byRef} {
		c.add(x, nil, "")
	}
	c.settle(paid.Key(), "pay_paid", nil, "")

	got, err := c.s.MarkOverdue(cx, []string{p}, epoch, 10)
	if err != nil {
		c.failf("MarkOverdue: %v", err)
	}
	if ids := ids(got); !slices.Equal(ids, []string{"pay_late", "ref_late"}) {
		c.failf("MarkOverdue = %v, want [pay_late ref_late]: past their deadline, not settled", ids)
	}
	for _, x := range got {
		if x.State != expect.Overdue {
			c.failf("MarkOverdue returned %s in state %v, want overdue", x.Key(), x.State)
		}
	}
	if again, _ := c.s.MarkOverdue(cx, []string{p}, epoch, 10); len(again) != 0 {
		c.failf("MarkOverdue again = %v, want none: each is returned once", ids(again))
	}
	c.wantState(late.Key(), expect.Overdue, "")
	c.wantState(onTime.Key(), expect.Pending, "before its deadline")
	c.wantState(paid.Key(), expect.Settled, "settled before its deadline passed")
	if due := c.due([]string{p}, epoch.Add(time.Hour), time.Minute, 10); slices.Contains(ids(due), "pay_late") {
		c.failf("Due took an overdue expectation")
	}
	// A late payment still settles it.
	c.settle(late.Key(), "pay_late", nil, "an overdue one, paid late")
	c.wantState(late.Key(), expect.Settled, "paid late")
	return c.err()
}

func concurrentMarkOverdueEachOnce(c *check) error {
	const n, workers = 30, 6
	for i := range n {
		x := c.x(fmt.Sprintf("pay_%02d", i), "")
		x.Deadline = epoch
		c.add(x, nil, "")
	}
	c.eachOnce("concurrent MarkOverdues", "", n, workers, func(w int) []expect.Expectation {
		cx, cancel := ctx()
		defer cancel()
		xs, err := c.replica(w).MarkOverdue(cx, []string{c.provider("p")}, epoch, 4)
		if err != nil {
			c.failf("MarkOverdue: %v", err)
		}
		return xs
	})
	return c.err()
}

func list(c *check) error {
	p, q := c.provider("p"), c.provider("q")
	for i := range 5 {
		x := c.x(fmt.Sprintf("pay_%d", i), "")
		x.Deadline = epoch.Add(time.Duration(5-i) * time.Minute) // pay_4 earliest
		c.add(x, nil, "")
	}
	other := c.x("pay_q", "")
	other.Provider = q
	c.add(other, nil, "")
	c.settle(expect.Key{Provider: p, ID: "pay_2"}, "pay_2", nil, "")

	cx, cancel := ctx()
	defer cancel()
	all, err := c.s.List(cx, expect.Filter{Provider: p})
	if err != nil {
		c.failf("List: %v", err)
	}
	var order []string
	for _, x := range all {
		order = append(order, x.ID)
	}
	if !slices.Equal(order, []string{"pay_4", "pay_3", "pay_2", "pay_1", "pay_0"}) {
		c.failf("List(provider p) = %v, want the earliest deadline first, [pay_4 pay_3 pay_2 pay_1 pay_0]", order)
	}
	pending, _ := c.s.List(cx, expect.Filter{Provider: p, State: expect.Pending, Limit: 2})
	if got := ids(pending); !slices.Equal(got, []string{"pay_3", "pay_4"}) {
		c.failf("List(pending, limit 2) = %v, want [pay_3 pay_4]", got)
	}
	settled, _ := c.s.List(cx, expect.Filter{Provider: p, State: expect.Settled})
	if got := ids(settled); !slices.Equal(got, []string{"pay_2"}) {
		c.failf("List(settled) = %v, want [pay_2]", got)
	}
	if qs, _ := c.s.List(cx, expect.Filter{Provider: q}); !slices.Equal(ids(qs), []string{"pay_q"}) {
		c.failf("List(provider q) = %v, want [pay_q]", ids(qs))
	}
	return c.err()
}

// The times of the Forget cases: deadlines long before any other case's,
// so that a Forget of every provider's, before justAfter, deletes only the
// Forget case's own (not even those of the concurrent case, run at once,
// whose deadlines are later); and the time before which the other
// Forgets delete.
var (
	longAgo   = time.Date(1990, 1, 2, 3, 4, 5, 0, time.UTC)
	justAfter = longAgo.Add(time.Hour)
	later     = time.Date(1995, 1, 2, 3, 4, 5, 0, time.UTC)
	retained  = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// old returns an expectation of this case's provider p whose deadline is
// long ago.
func (c *check) old(provider, id string) expect.Expectation {
	x := c.x(id, "ref_"+id)
	x.Provider, x.Deadline, x.NextPoll = c.provider(provider), longAgo, longAgo
	return x
}

func (c *check) settleAt(x expect.Expectation, at time.Time) {
	cx, cancel := ctx()
	defer cancel()
	if _, err := c.s.Settle(cx, x.Key(), expect.Settlement{PaymentID: x.ID, Outcome: expect.OutcomePaid, At: at}); err != nil {
		c.failf("Settle(%s): %v", x.Key(), err)
	}
}

func (c *check) forget(providers []string, before time.Time, limit int) int {
	cx, cancel := ctx()
	defer cancel()
	n, err := c.s.Forget(cx, providers, before, limit)
	if err != nil {
		c.failf("Forget(%v): %v", providers, err)
	}
	return n
}

func forget(c *check) error {
	cx, cancel := ctx()
	defer cancel()
	p := c.provider("p")
	settled, late, cancelled := c.old("p", "pay_settled"), c.old("p", "pay_late"), c.old("p", "pay_cancelled")
	overdue, pending, recent := c.old("p", "pay_overdue"), c.old("p", "pay_pending"), c.x("pay_recent", "")
	other := c.old("q", "pay_other")
	for _, x := range []expect.Expectation{settled, late, cancelled, overdue, recent, other} {
		c.add(x, nil, "")
	}
	c.settleAt(settled, longAgo)
	c.settleAt(late, epoch) // settled after the retention began: kept
	c.settleAt(other, longAgo)
	for _, x := range []expect.Expectation{cancelled, recent} {
		if err := c.s.Cancel(cx, x.Key()); err != nil {
			c.failf("Cancel(%s): %v", x.Key(), err)
		}
	}
	if _, err := c.s.MarkOverdue(cx, []string{p}, retained, 10); err != nil {
		c.failf("MarkOverdue: %v", err)
	}
	c.add(pending, nil, "pending, its deadline long ago")

	if n := c.forget([]string{p}, retained, 0); n != 0 {
		c.failf("Forget(limit 0) = %d, want 0", n)
	}
	if n := c.forget([]string{p}, retained, 1); n != 1 {
		c.failf("Forget(limit 1) = %d, want 1", n)
	}
	if n := c.forget([]string{p}, retained, 10); n != 1 {
		c.failf("Forget of the rest = %d, want 1 (the settled and the cancelled ones, in all)", n)
	}
	for _, x := range []expect.Expectation{settled, cancelled} {
		c.getErr(x.Key(), expect.ErrNotFound, "forgotten")
		c.getErr(expect.Key{Provider: p, Ref: x.Ref}, expect.ErrNotFound, "forgotten, by ref")
	}
	c.wantState(late.Key(), expect.Settled, "settled after the retention began")
	c.wantState(overdue.Key(), expect.Overdue, "overdue: never forgotten")
	c.wantState(pending.Key(), expect.Pending, "pending: never forgotten")
	c.wantState(recent.Key(), expect.Cancelled, "cancelled, its deadline after the retention began")
	c.wantState(other.Key(), expect.Settled, "another provider's")

	// Forgotten, its id, ref and payment are free again: the payment that
	// settled it may settle another expectation.
	c.add(settled, nil, "again, once forgotten")
	again := c.x("", "ref_again")
	c.add(again, nil, "")
	c.settle(again.Key(), settled.ID, nil, "by the payment of a forgotten expectation")

	if n := c.forget(nil, justAfter, 100); n < 1 {
		c.failf("Forget of every provider = %d, want at least 1 (another provider's)", n)
	}
	c.getErr(other.Key(), expect.ErrNotFound, "forgotten with every provider's")
	return c.err()
}

func concurrentForgetsCountEachOnce(c *check) error {
	const n, workers = 24, 6
	p := c.provider("p")
	for i := range n {
		x := c.old("p", fmt.Sprintf("pay_%02d", i))
		x.Deadline = later
		c.add(x, nil, "")
		cx, cancel := ctx()
		if err := c.s.Cancel(cx, x.Key()); err != nil {
			c.failf("Cancel(%s): %v", x.Key(), err)
		}
		cancel()
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				cx, cancel := ctx()
				k, err := c.replica(w).Forget(cx, []string{p}, retained, 3)
				cancel()
				if err != nil {
					c.failf("Forget: %v", err)
				}
				if k == 0 {
					return
				}
				mu.Lock()
				total += k
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if total != n {
		c.failf("concurrent Forgets counted %d, want %d", total, n)
	}
	return c.err()
}

func canceledContextChangesNothing(c *check) error {
	x := c.x("pay_1", "")
	c.add(x, nil, "")
	dead, cancel := context.WithCancel(context.Background())
	cancel()
	y := c.x("pay_2", "")
	if err := c.s.Add(dead, y); err == nil {
		if _, gerr := c.s.Get(context.Background(), y.Key()); gerr != nil {
			c.failf("Add with a canceled context returned nil but stored nothing: %v", gerr)
		}
	}
	if _, err := c.s.Settle(dead, x.Key(), expect.Settlement{PaymentID: "pay_1", Outcome: expect.OutcomePaid, At: epoch}); err == nil {
		c.wantState(x.Key(), expect.Settled, "a Settle that returned nil")
	} else {
		c.wantState(x.Key(), expect.Pending, "a Settle with a canceled context that returned an error")
	}
	return c.err()
}

func (c *check) unconfirmed(providers []string, before time.Time, limit int) []expect.Expectation {
	cx, cancel := ctx()
	defer cancel()
	xs, err := c.s.Unconfirmed(cx, providers, before, limit)
	if err != nil {
		c.failf("Unconfirmed(%v, %s, %d): %v", providers, before, limit, err)
	}
	for _, x := range xs {
		if x.State != expect.Settled || x.PaymentID == "" {
			c.failf("Unconfirmed returned %s in state %v, payment %q; want settled", x.Key(), x.State, x.PaymentID)
		}
	}
	return xs
}

// order returns the IDs of xs, in their order.
func order(xs []expect.Expectation) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, x.ID+x.Ref)
	}
	return out
}

func unconfirmedAndConfirm(c *check) error {
	cx, cancel := ctx()
	defer cancel()
	p, q := c.provider("p"), c.provider("q")
	early, late, byRef, recent := c.x("pay_early", ""), c.x("pay_late", ""), c.x("", "order_ref"), c.x("pay_recent", "")
	pending, other := c.x("pay_pending", ""), c.x("pay_other", "")
	other.Provider = q
	for _, x := range []expect.Expectation{early, late, byRef, recent, pending, other} {
		c.add(x, nil, "")
	}
	c.settleAt(late, epoch.Add(-time.Minute))
	c.settleAt(early, epoch.Add(-time.Hour))
	if _, err := c.s.Settle(cx, byRef.Key(), expect.Settlement{PaymentID: "ord_ref", Outcome: expect.OutcomeFailed, At: epoch.Add(-30 * time.Minute)}); err != nil {
		c.failf("Settle(%s): %v", byRef.Key(), err)
	}
	c.settleAt(recent, epoch.Add(time.Minute)) // after before: not yet
	c.settleAt(other, epoch.Add(-time.Hour))

	if got := c.unconfirmed([]string{p}, epoch, 0); len(got) != 0 {
		c.failf("Unconfirmed(limit 0) = %v, want none", order(got))
	}
	if got := order(c.unconfirmed([]string{p}, epoch, 10)); !slices.Equal(got, []string{"pay_early", "order_ref", "pay_late"}) {
		c.failf("Unconfirmed = %v, want [pay_early order_ref pay_late], the earliest settled first", got)
	}
	if got := order(c.unconfirmed([]string{p}, epoch, 2)); !slices.Equal(got, []string{"pay_early", "order_ref"}) {
		c.failf("Unconfirmed(limit 2) = %v, want [pay_early order_ref]", got)
	}
	if got := order(c.unconfirmed([]string{p, q}, epoch, 10)); len(got) != 4 {
		c.failf("Unconfirmed of two providers = %v, want four", got)
	}
	// Unconfirmed changed nothing.
	c.wantState(early.Key(), expect.Settled, "after Unconfirmed")

	// Confirm: by the payment that settled it only.
	if err := c.s.Confirm(cx, early.Key(), "pay_other"); !errors.Is(err, expect.ErrState) {
		c.failf("Confirm(%s, another payment): %v, want ErrState", early.Key(), err)
	}
	if err := c.s.Confirm(cx, pending.Key(), "pay_pending"); !errors.Is(err, expect.ErrState) {
		c.failf("Confirm(%s) of a pending one: %v, want ErrState", pending.Key(), err)
	}
	if err := c.s.Confirm(cx, expect.Key{Provider: p, ID: "pay_nope"}, "pay_nope"); !errors.Is(err, expect.ErrNotFound) {
		c.failf("Confirm of an unknown id: %v, want ErrNotFound", err)
	}
	for range 2 { // a confirmed one stays so
		if err := c.s.Confirm(cx, early.Key(), "pay_early"); err != nil {
			c.failf("Confirm(%s): %v", early.Key(), err)
		}
	}
	if err := c.s.Confirm(cx, byRef.Key(), "ord_ref"); err != nil {
		c.failf("Confirm(%s): %v", byRef.Key(), err)
	}
	if got := order(c.unconfirmed([]string{p}, epoch, 10)); !slices.Equal(got, []string{"pay_late"}) {
		c.failf("Unconfirmed after two Confirms = %v, want [pay_late]", got)
	}
	c.wantState(early.Key(), expect.Settled, "confirmed")

	// Reopened and settled again, it is unconfirmed again; a retry of
	// Settle leaves a confirmed one confirmed.
	if err := c.s.Reopen(cx, early.Key(), "pay_early"); err != nil {
		c.failf("Reopen(%s): %v", early.Key(), err)
	}
	if got := order(c.unconfirmed([]string{p}, epoch, 10)); !slices.Equal(got, []string{"pay_late"}) {
		c.failf("Unconfirmed with a reopened one = %v, want [pay_late]", got)
	}
	c.settleAt(early, epoch.Add(-2*time.Hour))
	if got := order(c.unconfirmed([]string{p}, epoch, 10)); !slices.Equal(got, []string{"pay_early", "pay_late"}) {
		c.failf("Unconfirmed after settling it again = %v, want [pay_early pay_late]", got)
	}
	if _, err := c.s.Settle(cx, byRef.Key(), expect.Settlement{PaymentID: "ord_ref", Outcome: expect.OutcomeFailed, At: epoch}); err != nil {
		c.failf("Settle(%s) again: %v", byRef.Key(), err)
	}
	if got := order(c.unconfirmed([]string{p}, epoch, 10)); !slices.Equal(got, []string{"pay_early", "pay_late"}) {
		c.failf("Unconfirmed after a retry of a confirmed one's Settle = %v, want [pay_early pay_late]", got)
	}

	// Forgotten, it is gone from Unconfirmed too.
	if n, err := c.s.Forget(cx, []string{q}, epoch.Add(2*time.Hour), 10); err != nil || n != 1 {
		c.failf("Forget(%s) = %d, %v; want 1", q, n, err)
	}
	if got := c.unconfirmed([]string{q}, epoch.Add(2*time.Hour), 10); len(got) != 0 {
		c.failf("Unconfirmed of a forgotten one = %v, want none", order(got))
	}
	return c.err()
}

package payhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/internal/optcheck"
)

// Defaults of the reconciler's options.
const (
	// DefaultFirstPoll is the wait before an expectation's first poll, and
	// the unit of the waits after it: 1, 2, 5, 10 and 30 times it, then 60
	// times it (hourly) until the deadline.
	DefaultFirstPoll = time.Minute
	// DefaultPollRate is how many status API requests a second the
	// reconciler makes to one provider, at most; DefaultPollBurst how many
	// at once after a quiet while.
	DefaultPollRate  = 2
	DefaultPollBurst = 4
	// DefaultPollInterval is how often Run looks for due expectations.
	DefaultPollInterval = time.Second
	// DefaultPollLease is how long an expectation taken for a poll is held
	// from the other replicas: longer than a poll can take.
	DefaultPollLease = 2 * time.Minute
	// DefaultExpectDeadline is the deadline Reconciler.Expect gives an
	// expectation that has none: a day after it is added.
	DefaultExpectDeadline = 24 * time.Hour
	// DefaultPollWorkers is how many polls of one provider run at once.
	DefaultPollWorkers = 4
	// DefaultExpectRetention is how long the reconciler keeps a settled or
	// cancelled expectation after its deadline (and its settlement):
	// after it, the expectation is forgotten (expect.Store.Forget).
	DefaultExpectRetention = 30 * 24 * time.Hour
	// ForgetInterval is how often a pass forgets the expectations past
	// their retention: the first pass, then at most once per interval.
	ForgetInterval = time.Hour
)

// pollSteps are the waits between the polls of one expectation, in units
// of the first wait: after the last, every wait is the last.
var pollSteps = [...]time.Duration{1, 2, 5, 10, 30, 60}

// batchSize bounds what one pass takes from the store at once.
const batchSize = 100

// Reconciler is the second door: it polls the provider's status API for
// each expectation that no webhook has settled yet, on a backoff, within a
// per-provider request budget, and hands each payment it finds to the same
// pipeline as a webhook ([Handle] with [WithReconciler]): same key,
// idempotency store, inbox, observer and handler, so that whichever door
// comes first is processed and the other is "already processed". It also
// marks the expectations past their deadline overdue, logs each at error
// level and reports it to the observer, once, across replicas.
//
// Polling never settles a payment on an unsigned claim: only the status
// API's answer ([Poller]) reaches the pipeline. Kazawallet has no status
// API: its expectations are only ever reported overdue.
//
// Make one with [NewReconciler], pass it to each provider's Handle with
// WithReconciler, and run it ([Reconciler.Run]) beside the server, on every
// replica: the store leases each expectation to one replica at a time.
// Its methods are safe for concurrent use.
type Reconciler struct {
	store    expect.Store
	now      func() time.Time
	first    time.Duration
	limit    rate.Limit
	burst    int
	interval time.Duration
	lease    time.Duration
	workers  int
	keep     time.Duration
	logger   *slog.Logger
	observer *Observer
	refused  optcheck.Refused

	mu     sync.Mutex
	polls  map[string]*pollReg
	sweeps map[string]*sweepReg
	forgot time.Time // when a pass last forgot old expectations; zero before the first
}

// pollReg is one provider's poll, registered by Handle, and its budget.
type pollReg struct {
	poll func(ctx context.Context, x expect.Expectation) error
	lim  *rate.Limiter
}

// sweepReg is one provider's sweep, registered by Handle: the check of
// one settled, unconfirmed expectation against the provider's
// idempotency store, and the lease of that store's claims.
type sweepReg struct {
	check func(ctx context.Context, x expect.Expectation, now time.Time) (sweepResult, error)
	lease time.Duration
}

// sweepResult is what a sweep did with one expectation.
type sweepResult string

const (
	sweptDone     sweepResult = "done"      // its payment's key is done: confirmed
	sweptInFlight sweepResult = "in flight" // a delivery holds its key: left for a later pass
	sweptReopened sweepResult = "reopened"  // its key is free: no handler credited it
	sweptUnknown  sweepResult = "unknown"   // too old for the store to tell: confirmed, logged
)

// ReconcileOption configures [NewReconciler].
type ReconcileOption func(*Reconciler)

// WithFirstPoll sets the wait before an expectation's first poll, which is
// also the unit of the waits after it (1, 2, 5, 10, 30, then 60 times it).
// Default: DefaultFirstPoll. A value below 1 is refused ([ErrConfig]).
func WithFirstPoll(d time.Duration) ReconcileOption {
	return func(r *Reconciler) { optcheck.Positive(&r.refused, "WithFirstPoll", d, &r.first) }
}

// WithPollRate sets the request budget for each provider's status API:
// perSecond requests a second, burst at once. Default: DefaultPollRate and
// DefaultPollBurst. Values not above 0 are refused ([ErrConfig]).
func WithPollRate(perSecond float64, burst int) ReconcileOption {
	return func(r *Reconciler) {
		if !(perSecond > 0) || burst <= 0 {
			r.refused.Add("WithPollRate(%v, %d): not positive", perSecond, burst)
			return
		}
		r.limit, r.burst = rate.Limit(perSecond), burst
	}
}

// WithPollInterval sets how often Run looks for due expectations. Default:
// DefaultPollInterval. A value below 1 is refused ([ErrConfig]).
func WithPollInterval(d time.Duration) ReconcileOption {
	return func(r *Reconciler) { optcheck.Positive(&r.refused, "WithPollInterval", d, &r.interval) }
}

// WithPollLease sets how long an expectation taken for a poll is held from
// the other replicas. Default: DefaultPollLease. A value below 1 is
// refused ([ErrConfig]).
func WithPollLease(d time.Duration) ReconcileOption {
	return func(r *Reconciler) { optcheck.Positive(&r.refused, "WithPollLease", d, &r.lease) }
}

// WithPollWorkers sets how many polls of one provider run at once.
// Default: DefaultPollWorkers. A value below 1 is refused ([ErrConfig]).
func WithPollWorkers(n int) ReconcileOption {
	return func(r *Reconciler) { optcheck.Positive(&r.refused, "WithPollWorkers", n, &r.workers) }
}

// WithExpectRetention sets how long a settled or cancelled expectation is
// kept after its deadline, and after its settlement for a settled one:
// each pass, at most once every ForgetInterval, forgets those past it
// (expect.Store.Forget), so that the store does not grow forever. A
// forgotten expectation no longer stops the payment that settled it from
// settling another, and is no longer listed: keep it longer than any
// redelivery of a webhook you expect, and longer than the idempotency
// store's retention ([WithRetention]). Pending and overdue expectations
// are never forgotten. Default: DefaultExpectRetention. A value below 1 is
// refused ([ErrConfig]).
func WithExpectRetention(d time.Duration) ReconcileOption {
	return func(r *Reconciler) { optcheck.Positive(&r.refused, "WithExpectRetention", d, &r.keep) }
}

// WithReconcileClock sets the clock that decides what is due, overdue and
// within the request budget. Default: time.Now. nil is refused
// ([ErrConfig]).
func WithReconcileClock(now func() time.Time) ReconcileOption {
	return func(r *Reconciler) {
		if now == nil {
			r.refused.Add("WithReconcileClock(nil)")
			return
		}
		r.now = now
	}
}

// WithReconcileLogger sets the logger of overdue expectations (error
// level) and failed polls. Default: none. nil is refused ([ErrConfig]).
func WithReconcileLogger(l *slog.Logger) ReconcileOption {
	return func(r *Reconciler) { optcheck.NotNil(&r.refused, "WithReconcileLogger", l, &r.logger) }
}

// WithReconcileObserver sets the observer told of each poll and each
// overdue expectation ([Observer.Reconcile]). Default: none.
func WithReconcileObserver(o Observer) ReconcileOption {
	return func(r *Reconciler) { r.observer = o.orNil() }
}

// NewReconciler returns a Reconciler of the expectations in store. It
// panics if store is nil, and with an error wrapping [ErrConfig] if an
// option is given a value it cannot use, as Handle does.
func NewReconciler(store expect.Store, opts ...ReconcileOption) *Reconciler {
	if store == nil {
		panic(fmt.Errorf("%w: NewReconciler(nil)", ErrConfig))
	}
	r := &Reconciler{
		store: store, now: time.Now, first: DefaultFirstPoll,
		limit: DefaultPollRate, burst: DefaultPollBurst,
		interval: DefaultPollInterval, lease: DefaultPollLease, workers: DefaultPollWorkers,
		keep:   DefaultExpectRetention,
		logger: slog.New(slog.DiscardHandler),
		polls:  make(map[string]*pollReg),
		sweeps: make(map[string]*sweepReg),
	}
	for _, o := range opts {
		o(r)
	}
	if err := r.refused.Err("", ErrConfig); err != nil {
		panic(err)
	}
	return r
}

// Store returns the store of the reconciler's expectations.
func (r *Reconciler) Store() expect.Store { return r.store }

// Expect adds an expectation, due for its first poll after the first wait
// ([WithFirstPoll]) unless x.NextPoll says when, with the deadline
// DefaultExpectDeadline from now when x has none. Its errors are the
// store's Add's: expect.ErrInvalid, expect.ErrExists.
func (r *Reconciler) Expect(ctx context.Context, x expect.Expectation) error {
	now := r.now()
	if x.NextPoll.IsZero() {
		x.NextPoll = now.Add(r.first)
	}
	if x.Deadline.IsZero() {
		x.Deadline = now.Add(DefaultExpectDeadline)
	}
	if x.CreatedAt.IsZero() {
		x.CreatedAt = now
	}
	return r.store.Add(ctx, x)
}

// register makes poll the poll of provider's expectations. Handle calls
// it for a provider that is a Poller.
func (r *Reconciler) register(provider string, poll func(context.Context, expect.Expectation) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.polls[provider]; dup {
		panic("payhook: provider " + provider + " is already registered with this Reconciler")
	}
	r.polls[provider] = &pollReg{poll: poll, lim: rate.NewLimiter(r.limit, r.burst)}
}

// registerSweep makes check the sweep of provider's settled expectations
// (see Pass). Handle calls it for an engine that settles expectations in
// r's store.
func (r *Reconciler) registerSweep(provider string, lease time.Duration,
	check func(context.Context, expect.Expectation, time.Time) (sweepResult, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.sweeps[provider]; dup {
		panic("payhook: provider " + provider + " is already registered with this Reconciler")
	}
	r.sweeps[provider] = &sweepReg{check: check, lease: lease}
}

// wait returns the wait after the n-th poll of an expectation (n from 1;
// the wait before the first is the first wait, pollSteps[0]).
func (r *Reconciler) wait(n int) time.Duration {
	return pollSteps[min(max(n, 0), len(pollSteps)-1)] * r.first
}

// Run reconciles until ctx is done, a pass at once and then one every poll
// interval ([WithPollInterval]), and returns nil. A pass that fails (the
// store is down) is logged and tried again at the next.
func (r *Reconciler) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.logger.LogAttrs(ctx, slog.LevelError, "payhook: reconciliation pass failed", slog.Any("error", err))
		}
		t.Reset(r.interval)
	}
}

// PassResult counts what one pass did.
type PassResult struct {
	// Polled is how many expectations were polled; Found, how many of
	// those the status API had settled, handed to the pipeline; Pending,
	// how many it had not (or did not know yet); Failed, how many polls or
	// hand-overs failed.
	Polled, Found, Pending, Failed int
	// Overdue is how many expectations became overdue.
	Overdue int
	// Forgotten is how many settled or cancelled expectations past their
	// retention were forgotten ([WithExpectRetention]).
	Forgotten int
	// Confirmed is how many settled expectations the sweep found credited
	// (their payment's key done); Reopened, how many it reopened, settled
	// by a delivery whose handler never succeeded (see [Reconciler.Pass]).
	Confirmed, Reopened int
}

// Pass runs one pass at the reconciler's clock: first it sweeps, for each
// provider registered, up to a batch of the expectations settled at least
// a claim's lease ago ([WithLease]) and not confirmed since, the earliest
// first (expect.Store.Unconfirmed); then, for each provider registered
// that polls, it takes the expectations due, as many as the provider's
// request budget allows now, polls each and reschedules it; then it marks
// every expectation past its deadline overdue; and, the first time and
// then at most once every ForgetInterval, it forgets the settled and
// cancelled expectations past their retention ([WithExpectRetention]).
// Run calls it; a test can call it with a clock of its own, without
// waiting.
//
// The sweep closes the gap that no inbox closes: without an inbox, a
// process that settled an expectation and died before its handler
// succeeded leaves it settled, and a provider that sends its webhook once
// (Kazawallet, KasperoPay) never brings the payment again. For each
// expectation swept, the sweep asks the provider's idempotency store about
// the payment's key: done, the payment was credited (or kept in the
// inbox), and the expectation is confirmed; held by a delivery, it is left
// for a later pass; free, the expectation is reopened, so that this pass
// polls it (KKiaPay, KasperoPay) or reports it overdue at its deadline
// (Kazawallet).
func (r *Reconciler) Pass(ctx context.Context) (PassResult, error) {
	now := r.now()
	var (
		res  PassResult
		errs []error
		mu   sync.Mutex
	)
	for _, provider := range r.sweepers() {
		if err := r.sweep(ctx, provider, now, &res); err != nil {
			errs = append(errs, err)
		}
	}
	for _, provider := range r.providers() {
		if err := r.pollDue(ctx, provider, now, &res, &mu); err != nil {
			errs = append(errs, err)
		}
	}
	for {
		xs, err := r.store.MarkOverdue(ctx, nil, now, batchSize)
		if err != nil {
			errs = append(errs, fmt.Errorf("payhook: marking overdue expectations: %w", err))
			break
		}
		for _, x := range xs {
			r.overdue(ctx, x)
		}
		res.Overdue += len(xs)
		if len(xs) < batchSize {
			break
		}
	}
	if r.forgetDue(now) {
		n, err := r.forget(ctx, now)
		res.Forgotten = n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

// forgetDue reports whether a pass at now forgets old expectations: the
// first, then one every ForgetInterval. It records now when it does.
func (r *Reconciler) forgetDue(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.forgot.IsZero() && now.Sub(r.forgot) < ForgetInterval {
		return false
	}
	r.forgot = now
	return true
}

// forget forgets every settled or cancelled expectation whose retention
// ended before now, a batch at a time, and returns how many.
func (r *Reconciler) forget(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n, err := r.store.Forget(ctx, nil, now.Add(-r.keep), batchSize)
		total += n
		if err != nil {
			return total, fmt.Errorf("payhook: forgetting old expectations: %w", err)
		}
		if n < batchSize {
			return total, nil
		}
	}
}

// pollDue polls provider's due expectations, as many as its request
// budget allows now, counting what it did in res (under mu).
func (r *Reconciler) pollDue(ctx context.Context, provider string, now time.Time, res *PassResult, mu *sync.Mutex) error {
	reg := r.reg(provider)
	for {
		n := min(int(reg.lim.TokensAt(now)), batchSize)
		if n <= 0 {
			return nil
		}
		xs, err := r.store.Due(ctx, []string{provider}, now, r.lease, n)
		if err != nil {
			return fmt.Errorf("payhook: taking due %s expectations: %w", provider, err)
		}
		r.pollAll(ctx, reg, xs, now, func(found, pending bool) {
			mu.Lock()
			defer mu.Unlock()
			res.Polled++
			switch {
			case found:
				res.Found++
			case pending:
				res.Pending++
			default:
				res.Failed++
			}
		})
		if len(xs) < n {
			return nil
		}
	}
}

// sweep sweeps up to a batch of provider's settled, unconfirmed
// expectations (see Pass), counting what it did in res.
func (r *Reconciler) sweep(ctx context.Context, provider string, now time.Time, res *PassResult) error {
	r.mu.Lock()
	reg := r.sweeps[provider]
	r.mu.Unlock()
	xs, err := r.store.Unconfirmed(ctx, []string{provider}, now.Add(-reg.lease), batchSize)
	if err != nil {
		return fmt.Errorf("payhook: taking settled %s expectations to sweep: %w", provider, err)
	}
	var errs []error
	for _, x := range xs {
		switch done, err := reg.check(ctx, x, now); {
		case err != nil:
			errs = append(errs, fmt.Errorf("payhook: sweeping expectation %s: %w", x.Key(), err))
		case done == sweptReopened:
			res.Reopened++
		case done == sweptDone, done == sweptUnknown:
			res.Confirmed++
		}
	}
	return errors.Join(errs...)
}

func (r *Reconciler) sweepers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ps := make([]string, 0, len(r.sweeps))
	for p := range r.sweeps {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

func (r *Reconciler) providers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ps := make([]string, 0, len(r.polls))
	for p := range r.polls {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

func (r *Reconciler) reg(provider string) *pollReg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.polls[provider]
}

// pollAll polls xs, at most r.workers at once, each within the budget.
func (r *Reconciler) pollAll(ctx context.Context, reg *pollReg, xs []expect.Expectation, now time.Time, count func(found, pending bool)) {
	sem := make(chan struct{}, r.workers)
	var wg sync.WaitGroup
	for _, x := range xs {
		if !reg.lim.AllowN(now, 1) {
			// Another pass spent the budget meanwhile: poll it next time.
			r.reschedule(ctx, x, now)
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			count(r.pollOne(ctx, reg, x, now))
		}()
	}
	wg.Wait()
}

// pollOne polls x, reports it, and schedules its next poll. It reports
// whether the status API had settled the payment (found), or had not
// (pending).
func (r *Reconciler) pollOne(ctx context.Context, reg *pollReg, x expect.Expectation, now time.Time) (found, pending bool) {
	start := time.Now()
	err := reg.poll(ctx, x)
	result := ReconcileFound
	switch {
	case err == nil:
	case errors.Is(err, ErrPending), errors.Is(err, ErrInvalidSignature):
		// Not settled, or not known to the API yet (a payment being made):
		// ask again later, until the deadline.
		result = ReconcilePending
		r.logger.LogAttrs(ctx, slog.LevelDebug, "payhook: expected payment not settled yet", r.attrs(x, slog.Any("error", err))...)
	default:
		result = ReconcileError
		level := slog.LevelWarn
		if errors.Is(err, ErrConfig) || errors.Is(err, ErrMismatch) {
			level = slog.LevelError // polling cannot mend it: a person must
		}
		r.logger.LogAttrs(ctx, level, "payhook: poll of an expected payment failed", r.attrs(x, slog.Any("error", err))...)
	}
	r.reschedule(ctx, x, now)
	r.observe(ctx, Reconcile{Provider: x.Provider, ID: x.ID, Ref: x.Ref, Result: result, Reason: classOf(err).reason, Duration: time.Since(start)})
	return result == ReconcileFound, result == ReconcilePending
}

// reschedule sets x's next poll after the wait its attempts have earned,
// at the latest at its deadline. A settled expectation is left as it is.
func (r *Reconciler) reschedule(ctx context.Context, x expect.Expectation, now time.Time) {
	next := now.Add(r.wait(x.Attempts))
	if next.After(x.Deadline) {
		next = x.Deadline
	}
	err := r.store.Reschedule(ctx, x.Key(), next)
	if err != nil && !errors.Is(err, expect.ErrState) {
		r.logger.LogAttrs(ctx, slog.LevelWarn, "payhook: expectation not rescheduled; polled again when its lease ends",
			r.attrs(x, slog.Any("error", err))...)
	}
}

// overdue reports an expectation that passed its deadline with no
// outcome: loudly, since for a provider without a status API, nothing else
// will.
func (r *Reconciler) overdue(ctx context.Context, x expect.Expectation) {
	r.logger.LogAttrs(ctx, slog.LevelError, "payhook: EXPECTED PAYMENT OVERDUE: no outcome by its deadline; check it with the provider",
		r.attrs(x, slog.String("amount", x.Amount), slog.String("currency", x.Currency),
			slog.Time("deadline", x.Deadline), slog.Int("polls", x.Attempts))...)
	r.observe(ctx, Reconcile{Provider: x.Provider, ID: x.ID, Ref: x.Ref, Result: ReconcileOverdue})
}

func (r *Reconciler) attrs(x expect.Expectation, more ...slog.Attr) []slog.Attr {
	return append([]slog.Attr{slog.String("provider", x.Provider), slog.String("id", x.ID), slog.String("ref", x.Ref)}, more...)
}

func (r *Reconciler) observe(ctx context.Context, v Reconcile) {
	if r.observer != nil && r.observer.Reconcile != nil {
		r.observer.Reconcile(ctx, v)
	}
}

// Reconcile describes what a [Reconciler] did with one expectation: a
// poll, or its becoming overdue.
type Reconcile struct {
	// Provider is the provider's name.
	Provider string
	// ID and Ref are the expectation's.
	ID, Ref string
	// Result is what became of it.
	Result ReconcileResult
	// Reason says why a poll did not find the payment; "" otherwise.
	Reason Reason
	// Duration is the poll's, with the pipeline's when it found the
	// payment; 0 for an overdue expectation.
	Duration time.Duration
}

// ReconcileResult is what became of an expectation in a pass. Its values
// are stable, fit for a metric label.
type ReconcileResult string

// The results of a pass for one expectation.
const (
	// ReconcileFound: the status API had settled the payment, and the
	// pipeline took it (processed, kept in the inbox, or already
	// processed through the webhook).
	ReconcileFound ReconcileResult = "found"
	// ReconcilePending: the status API has not settled the payment, or does
	// not know it yet; it is polled again later.
	ReconcilePending ReconcileResult = "pending"
	// ReconcileError: the poll or the pipeline failed (the API or the store
	// was down, the handler failed, the payment does not match its
	// expectation); it is polled again later.
	ReconcileError ReconcileResult = "error"
	// ReconcileOverdue: the expectation passed its deadline with no
	// outcome. Reported once.
	ReconcileOverdue ReconcileResult = "overdue"
)

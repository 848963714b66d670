package inbox

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/internal/optcheck"
	"github.com/payhook/payhook/internal/sentinel"
)

// Defaults of the options.
const (
	// DefaultMaxAttempts is how many times an entry is run before it is
	// dead.
	DefaultMaxAttempts = 25
	// DefaultBackoff is the wait before the first retry; each retry waits
	// about twice as long as the one before, up to DefaultMaxBackoff.
	DefaultBackoff = time.Second
	// DefaultMaxBackoff caps the wait between two attempts.
	DefaultMaxBackoff = time.Hour
	// DefaultWorkers is how many entries run at once in one process.
	DefaultWorkers = 8
	// DefaultTimeout bounds one attempt.
	DefaultTimeout = time.Minute
	// DefaultShutdownTimeout is how long Run waits for running attempts
	// once its context is done.
	DefaultShutdownTimeout = 20 * time.Second
)

// DefaultMaxUnconfirmed is how many entries with Claim, not yet done, an
// inbox holds unless [WithMaxUnconfirmed] says otherwise.
const DefaultMaxUnconfirmed = 2000

// Inbox is the application's inbox: the handlers of each provider, and the
// backend that keeps the entries. Make one with [New]; payhook.Handle with
// payhook.WithInbox registers a provider's handler on it, and [Inbox.Run]
// runs them. Its methods are safe for concurrent use.
type Inbox struct {
	refused        optcheck.Refused // values the options could not use
	b              Backend
	maxAttempts    int
	maxUnconfirmed int
	lease          time.Duration // WithLease's, applied once the timeout is known
	cfg            RunConfig

	mu       sync.RWMutex
	handlers map[string]Handler
}

// Option configures [New]. An option given a value it cannot use makes New
// fail with an error wrapping payhook.ErrConfig.
type Option func(*Inbox)

// configError is a refusal of New, worded as optcheck words the options';
// it wraps payhook.ErrConfig (through internal/sentinel, since payhook
// imports this package).
func configError(format string, args ...any) error {
	return fmt.Errorf("inbox: %w: %s", sentinel.ErrConfig, fmt.Sprintf(format, args...))
}

// WithMaxAttempts sets how many times an entry is run before it is dead:
// 1 or more. Default: DefaultMaxAttempts.
func WithMaxAttempts(n int) Option {
	return func(ib *Inbox) {
		if n < 1 {
			ib.refused.Add("WithMaxAttempts(%d): want 1 or more", n)
			return
		}
		ib.maxAttempts = n
	}
}

// WithBackoff sets the wait before the first retry and the most any wait
// may be; waits double in between, with jitter ([Backoff]). A first of 0
// retries at once (for tests); neither may be negative, nor most below
// first. Default: DefaultBackoff and DefaultMaxBackoff.
func WithBackoff(first, most time.Duration) Option {
	return func(ib *Inbox) {
		if first < 0 || most < first {
			ib.refused.Add("WithBackoff(%s, %s): want 0 <= first <= most", first, most)
			return
		}
		ib.cfg.Backoff = Backoff(first, most)
	}
}

// WithWorkers sets how many entries run at once in this process: 1 or
// more. Default: DefaultWorkers.
func WithWorkers(n int) Option {
	return func(ib *Inbox) {
		if n < 1 {
			ib.refused.Add("WithWorkers(%d): want 1 or more", n)
			return
		}
		ib.cfg.Workers = n
	}
}

// WithTimeout bounds one attempt; its context is canceled after d, and the
// attempt counts as failed. d must be positive. Default: DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(ib *Inbox) {
		if d <= 0 {
			ib.refused.Add("WithTimeout(%s): want a positive duration", d)
			return
		}
		ib.cfg.Timeout = d
	}
}

// WithLease sets how long after an attempt started, with no answer,
// another worker may take its entry again: the time after which the
// attempt of a killed process is retried. It must be longer than the
// attempt timeout ([WithTimeout]), so that a live worker's attempt has
// ended first; New fails otherwise. Default: twice the timeout, at least a
// minute.
func WithLease(d time.Duration) Option {
	return func(ib *Inbox) {
		if d <= 0 {
			ib.refused.Add("WithLease(%s): want a positive duration", d)
			return
		}
		ib.lease = d
	}
}

// WithShutdownTimeout sets how long Run waits for running attempts once its
// context is done; the attempts still running then are canceled, and their
// entries run again at the next start. 0 cancels them at once; negative
// values make New fail. Default: DefaultShutdownTimeout.
func WithShutdownTimeout(d time.Duration) Option {
	return func(ib *Inbox) {
		if d < 0 {
			ib.refused.Add("WithShutdownTimeout(%s): want 0 or more", d)
			return
		}
		ib.cfg.ShutdownTimeout = d
	}
}

// WithMaxUnconfirmed bounds the entries put with Claim (kept before
// anything authenticated their sender) that are not yet done: beyond n,
// [Inbox.Put] of another such entry returns an error wrapping [ErrFull],
// which payhook answers 503. Entries that a sender has authenticated are
// never refused. The count is the backend's ([Backend]'s Unconfirmed), read
// before each such Put: concurrent Puts may pass the bound by as many as
// run at once. n must be 1 or more. Default: DefaultMaxUnconfirmed, which
// at payhook's default body limit of 256 KiB holds at most about 500 MB
// of events.
func WithMaxUnconfirmed(n int) Option {
	return func(ib *Inbox) {
		if n < 1 {
			ib.refused.Add("WithMaxUnconfirmed(%d): want 1 or more", n)
			return
		}
		ib.maxUnconfirmed = n
	}
}

// New returns an Inbox that keeps its entries in b. It fails with an error
// wrapping payhook.ErrConfig if b is nil or an option is given a value it
// cannot use.
func New(b Backend, opts ...Option) (*Inbox, error) {
	if b == nil {
		return nil, configError("nil Backend")
	}
	ib := &Inbox{
		b:              b,
		maxAttempts:    DefaultMaxAttempts,
		maxUnconfirmed: DefaultMaxUnconfirmed,
		cfg: RunConfig{
			Workers:         DefaultWorkers,
			Backoff:         Backoff(DefaultBackoff, DefaultMaxBackoff),
			Timeout:         DefaultTimeout,
			ShutdownTimeout: DefaultShutdownTimeout,
		},
		handlers: make(map[string]Handler),
	}
	for _, o := range opts {
		if o != nil {
			o(ib)
		}
	}
	if err := ib.refused.Err("inbox", sentinel.ErrConfig); err != nil {
		return nil, err
	}
	ib.cfg.Lease = max(2*ib.cfg.Timeout, time.Minute)
	if ib.lease != 0 {
		if ib.lease <= ib.cfg.Timeout {
			return nil, configError("WithLease(%s): want longer than the attempt timeout, %s", ib.lease, ib.cfg.Timeout)
		}
		ib.cfg.Lease = ib.lease
	}
	return ib, nil
}

// Backend returns the backend the inbox keeps its entries in.
func (ib *Inbox) Backend() Backend { return ib.b }

// Handle registers h as the handler of provider's entries. It panics if
// provider already has one: two handlers for one provider would each take
// the other's entries.
func (ib *Inbox) Handle(provider string, h Handler) {
	if h == nil {
		panic("inbox: nil Handler")
	}
	ib.mu.Lock()
	defer ib.mu.Unlock()
	if _, dup := ib.handlers[provider]; dup {
		panic("inbox: a handler is already registered for provider " + provider)
	}
	ib.handlers[provider] = h
}

// Put adds e to the inbox, unless an entry with its ID is there; it returns
// once e is committed. It sets e's MaxAttempts, and its ReceivedAt when
// zero. An entry with Claim is refused with an error wrapping [ErrFull]
// when the inbox holds [WithMaxUnconfirmed] of them already, unless its ID
// is there (Put then adds nothing, as ever).
func (ib *Inbox) Put(ctx context.Context, e Entry) (added bool, err error) {
	if err := ib.admit(ctx, e); err != nil {
		return false, err
	}
	return ib.b.Put(ctx, ib.stamp(e))
}

// admit refuses an entry with Claim when the unconfirmed entries are at
// their bound.
func (ib *Inbox) admit(ctx context.Context, e Entry) error {
	if !e.Claim {
		return nil
	}
	n, err := ib.b.Unconfirmed(ctx)
	if err != nil {
		return err
	}
	if n < ib.maxUnconfirmed {
		return nil
	}
	switch _, err := ib.b.Get(ctx, e.ID); {
	case err == nil:
		return nil // there already: Put adds nothing
	case !errors.Is(err, ErrNotFound):
		return err
	}
	return fmt.Errorf("%w (%d, the bound)", ErrFull, n)
}

// PutComplete puts e and completes an idempotency claim in one
// transaction when the backend can ([Completer]); otherwise it reports
// handled false and does nothing.
func (ib *Inbox) PutComplete(ctx context.Context, e Entry, store idempotency.Store, key, token string, retention time.Duration) (added, handled bool, err error) {
	c, ok := ib.b.(Completer)
	if !ok {
		return false, false, nil
	}
	if err := ib.admit(ctx, e); err != nil {
		return false, true, err
	}
	return c.PutComplete(ctx, ib.stamp(e), store, key, token, retention)
}

func (ib *Inbox) stamp(e Entry) Entry {
	e.MaxAttempts = ib.maxAttempts
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = time.Now().UTC()
	}
	return e
}

// Run runs the registered handlers on the inbox's entries until ctx is
// done, then shuts down gracefully (see [WithShutdownTimeout]) and returns
// nil. An entry whose provider has no handler in this process fails its
// attempt and is retried, so that a replica that serves fewer providers
// leaves it to another. Run may be called by several processes sharing a
// durable backend: each entry is run by one of them at a time.
func (ib *Inbox) Run(ctx context.Context) error {
	return ib.b.Run(ctx, ib.dispatch, ib.cfg)
}

// dispatch runs one attempt with its provider's handler, turning a panic
// into an error.
func (ib *Inbox) dispatch(ctx context.Context, a Attempt) (err error) {
	ib.mu.RLock()
	h := ib.handlers[a.Provider]
	ib.mu.RUnlock()
	if h == nil {
		return fmt.Errorf("inbox: no handler for provider %q in this process", a.Provider)
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("inbox: handler panicked: %v\n%s", v, debug.Stack())
		}
	}()
	return h(ctx, a)
}

// Get returns the entry with id.
func (ib *Inbox) Get(ctx context.Context, id string) (Info, error) { return ib.b.Get(ctx, id) }

// List returns the entries f selects, oldest first.
func (ib *Inbox) List(ctx context.Context, f Filter) ([]Info, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultListLimit
	}
	return ib.b.List(ctx, f)
}

// Stats counts the entries by provider and state.
func (ib *Inbox) Stats(ctx context.Context) ([]Stat, error) { return ib.b.Stats(ctx) }

// Replay makes a dead (or done) entry pending again, due now, with as many
// attempts again as it was put with (the errors of earlier attempts are
// kept).
func (ib *Inbox) Replay(ctx context.Context, id string) error { return ib.b.Replay(ctx, id) }

// ReplayDead replays every dead entry and returns their IDs. An entry that
// dies again while ReplayDead runs is not replayed twice. On error it
// returns those replayed so far.
func (ib *Inbox) ReplayDead(ctx context.Context) ([]string, error) {
	var ids []string
	seen := make(map[string]bool)
	for {
		dead, err := ib.b.List(ctx, Filter{State: Dead, Limit: DefaultListLimit})
		if err != nil {
			return ids, err
		}
		n := 0
		for _, e := range dead {
			if seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			n++
			switch err := ib.b.Replay(ctx, e.ID); {
			case err == nil:
				ids = append(ids, e.ID)
			case errors.Is(err, ErrNotFound), errors.Is(err, ErrState):
				// replayed or discarded by someone else meanwhile
			default:
				return ids, err
			}
		}
		if n == 0 {
			return ids, nil
		}
	}
}

// Discard deletes an entry that is not running.
func (ib *Inbox) Discard(ctx context.Context, id string) error { return ib.b.Discard(ctx, id) }

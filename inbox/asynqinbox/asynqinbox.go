// Package asynqinbox is an [inbox.Backend] on Redis, built on asynq
// (github.com/hibiken/asynq), the Redis task queue: every replica of an
// application that shares one Redis shares the inbox, and an entry
// committed to Redis survives the process that put it.
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	backend, err := asynqinbox.New(client)
//	...
//	ib, err := inbox.New(backend)
//	...
//	store, err := redisstore.New(client)
//	...
//	h := payhook.Handle(provider, onEvent, payhook.WithInbox(ib), payhook.WithStore(store))
//	go ib.Run(ctx)
//
// # What asynq does, and what this package adds
//
// Each entry is one asynq task in the backend's queue ([WithQueue]; one
// queue per inbox), whose task ID is the entry's ID and whose type is its
// provider. asynq does the work of a queue: Put is asynq's enqueue, whose
// task ID makes a second Put of one ID a no-op ([asynq.TaskID]); a done
// entry stays as a completed task for the retention ([WithDoneRetention],
// [asynq.Retention]), so that Put keeps refusing its ID that long; workers,
// leases, retries at [inbox.RunConfig.Backoff] (asynq's RetryDelayFunc),
// dead entries (asynq's archived tasks, reached through [asynq.SkipRetry]),
// graceful shutdown, and the Inspector behind Get, List, Stats, Replay
// (asynq's RunTask, for a dead or a done entry) and Discard (DeleteTask).
// An [inbox.Drop] error revokes the task (asynq.RevokeTask: asynq deletes
// it).
//
// asynq keeps only the last error of a task and counts retries in a way
// that its RunTask does not reset, so this package keeps, in three Redis
// keys per queue and entry of its own (under "payhook:inbox:{queue}:", in
// the queue's Redis Cluster slot):
//
//   - the entry's attempt count, the number of the attempt running, and the
//     MaxAttempts that Replay raises: the handler wrapper decides that an
//     attempt is the last and returns asynq.SkipRetry, so that a replayed
//     entry gets as many attempts again as it was put with (asynq's own
//     MaxRetry, fixed at enqueue, would give it one);
//   - the errors of its last 50 attempts, each cut to 8 KiB, including
//     "abandoned" for an attempt whose worker died;
//   - the set of the entries with Claim that are not done, which
//     Unconfirmed counts (SCARD);
//   - a copy of each dead entry, so that a dead entry stays until a person
//     replays or discards it. asynq trims its archive: when a task is
//     archived, archived tasks older than 90 days, and the oldest beyond
//     the newest 10,000 of the queue, are deleted. An entry whose task was
//     trimmed is still listed, got, replayed (put again from the copy) and
//     discarded, as dead. One thing changes: Put of its ID adds it again.
//
// Change entries through the inbox's API: a dead task run again with
// asynq's own tools (the asynq CLI, Asynqmon) gets one attempt, not its
// attempts again.
//
// # States
//
// asynq's pending, scheduled and retry tasks are [inbox.Pending]; active
// ones are [inbox.Running] (including an orphaned one, whose worker died,
// until asynq recovers it); completed ones are [inbox.Done]; archived ones
// (and trimmed ones still copied) are [inbox.Dead].
//
// # Attempts, leases and shutdown
//
// [inbox.RunConfig.Timeout] bounds each attempt with a context deadline
// set by the handler wrapper (asynq fixes a task's timeout, in whole
// seconds, when it is enqueued, before Run's config is known; tasks are
// enqueued with a timeout that is never reached first).
// [inbox.RunConfig.Lease] is not used: asynq leases an active task for 30
// seconds and its worker's heartbeat renews the lease every 5 seconds, so
// a live worker keeps its entry however long the attempt, and the entry of
// a killed worker is taken again 60 seconds to 2 minutes after its last
// heartbeat (the lease, asynq's 30-second margin for clock skew, and its
// recoverer, which runs every minute): that attempt counts, and its error
// is "abandoned". When Run's context is done, Run stops taking entries,
// waits up to [inbox.RunConfig.ShutdownTimeout], then cancels the
// attempts still running; a canceled attempt does not count, and its
// entry is due again at once.
//
// Retries are due at whole seconds (asynq keeps them in a sorted set
// scored in Unix seconds) and found by a poll ([WithRetryPollInterval]);
// idle workers look for new entries at [WithPollInterval].
//
// # Redis
//
// New takes a go-redis client, the one the application already has for
// redisstore: asynq runs on it (asynq.NewServerFromRedisClient and
// friends) and never closes it. Run Redis with AOF (appendonly yes) for
// entries to survive a Redis restart, and with maxmemory-policy noeviction
// (its default), as redisstore asks: under an eviction policy a full Redis
// may drop entries. asynq needs Redis 6.2 or later. The inbox cannot put an entry and complete the
// idempotency claim in one transaction (asynq enqueues with its own
// script), so it does not implement [inbox.Completer]: payhook puts the
// entry, then completes the claim; after a crash between the two, the
// retried delivery finds the entry already there, for the retention.
package asynqinbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/internal/optcheck"
)

// Defaults of the options.
const (
	// DefaultQueue is the asynq queue of an inbox unless [WithQueue] says
	// otherwise.
	DefaultQueue = "payhook"
	// DefaultDoneRetention is how long a done entry is kept, and so how
	// long Put refuses its ID: as long as payhook remembers a processed
	// event (payhook.DefaultRetention).
	DefaultDoneRetention = payhook.DefaultRetention
	// DefaultPollInterval is how often an idle worker looks for a pending
	// entry (asynq's TaskCheckInterval).
	DefaultPollInterval = time.Second
	// DefaultRetryPollInterval is how often entries whose retry is due are
	// made pending (asynq's DelayedTaskCheckInterval): as often as the
	// inbox's first retry, inbox.DefaultBackoff.
	DefaultRetryPollInterval = inbox.DefaultBackoff
)

const (
	// taskTimeout is asynq's timeout of every task: far above any
	// RunConfig.Timeout, which the wrapper applies itself.
	taskTimeout = 365 * 24 * time.Hour
	// maxRetry is asynq's MaxRetry of every task: never reached, since the
	// wrapper decides which attempt is the last.
	maxRetry = math.MaxInt32
	// shutdownGrace is how long asynq waits, after Run has canceled the
	// attempts still running at its ShutdownTimeout, for their handlers to
	// return before it puts their tasks back in the queue regardless.
	shutdownGrace = 5 * time.Second
	// keptErrors is how many attempt errors are kept per entry, and
	// errorBytes the most kept of each.
	keptErrors = 50
	errorBytes = 8 << 10
)

// Backend is an [inbox.Backend] on asynq and Redis. Make one with [New];
// the zero value is not usable. A Backend is safe for concurrent use by
// many goroutines, and several processes may run one inbox through
// Backends on the same Redis and queue.
type Backend struct {
	refused   optcheck.Refused // values the options could not use
	redis     redis.UniversalClient
	client    *asynq.Client
	inspector *asynq.Inspector
	queue     string
	keys      string // prefix of this package's keys for the queue
	retention time.Duration
	poll      time.Duration
	retryPoll time.Duration
	logger    *slog.Logger
}

var _ inbox.Backend = (*Backend)(nil)

// Option configures [New]. An option given a value it cannot use makes
// New fail with an error wrapping payhook.ErrConfig.
type Option func(*Backend)

// configError is a refusal of New, worded as optcheck words the options'.
func configError(format string, args ...any) error {
	return fmt.Errorf("asynqinbox: %w: %s", payhook.ErrConfig, fmt.Sprintf(format, args...))
}

// WithQueue sets the asynq queue that keeps the inbox's entries: two
// inboxes on one Redis need two queues (or two Redis databases). A blank
// name is refused. Default: DefaultQueue.
func WithQueue(name string) Option {
	return func(b *Backend) {
		if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "{}") {
			b.refused.Add("WithQueue(%q): want a name, without braces", name)
			return
		}
		b.queue = name
	}
}

// WithDoneRetention sets how long a done entry is kept, so that Put of its
// ID adds nothing; a negative d keeps done entries forever (a hundred
// years, to asynq), and 0 is refused (a done entry must refuse its ID for
// a while). asynq keeps whole seconds: a positive d below one second is
// refused too. Keep it at least as long as the idempotency store's
// retention (payhook.WithRetention). Dead entries are always kept until
// replayed or discarded. Default: DefaultDoneRetention.
func WithDoneRetention(d time.Duration) Option {
	return func(b *Backend) {
		switch {
		case d < 0:
			b.retention = forever
		case d < time.Second:
			b.refused.Add("WithDoneRetention(%s): want a second or more (asynq keeps whole seconds), or a negative duration to keep done entries forever", d)
			return
		default:
			b.retention = d
		}
	}
}

// forever is the retention of WithDoneRetention's negative values.
const forever = 100 * 365 * 24 * time.Hour

// WithPollInterval sets how often an idle worker of Run looks for a
// pending entry, which bounds how long a new entry waits when the inbox
// was idle: 1 ms or more, as every backend's WithPollInterval. Lower
// values query Redis more often. Default: DefaultPollInterval.
func WithPollInterval(d time.Duration) Option {
	return func(b *Backend) {
		if d < time.Millisecond {
			b.refused.Add("WithPollInterval(%s): want 1ms or more", d)
			return
		}
		b.poll = d
	}
}

// WithRetryPollInterval sets how often Run makes the entries whose retry
// is due pending again: 1 ms or more. Default: DefaultRetryPollInterval.
func WithRetryPollInterval(d time.Duration) Option {
	return func(b *Backend) {
		if d < time.Millisecond {
			b.refused.Add("WithRetryPollInterval(%s): want 1ms or more", d)
			return
		}
		b.retryPoll = d
	}
}

// WithLogger sets where asynq's own messages go (Redis errors of its
// background work, workers it had to abandon at shutdown): its warnings
// and errors at those levels, its information at debug level. Entries'
// errors are not logged here; payhook logs them. It must not be nil.
// Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(b *Backend) {
		if l == nil {
			b.refused.Add("WithLogger(nil)")
			return
		}
		b.logger = l
	}
}

// New returns a Backend that keeps its entries in Redis through client, a
// *redis.Client, *redis.ClusterClient or *redis.FailoverClient: the
// client the application already has, for instance for
// [github.com/payhook/payhook/idempotency/redisstore], so that one pool
// serves both (asynq's servers, client and inspector all run on a shared
// client; an asynq.RedisConnOpt would open pools of their own). The caller
// owns client and closes it after Run has returned. New fails with an
// error wrapping payhook.ErrConfig if client is nil or an option is given
// a value it cannot use.
func New(client redis.UniversalClient, opts ...Option) (*Backend, error) {
	if client == nil {
		return nil, configError("nil client")
	}
	b := &Backend{
		redis:     client,
		queue:     DefaultQueue,
		retention: DefaultDoneRetention,
		poll:      DefaultPollInterval,
		retryPoll: DefaultRetryPollInterval,
		logger:    slog.Default(),
	}
	for _, o := range opts {
		if o != nil {
			o(b)
		}
	}
	if err := b.refused.Err("asynqinbox", payhook.ErrConfig); err != nil {
		return nil, err
	}
	b.client = asynq.NewClientFromRedisClient(client)
	b.inspector = asynq.NewInspectorFromRedisClient(client)
	b.keys = "payhook:inbox:{" + b.queue + "}:"
	return b, nil
}

// Queue returns the asynq queue that keeps the inbox's entries, for
// asynq's own tools (the asynq CLI, Asynqmon).
func (b *Backend) Queue() string { return b.queue }

// envelope is an asynq task's payload: the entry, and when it was put, for
// List's order.
type envelope struct {
	inbox.Entry
	PutAt int64 `json:"put_at"` // Unix nanoseconds
}

func decode(payload []byte) (envelope, error) {
	var env envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		return env, fmt.Errorf("asynqinbox: task payload is not an entry: %w", err)
	}
	return env, nil
}

// Put implements [inbox.Backend]: one asynq enqueue, one round trip.
func (b *Backend) Put(ctx context.Context, e inbox.Entry) (bool, error) {
	if e.ID == "" || e.Provider == "" {
		return false, errors.New("asynqinbox: put: an entry needs an ID and a provider")
	}
	payload, err := json.Marshal(envelope{Entry: e, PutAt: time.Now().UnixNano()})
	if err != nil {
		return false, fmt.Errorf("asynqinbox: put: %w", err)
	}
	_, err = b.client.EnqueueContext(ctx, asynq.NewTask(e.Provider, payload),
		asynq.TaskID(e.ID), asynq.Queue(b.queue), asynq.MaxRetry(maxRetry),
		asynq.Timeout(taskTimeout), asynq.Retention(b.retention))
	switch {
	case errors.Is(err, asynq.ErrTaskIDConflict):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("asynqinbox: put: %w", err)
	}
	if e.Claim {
		// After the enqueue: a crash in between leaves an entry
		// uncounted, never a count without its entry.
		if err := b.redis.SAdd(ctx, b.unconfirmedKey(), e.ID).Err(); err != nil {
			return true, fmt.Errorf("asynqinbox: put: counting the unconfirmed entry: %w", err)
		}
	}
	return true, nil
}

// Unconfirmed implements [inbox.Backend]: the size of this package's set
// of the entries with Claim that are not done.
func (b *Backend) Unconfirmed(ctx context.Context) (int, error) {
	n, err := b.redis.SCard(ctx, b.unconfirmedKey()).Result()
	if err != nil {
		return 0, fmt.Errorf("asynqinbox: unconfirmed: %w", err)
	}
	return int(n), nil
}

// Package riverinbox is an [inbox.Backend] on PostgreSQL, built on River
// (github.com/riverqueue/river with its pgx v5 driver): each inbox entry is
// a River job, and River does what a durable queue does. It uses
// github.com/jackc/pgx/v5 through a *pgxpool.Pool.
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	...
//	backend, err := riverinbox.New(pool)
//	...
//	err = backend.Migrate(ctx) // once, at startup: River's own migrations
//	store, err := pgstore.New(pool) // the idempotency store, same database
//	...
//	ib := inbox.New(backend)
//	h := payhook.Handle(provider, onEvent, payhook.WithInbox(ib), payhook.WithStore(store))
//	go ib.Run(ctx) // until ctx is done, then a graceful stop
//
// How the inbox maps onto River:
//
//   - An entry is a job of kind [Kind] in the queue of [WithQueue], in the
//     schema of [WithSchema]. Its args hold the entry, the event as a JSON
//     string (exactly the bytes Put was given).
//   - Put inserts a unique job, unique by entry ID within the queue in every
//     state (available, scheduled, retryable, running, completed,
//     cancelled, discarded, pending): an entry done or dead still dedupes
//     its ID.
//   - Run starts a River client that works the queue with RunConfig.Workers
//     workers. A failed attempt is retried after RunConfig.Backoff (the
//     client's RetryPolicy) until the entry's MaxAttempts (the job's
//     max_attempts); an [inbox.Permanent] error cancels the job
//     (river.JobCancel). RunConfig.Timeout is River's job timeout, and
//     River's rescuer takes back the job of a worker that died once
//     RunConfig.Lease has passed since its attempt started. When Run's
//     context is done, the client stops (Stop), and after
//     RunConfig.ShutdownTimeout cancels the attempts still running
//     (StopAndCancel), which River puts back without counting them.
//   - States: available, scheduled, retryable and pending jobs are
//     [inbox.Pending], running is [inbox.Running], completed is
//     [inbox.Done], discarded (its last attempt failed) and cancelled (a
//     permanent error) are [inbox.Dead].
//   - Replay is River's JobRetry, with max_attempts raised to the attempts
//     made plus the MaxAttempts the entry was put with; Discard is
//     JobDelete; Get and List are JobList (on River's index of the args);
//     Stats is one query on River's job table.
//
// Dead entries are never deleted: River keeps discarded and cancelled jobs
// until an operator replays or discards them. Done entries are deleted by
// River's cleaner after [WithDoneRetention] (DefaultDoneRetention, as long
// as payhook remembers a processed event).
//
// With pgstore (github.com/payhook/payhook/idempotency/pgstore) on the same
// database, the Backend is an [inbox.Completer]: payhook's middleware
// inserts the job and marks the delivery's key done in one transaction, so
// that no crash leaves an acknowledged delivery without its entry, or an
// entry whose key is not done.
//
// Several processes may share the database, each calling Run: River runs
// each entry in one of them at a time, and runs its maintenance (rescuer,
// scheduler, cleaner) in the one elected leader among the clients of the
// schema. Keep the inbox in a schema of its own (the default) unless every
// River client of that schema keeps discarded and cancelled jobs forever
// too: the leader's settings apply to every queue.
package riverinbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/payhook/payhook/inbox"
)

// Kind is the River job kind of inbox entries.
const Kind = "payhook_inbox"

// DefaultSchema is the PostgreSQL schema of River's tables unless
// [WithSchema] says otherwise.
const DefaultSchema = "payhook"

// DefaultQueue is the River queue of inbox entries unless [WithQueue] says
// otherwise.
const DefaultQueue = "payhook_inbox"

// DefaultDoneRetention is how long a done entry is kept: as long as payhook
// remembers a processed event (payhook.DefaultRetention).
const DefaultDoneRetention = 7 * 24 * time.Hour

// DefaultFetchCooldown is the least time between two fetches of due
// entries unless [WithFetchCooldown] says otherwise.
const DefaultFetchCooldown = 10 * time.Millisecond

// Backend is an [inbox.Backend] whose entries are River jobs in a
// PostgreSQL database. Make one with [New]; the zero value is not usable.
// A Backend is safe for concurrent use, and any number of processes may
// share its database, each calling Run.
type Backend struct {
	pool          *pgxpool.Pool
	client        *river.Client[pgx.Tx] // insert-only: Put, Get, List, Replay, Discard
	schema        string
	queue         string
	doneRetention time.Duration
	pollInterval  time.Duration
	fetchCooldown time.Duration
	logger        *slog.Logger

	jobTable string // River's job table, schema-qualified when a schema is set
	statsSQL string
}

var (
	_ inbox.Backend   = (*Backend)(nil)
	_ inbox.Completer = (*Backend)(nil)
)

// Option configures [New].
type Option func(*Backend)

// WithSchema sets the PostgreSQL schema of River's tables: an identifier of
// at most 46 letters, digits and underscores; [Backend.Migrate] creates it.
// "" finds River's tables through the connection's search_path.
//
// Keep the inbox in a schema of its own unless you know the River clients
// that share it: River's maintenance (the cleaner among it) runs in the
// client elected leader among all the clients of a schema, with that
// client's settings, so an application's own River client there, with
// River's default retention, would delete dead entries after 7 days.
// Default: DefaultSchema.
func WithSchema(name string) Option {
	return func(b *Backend) { b.schema = name }
}

// WithQueue sets the River queue of the inbox's entries: at most 64
// lowercase letters and digits, in words joined by one underscore or dash
// ("payhook_inbox", "payments-eu"). Two inboxes in one schema need two
// queues.
// Default: DefaultQueue.
func WithQueue(name string) Option {
	return func(b *Backend) { b.queue = name }
}

// WithDoneRetention sets how long a done entry is kept before River's
// cleaner deletes it; a negative d keeps done entries forever. Dead entries
// are always kept until replayed or discarded. Default:
// DefaultDoneRetention. 0 is ignored.
func WithDoneRetention(d time.Duration) Option {
	return func(b *Backend) {
		switch {
		case d < 0:
			b.doneRetention = -1 // River's "never"
		case d > 0:
			b.doneRetention = d
		}
	}
}

// WithPollInterval sets how often Run looks for due entries when no
// notification came (River's FetchPollInterval). New entries are normally
// taken at once through PostgreSQL's LISTEN/NOTIFY, and a retry due within
// River's scheduler interval (5 s, which River does not let us set) becomes
// available at its time without waiting for the scheduler, so polling
// matters for a retry due later, once due, and for servers without
// notifications. Default: River's, 1 s. Values below 1 ms are ignored.
func WithPollInterval(d time.Duration) Option {
	return func(b *Backend) {
		if d >= time.Millisecond {
			b.pollInterval = d
		}
	}
}

// WithFetchCooldown sets the least time between two fetches of due
// entries (River's FetchCooldown; at most the poll interval). River
// fetches at most as many entries as it has free workers, so a process
// whose func is fast runs at most Workers entries per cooldown: 80 a second
// with River's default of 100 ms and 8 workers, 800 with this package's.
// Default: DefaultFetchCooldown. Values below 1 ms are ignored.
func WithFetchCooldown(d time.Duration) Option {
	return func(b *Backend) {
		if d >= time.Millisecond {
			b.fetchCooldown = d
		}
	}
}

// WithLogger sets the logger of River's clients (and of the migrations).
// Default: slog.Default(), for warnings and errors only (River logs each
// failed attempt at info level; payhook logs them itself).
func WithLogger(l *slog.Logger) Option {
	return func(b *Backend) {
		if l != nil {
			b.logger = l
		}
	}
}

var (
	schemaName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,45}$`)  // River's topic names must fit in 63 bytes
	queueName  = regexp.MustCompile(`^[a-z0-9]+(?:[_-]?[a-z0-9]+)*$`) // River's, at most 64 bytes
)

// New returns a Backend that keeps its entries in River's tables of pool's
// database. The tables must exist: create them with [Backend.Migrate]. The
// caller owns pool and closes it, after Run has returned. New returns an
// error if the schema or queue name is not valid, and panics if pool is
// nil.
func New(pool *pgxpool.Pool, opts ...Option) (*Backend, error) {
	if pool == nil {
		panic("riverinbox: nil pool")
	}
	b := &Backend{
		pool:          pool,
		schema:        DefaultSchema,
		queue:         DefaultQueue,
		doneRetention: DefaultDoneRetention,
		pollInterval:  river.FetchPollIntervalDefault,
		fetchCooldown: DefaultFetchCooldown,
		logger:        slog.New(warnings{slog.Default().Handler()}),
	}
	for _, o := range opts {
		if o != nil {
			o(b)
		}
	}
	if b.schema != "" && !schemaName.MatchString(b.schema) {
		return nil, fmt.Errorf("riverinbox: schema name %q: want an identifier of at most 46 letters, digits and underscores", b.schema)
	}
	if len(b.queue) > 64 || !queueName.MatchString(b.queue) {
		return nil, fmt.Errorf("riverinbox: queue name %q: want at most 64 lowercase letters and digits, in words joined by one underscore or dash", b.queue)
	}
	b.jobTable = "river_job"
	if b.schema != "" {
		b.jobTable = pgx.Identifier{b.schema, "river_job"}.Sanitize()
	}
	b.statsSQL = `SELECT args->>'provider', state, count(*) FROM ` + b.jobTable +
		` WHERE kind = $1 AND queue = $2 GROUP BY 1, 2 ORDER BY 1, 2`
	// An insert notifies the queue's workers at most once per fetch
	// cooldown; later inserts wait for the workers' next fetch or poll.
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Schema: b.schema, Logger: b.logger,
		FetchPollInterval: b.pollInterval, FetchCooldown: min(b.fetchCooldown, b.pollInterval),
	})
	if err != nil {
		return nil, fmt.Errorf("riverinbox: %w", err)
	}
	b.client = client
	return b, nil
}

// Migrate creates River's tables, in the schema of [WithSchema] (created if
// it does not exist), or brings them up to the version this River needs, by
// River's own migrations (rivermigrate). Call it once at startup, or run
// River's migrations with its CLI (`river migrate-up`) in your own
// migrations instead. Concurrent calls from many replicas are serialized
// with an advisory lock.
func (b *Backend) Migrate(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("riverinbox: migrate: %w", err)
		}
	}()
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	const lock = `SELECT pg_advisory_lock(hashtextextended('payhook/riverinbox.Migrate/' || $1, 0))`
	if _, err := conn.Exec(ctx, lock, b.schema); err != nil {
		return err
	}
	defer func() {
		const unlock = `SELECT pg_advisory_unlock(hashtextextended('payhook/riverinbox.Migrate/' || $1, 0))`
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), unlock, b.schema); uerr != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // the session, and its lock, end with it
			err = errors.Join(err, uerr)
		}
	}()
	if b.schema != "" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{b.schema}.Sanitize()); err != nil {
			return err
		}
	}
	m, err := rivermigrate.New(riverpgxv5.New(b.pool), &rivermigrate.Config{Schema: b.schema, Logger: b.logger})
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// warnings is a slog.Handler that passes on warnings and errors only.
type warnings struct{ slog.Handler }

func (w warnings) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

func (w warnings) WithAttrs(as []slog.Attr) slog.Handler { return warnings{w.Handler.WithAttrs(as)} }
func (w warnings) WithGroup(name string) slog.Handler    { return warnings{w.Handler.WithGroup(name)} }

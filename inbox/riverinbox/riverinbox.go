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
//     Stats is one query on River's job table. An [inbox.Drop] error
//     deletes the running job. Unconfirmed counts the jobs with claim not
//     completed on a partial index that Migrate adds to River's job table.
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

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/internal/optcheck"
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
	refused       optcheck.Refused // values the options could not use
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
	// unconfirmedSQL counts the unconfirmed entries; dropSQL deletes a
	// dropped entry's running job.
	unconfirmedSQL, dropSQL string
}

var (
	_ inbox.Backend   = (*Backend)(nil)
	_ inbox.Completer = (*Backend)(nil)
)

// Option configures [New]. An option given a value it cannot use makes
// New fail with an error wrapping payhook.ErrConfig.
type Option func(*Backend)

// configError is a refusal of New, worded as optcheck words the options'.
func configError(format string, args ...any) error {
	return fmt.Errorf("riverinbox: %w: %s", payhook.ErrConfig, fmt.Sprintf(format, args...))
}

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
	return func(b *Backend) {
		if name != "" && !schemaName.MatchString(name) {
			b.refused.Add("schema name %q: want an identifier of at most 46 letters, digits and underscores", name)
			return
		}
		b.schema = name
	}
}

// WithQueue sets the River queue of the inbox's entries: at most 64
// lowercase letters and digits, in words joined by one underscore or dash
// ("payhook_inbox", "payments-eu"). Two inboxes in one schema need two
// queues.
// Default: DefaultQueue.
func WithQueue(name string) Option {
	return func(b *Backend) {
		if len(name) > 64 || !queueName.MatchString(name) {
			b.refused.Add("queue name %q: want at most 64 lowercase letters and digits, in words joined by one underscore or dash", name)
			return
		}
		b.queue = name
	}
}

// WithDoneRetention sets how long a done entry is kept before River's
// cleaner deletes it; a negative d keeps done entries forever, and 0 is
// refused (a done entry must refuse its ID for a while). Dead entries are
// always kept until replayed or discarded. Default: DefaultDoneRetention.
func WithDoneRetention(d time.Duration) Option {
	return func(b *Backend) {
		switch {
		case d < 0:
			b.doneRetention = -1 // River's "never"
		case d == 0:
			b.refused.Add("WithDoneRetention(0): want a positive duration, or a negative one to keep done entries forever")
			return
		default:
			b.doneRetention = d
		}
	}
}

// WithPollInterval sets how often Run looks for due entries when no
// notification came (River's FetchPollInterval): 1 ms or more. New
// entries are normally taken at once through PostgreSQL's LISTEN/NOTIFY,
// and a retry due within River's scheduler interval (5 s, which River does
// not let us set) becomes available at its time without waiting for the
// scheduler, so polling matters for a retry due later, once due, and for
// servers without notifications. Default: River's, 1 s.
func WithPollInterval(d time.Duration) Option {
	return func(b *Backend) {
		if d < time.Millisecond {
			b.refused.Add("WithPollInterval(%s): want 1ms or more", d)
			return
		}
		b.pollInterval = d
	}
}

// WithFetchCooldown sets the least time between two fetches of due
// entries (River's FetchCooldown; at most the poll interval): 1 ms or
// more. River fetches at most as many entries as it has free workers, so a
// process whose func is fast runs at most Workers entries per cooldown: 80
// a second with River's default of 100 ms and 8 workers, 800 with this
// package's. Default: DefaultFetchCooldown.
func WithFetchCooldown(d time.Duration) Option {
	return func(b *Backend) {
		if d < time.Millisecond {
			b.refused.Add("WithFetchCooldown(%s): want 1ms or more", d)
			return
		}
		b.fetchCooldown = d
	}
}

// WithLogger sets the logger of River's clients (and of the migrations).
// It must not be nil. Default: slog.Default(), for warnings and errors
// only (River logs each failed attempt at info level; payhook logs them
// itself).
func WithLogger(l *slog.Logger) Option {
	return func(b *Backend) {
		if l == nil {
			b.refused.Add("WithLogger(nil)")
			return
		}
		b.logger = l
	}
}

var (
	schemaName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,45}$`)  // River's topic names must fit in 63 bytes
	queueName  = regexp.MustCompile(`^[a-z0-9]+(?:[_-]?[a-z0-9]+)*$`) // River's, at most 64 bytes
)

// New returns a Backend that keeps its entries in River's tables of pool's
// database. The tables must exist: create them with [Backend.Migrate]. The
// caller owns pool and closes it, after Run has returned. New fails with
// an error wrapping payhook.ErrConfig if pool is nil or an option is given
// a value it cannot use.
func New(pool *pgxpool.Pool, opts ...Option) (*Backend, error) {
	if pool == nil {
		return nil, configError("nil pool")
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
	if err := b.refused.Err("riverinbox", payhook.ErrConfig); err != nil {
		return nil, err
	}
	b.jobTable = "river_job"
	if b.schema != "" {
		b.jobTable = pgx.Identifier{b.schema, "river_job"}.Sanitize()
	}
	b.statsSQL = `SELECT args->>'provider', state, count(*) FROM ` + b.jobTable +
		` WHERE kind = $1 AND queue = $2 GROUP BY 1, 2 ORDER BY 1, 2`
	// The queue name is checked above, so it may be written in the query.
	b.unconfirmedSQL = `SELECT count(*) FROM ` + b.jobTable + ` WHERE ` + unconfirmedWhere + ` AND queue = '` + b.queue + `'`
	b.dropSQL = `DELETE FROM ` + b.jobTable + ` WHERE id = $1 AND state = 'running'`
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

// unconfirmedWhere selects the jobs Unconfirmed counts: the condition of
// the partial index Migrate creates, written the same in the query so that
// PostgreSQL uses it.
const unconfirmedWhere = `kind = '` + Kind + `' AND (args->>'claim') = 'true' AND state <> 'completed'`

// Unconfirmed implements [inbox.Backend]: a count on the partial index of
// the inbox's jobs with claim that are not completed, which holds no
// others.
func (b *Backend) Unconfirmed(ctx context.Context) (int, error) {
	var n int
	if err := b.pool.QueryRow(ctx, b.unconfirmedSQL).Scan(&n); err != nil {
		return 0, wrap("unconfirmed", err)
	}
	return n, nil
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
	if _, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return err
	}
	// The partial index of the unconfirmed entries, which Unconfirmed
	// counts without reading the done ones.
	index := pgx.Identifier{"payhook_inbox_unconfirmed"}.Sanitize()
	_, err = conn.Exec(ctx, `CREATE INDEX IF NOT EXISTS `+index+` ON `+b.jobTable+` (queue) WHERE `+unconfirmedWhere)
	return err
}

// warnings is a slog.Handler that passes on warnings and errors only.
type warnings struct{ slog.Handler }

func (w warnings) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

func (w warnings) WithAttrs(as []slog.Attr) slog.Handler { return warnings{w.Handler.WithAttrs(as)} }
func (w warnings) WithGroup(name string) slog.Handler    { return warnings{w.Handler.WithGroup(name)} }

// Package sqliteinbox is an [inbox.Backend] in a SQLite file, on
// modernc.org/sqlite (pure Go: no C compiler, one static binary): the
// durable inbox of one machine, beside the SQLite idempotency store
// (github.com/payhook/payhook/idempotency/sqlitestore) in the same file.
//
//	db, err := sqlitestore.OpenDB("payhook.db") // WAL, synchronous=FULL, one connection
//	...
//	store, err := sqlitestore.New(db)
//	backend, err := sqliteinbox.New(db)
//	err = store.Migrate(ctx)   // once, at startup
//	err = backend.Migrate(ctx) // the inbox's table
//	ib := inbox.New(backend)
//	h := payhook.Handle(provider, onEvent, payhook.WithInbox(ib), payhook.WithStore(store))
//	go ib.Run(ctx) // until ctx is done, then a graceful stop
//
// # Why not River's SQLite driver
//
// River (github.com/riverqueue/river), which runs the PostgreSQL inbox, has
// a SQLite driver, and it works on modernc.org/sqlite. This package does not
// use it: the River inbox is written on pgx (its pool, its transactions,
// pgstore, PostgreSQL's jsonb and advisory locks), so taking a second driver
// would rewrite most of it and bring SQLite into every PostgreSQL build;
// River takes back a killed process's job only through its elected leader's
// rescuer (every 30 s, plus re-election and its scheduler: a minute or more
// after the lease), where a lease column here is exactly the lease; and the
// driver calls itself "in early testing". SQLite itself is the engine here:
// its transactions, its WAL and its one writer at a time are what a queue on
// one machine needs.
//
// # Table
//
// [Backend.Migrate] creates one table ([WithTable], default DefaultTable),
// one row per entry, and its index of due entries:
//
//	CREATE TABLE IF NOT EXISTS payhook_inbox (
//		seq          INTEGER PRIMARY KEY AUTOINCREMENT, -- put order
//		id           TEXT NOT NULL UNIQUE,              -- the entry's ID: Put of an ID there adds nothing
//		provider     TEXT NOT NULL,
//		key          TEXT NOT NULL,
//		event        BLOB NOT NULL,                     -- the event's bytes, as put
//		confirm      INTEGER NOT NULL,
//		claim        INTEGER NOT NULL,
//		budget       INTEGER NOT NULL,                  -- MaxAttempts as put: Replay grants it again
//		max_attempts INTEGER NOT NULL,
//		received_at  INTEGER NOT NULL,                  -- Unix microseconds, as every time here
//		state        TEXT NOT NULL,                     -- pending, running, done, dead
//		attempts     INTEGER NOT NULL,
//		errors       TEXT NOT NULL,                     -- JSON array of the last 50 attempts' errors
//		next_at      INTEGER NOT NULL,                  -- pending: when due; running: when its lease ends
//		updated_at   INTEGER NOT NULL
//	);
//	CREATE INDEX IF NOT EXISTS payhook_inbox_due ON payhook_inbox (state, next_at);
//	CREATE INDEX IF NOT EXISTS payhook_inbox_unconfirmed ON payhook_inbox (seq)
//		WHERE claim != 0 AND state != 'done'; -- Unconfirmed counts these alone
//
// # How entries run
//
// A worker takes the due pending entry with the earliest next_at in one
// statement (UPDATE ... WHERE seq = (SELECT ...) RETURNING), which sets it
// running with next_at at the end of its lease (inbox.RunConfig.Lease).
// SQLite has one writer at a time, across the processes that open the
// file, so two workers never take one entry. The attempt's outcome is
// written only if the entry is still that attempt's (running, with that
// attempt number): done; pending again after the backoff, with its error
// kept; dead after its last attempt or an [inbox.Permanent] error; or
// deleted after an [inbox.Drop] error. An
// entry still running when its lease has ended was abandoned by a killed
// process: Run makes it pending again, due at once, with the error
// "attempt N abandoned" (dead, if that attempt was its last: an event that
// kills its workers cannot kill them forever). An attempt canceled by
// Run's shutdown does not count and is due again at once.
//
// Run wakes when this Backend puts or replays an entry, when the next
// entry (a retry, a lease) is due, and every poll interval
// ([WithPollInterval]) for the entries that other processes put. It deletes
// done entries after [WithDoneRetention]; dead ones stay until replayed or
// discarded.
//
// # Durability and concurrency
//
// Open the file with sqlitestore.OpenDB, whose settings sqlitestore's
// documentation explains: WAL with synchronous=FULL, so that a Put that
// returned is on the disk (it survives SIGKILL, and power loss on a disk
// that honours fsync); one connection, so that goroutines writing at once
// queue in database/sql rather than in SQLite's busy handler; transactions
// that take the write lock at BEGIN IMMEDIATE; a busy timeout for other
// processes on the file. Every method is one statement, or one short
// transaction, so a delivery waits for the entries' workers for one
// statement at most.
//
// With sqlitestore on the same file, the Backend is an [inbox.Completer]:
// payhook's middleware inserts the entry and marks the delivery's key done
// in one transaction ([sqlitestore.Store.CompleteTx]), so that no crash
// leaves an acknowledged delivery without its entry, or an entry whose key
// is not done.
//
// Several processes of one machine may share the file, each calling Run;
// replicas on several machines need a server (riverinbox, asynqinbox).
package sqliteinbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/sqlitestore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/internal/optcheck"
)

// Defaults of the options.
const (
	// DefaultTable is the inbox's table unless [WithTable] says otherwise.
	DefaultTable = "payhook_inbox"
	// DefaultPollInterval is how often Run looks for entries that other
	// processes put or replayed.
	DefaultPollInterval = time.Second
	// DefaultDoneRetention is how long a done entry is kept, and so how
	// long Put refuses its ID: as long as payhook remembers a processed
	// event (payhook.DefaultRetention).
	DefaultDoneRetention = 7 * 24 * time.Hour
	// DefaultTimeout bounds one statement or transaction, waiting for the
	// connection included.
	DefaultTimeout = 5 * time.Second
)

// keptErrors is how many attempts' errors an entry keeps, and maxErrorLen
// the length each is cut to.
const (
	keptErrors  = 50
	maxErrorLen = 8 << 10
)

// cleanupEvery is how often Run deletes done entries past their retention.
const cleanupEvery = time.Hour

// Backend is an [inbox.Backend] in a SQLite table. Make one with [New];
// the zero value is not usable. It is safe for concurrent use, and several
// processes of one machine may share its file, each calling Run.
type Backend struct {
	refused       optcheck.Refused // values the options could not use
	db            *sql.DB
	table, index  string // quoted
	unconfirmed   string // the partial index of entries with claim, quoted
	poll          time.Duration
	doneRetention time.Duration
	timeout       time.Duration
	logger        *slog.Logger

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when an entry may have become due

	putSQL, takeSQL, reapSQL, nextSQL, finishDoneSQL, finishCanceledSQL, finishFailedSQL string
	getSQL, listSQL, statsSQL, replaySQL, discardSQL, existsSQL, cleanupSQL              string
	finishDropSQL, unconfirmedSQL                                                        string
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
	return fmt.Errorf("sqliteinbox: %w: %s", payhook.ErrConfig, fmt.Sprintf(format, args...))
}

// WithTable sets the table's name: an identifier of at most 59 letters,
// digits and underscores. Two inboxes in one file need two tables.
// Default: DefaultTable.
func WithTable(name string) Option {
	return func(b *Backend) {
		if !identifier.MatchString(name) {
			b.refused.Add("table name %q: want an identifier of at most 59 letters, digits and underscores", name)
			return
		}
		b.table = name
	}
}

// WithPollInterval sets how often Run looks for entries that other
// processes put or replayed; this Backend's own Puts and Replays, and
// retries and leases, wake Run at once or when due: 1 ms or more.
// Default: DefaultPollInterval.
func WithPollInterval(d time.Duration) Option {
	return func(b *Backend) {
		if d < time.Millisecond {
			b.refused.Add("WithPollInterval(%s): want 1ms or more", d)
			return
		}
		b.poll = d
	}
}

// WithDoneRetention sets how long a done entry is kept before Run deletes
// it; a negative d keeps done entries forever, and 0 is refused (a done
// entry must refuse its ID for a while). Dead entries are always kept
// until replayed or discarded. Default: DefaultDoneRetention.
func WithDoneRetention(d time.Duration) Option {
	return func(b *Backend) {
		if d == 0 {
			b.refused.Add("WithDoneRetention(0): want a positive duration, or a negative one to keep done entries forever")
			return
		}
		b.doneRetention = d
	}
}

// WithTimeout bounds each statement or transaction (on top of the caller's
// context): a positive duration. Default: DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(b *Backend) {
		if d <= 0 {
			b.refused.Add("WithTimeout(%s): want a positive duration", d)
			return
		}
		b.timeout = d
	}
}

// WithLogger sets where Run logs what it cannot tell a caller: an attempt's
// outcome it could not write (the entry then runs again after its lease).
// It must not be nil. Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(b *Backend) {
		if l == nil {
			b.refused.Add("WithLogger(nil)")
			return
		}
		b.logger = l
	}
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,58}$`)

// New returns a Backend that keeps its entries in a table of db, a database
// of the "sqlite" driver opened with sqlitestore.OpenDB. The table must
// exist: create it with [Backend.Migrate]. The caller owns db and closes
// it, after Run has returned. New fails with an error wrapping
// payhook.ErrConfig if db is nil or an option is given a value it cannot
// use.
func New(db *sql.DB, opts ...Option) (*Backend, error) {
	if db == nil {
		return nil, configError("nil db")
	}
	b := &Backend{
		db: db, table: DefaultTable, poll: DefaultPollInterval, doneRetention: DefaultDoneRetention,
		timeout: DefaultTimeout, logger: slog.Default(), changed: make(chan struct{}),
	}
	for _, o := range opts {
		if o != nil {
			o(b)
		}
	}
	if err := b.refused.Err("sqliteinbox", payhook.ErrConfig); err != nil {
		return nil, err
	}
	b.index = `"` + b.table + `_due"`
	b.unconfirmed = `"` + b.table + `_unconfirmed"`
	b.table = `"` + b.table + `"`
	b.prepareSQL()
	return b, nil
}

const columns = `id, provider, key, event, confirm, claim, max_attempts, received_at, state, attempts, errors, next_at, updated_at`

// appendError is the SQL expression of the errors column with err (an
// expression of a JSON object) appended, the oldest dropped beyond
// keptErrors.
func appendError(err string) string {
	return `CASE WHEN json_array_length(errors) >= ` + strconv.Itoa(keptErrors) + `
	THEN json_remove(json_insert(errors, '$[#]', ` + err + `), '$[0]')
	ELSE json_insert(errors, '$[#]', ` + err + `) END`
}

func (b *Backend) prepareSQL() {
	t := b.table
	b.putSQL = `INSERT INTO ` + t + ` (id, provider, key, event, confirm, claim, budget, max_attempts, received_at,
	state, attempts, errors, next_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, '[]', ?, ?)
	ON CONFLICT (id) DO NOTHING`
	b.takeSQL = `UPDATE ` + t + ` SET state = 'running', attempts = attempts + 1, next_at = :lease, updated_at = :now
	WHERE seq = (SELECT seq FROM ` + t + ` WHERE state = 'pending' AND next_at <= :now ORDER BY next_at, seq LIMIT 1)
	RETURNING id, provider, key, event, confirm, claim, max_attempts, received_at, attempts`
	b.reapSQL = `UPDATE ` + t + ` SET
	state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END,
	errors = ` + appendError(`json_set(:err, '$.attempt', attempts)`) + `, next_at = :now, updated_at = :now
	WHERE state = 'running' AND next_at <= :now`
	b.nextSQL = `SELECT min(n) FROM (
	SELECT min(next_at) AS n FROM ` + t + ` WHERE state = 'pending'
	UNION ALL SELECT min(next_at) FROM ` + t + ` WHERE state = 'running')`
	owned := ` WHERE id = :id AND state = 'running' AND attempts = :n`
	b.finishDoneSQL = `UPDATE ` + t + ` SET state = 'done', next_at = :now, updated_at = :now` + owned
	b.finishDropSQL = `DELETE FROM ` + t + owned
	b.finishCanceledSQL = `UPDATE ` + t + ` SET state = 'pending', attempts = attempts - 1, next_at = :now, updated_at = :now` + owned
	b.finishFailedSQL = `UPDATE ` + t + ` SET
	state = CASE WHEN :dead OR attempts >= max_attempts THEN 'dead' ELSE 'pending' END,
	next_at = :next, updated_at = :now, errors = ` + appendError(`json(:err)`) + owned
	b.getSQL = `SELECT ` + columns + ` FROM ` + t + ` WHERE id = ?`
	b.listSQL = `SELECT ` + columns + ` FROM ` + t + `
	WHERE (:state = '' OR state = :state) AND (:provider = '' OR provider = :provider) ORDER BY seq LIMIT :limit`
	b.statsSQL = `SELECT provider, state, count(*) FROM ` + t + ` GROUP BY provider, state ORDER BY provider, state`
	b.replaySQL = `UPDATE ` + t + ` SET state = 'pending', next_at = :now, updated_at = :now,
	max_attempts = attempts + max(budget, 1) WHERE id = :id AND state IN ('dead', 'done')`
	b.discardSQL = `DELETE FROM ` + t + ` WHERE id = ? AND state != 'running'`
	b.existsSQL = `SELECT 1 FROM ` + t + ` WHERE id = ?`
	b.unconfirmedSQL = `SELECT count(*) FROM ` + t + ` WHERE ` + unconfirmedWhere
	b.cleanupSQL = `DELETE FROM ` + t + ` WHERE seq IN (
	SELECT seq FROM ` + t + ` WHERE state = 'done' AND updated_at <= ? LIMIT 1000)`
}

// unconfirmedWhere selects the entries Unconfirmed counts: the partial
// index's condition, written the same in the query so that SQLite uses it.
const unconfirmedWhere = `claim != 0 AND state != 'done'`

// Unconfirmed implements [inbox.Backend]: a count on the partial index of
// the entries with claim that are not done, which holds no others.
func (b *Backend) Unconfirmed(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	var n int
	if err := b.db.QueryRowContext(ctx, b.unconfirmedSQL).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqliteinbox: unconfirmed: %w", err)
	}
	return n, nil
}

// Migrate creates the inbox's table and its indexes if they do not exist
// (the statements in the package documentation). Call it once at startup.
func (b *Backend) Migrate(ctx context.Context) error {
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS ` + b.table + ` (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT NOT NULL UNIQUE,
	provider     TEXT NOT NULL,
	key          TEXT NOT NULL,
	event        BLOB NOT NULL,
	confirm      INTEGER NOT NULL,
	claim        INTEGER NOT NULL,
	budget       INTEGER NOT NULL,
	max_attempts INTEGER NOT NULL,
	received_at  INTEGER NOT NULL,
	state        TEXT NOT NULL,
	attempts     INTEGER NOT NULL,
	errors       TEXT NOT NULL,
	next_at      INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
)`,
		`CREATE INDEX IF NOT EXISTS ` + b.index + ` ON ` + b.table + ` (state, next_at)`,
		`CREATE INDEX IF NOT EXISTS ` + b.unconfirmed + ` ON ` + b.table + ` (seq) WHERE ` + unconfirmedWhere,
	} {
		if _, err := b.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("sqliteinbox: migrate: %w", err)
		}
	}
	return nil
}

// wake tells this Backend's Run loops to look for due entries.
func (b *Backend) wake() {
	b.mu.Lock()
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

func (b *Backend) changes() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changed
}

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (b *Backend) put(ctx context.Context, x execer, e inbox.Entry) (bool, error) {
	if e.ID == "" || e.Provider == "" {
		return false, errors.New("sqliteinbox: put: an entry needs an ID and a provider")
	}
	budget := e.MaxAttempts
	if budget <= 0 {
		budget = inbox.DefaultMaxAttempts
	}
	now := micros(time.Now())
	event := e.Event
	if event == nil {
		event = []byte{}
	}
	res, err := x.ExecContext(ctx, b.putSQL, e.ID, e.Provider, e.Key, event, e.Confirm, e.Claim, budget, budget,
		micros(e.ReceivedAt), now, now)
	if err != nil {
		return false, fmt.Errorf("sqliteinbox: put: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqliteinbox: put: %w", err)
	}
	return n == 1, nil
}

// Put implements [inbox.Backend]: one INSERT ... ON CONFLICT DO NOTHING,
// committed (and, with OpenDB's settings, on the disk) when it returns.
func (b *Backend) Put(ctx context.Context, e inbox.Entry) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	added, err := b.put(ctx, b.db, e)
	if added {
		b.wake()
	}
	return added, err
}

// PutComplete implements [inbox.Completer]: when store is a
// *sqlitestore.Store on the Backend's file, the entry is inserted and the
// claim completed in one transaction, and neither happens if either fails.
// For any other store it reports handled false and does nothing.
func (b *Backend) PutComplete(ctx context.Context, e inbox.Entry, store idempotency.Store, key, token string, retention time.Duration) (added, handled bool, err error) {
	s, ok := store.(*sqlitestore.Store)
	if !ok {
		return false, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return false, true, fmt.Errorf("sqliteinbox: put: %w", err)
	}
	defer tx.Rollback()
	switch err := s.CompleteTx(ctx, tx, key, token, retention); {
	case errors.Is(err, sqlitestore.ErrOtherDatabase):
		return false, false, nil
	case err != nil:
		return false, true, err
	}
	if added, err = b.put(ctx, tx, e); err != nil {
		return false, true, err
	}
	if err := tx.Commit(); err != nil {
		return false, true, fmt.Errorf("sqliteinbox: put: %w", err)
	}
	if added {
		b.wake()
	}
	return added, true, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanInfo(s scanner) (inbox.Info, error) {
	var (
		info                    inbox.Info
		state, errs             string
		received, next, updated int64
	)
	err := s.Scan(&info.ID, &info.Provider, &info.Key, &info.Event, &info.Confirm, &info.Claim, &info.MaxAttempts,
		&received, &state, &info.Attempts, &errs, &next, &updated)
	if err != nil {
		return inbox.Info{}, err
	}
	if info.State, err = inbox.ParseState(state); err != nil {
		return inbox.Info{}, err
	}
	if err := json.Unmarshal([]byte(errs), &info.Errors); err != nil {
		return inbox.Info{}, fmt.Errorf("errors of %s: %w", info.ID, err)
	}
	info.ReceivedAt, info.UpdatedAt = fromMicros(received), fromMicros(updated)
	if info.State == inbox.Pending {
		info.NextAt = fromMicros(next)
	}
	return info, nil
}

// Get implements [inbox.Backend].
func (b *Backend) Get(ctx context.Context, id string) (inbox.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	info, err := scanInfo(b.db.QueryRowContext(ctx, b.getSQL, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return inbox.Info{}, inbox.ErrNotFound
	case err != nil:
		return inbox.Info{}, fmt.Errorf("sqliteinbox: get: %w", err)
	}
	return info, nil
}

// List implements [inbox.Backend].
func (b *Backend) List(ctx context.Context, f inbox.Filter) ([]inbox.Info, error) {
	state := ""
	if f.State != 0 {
		state = f.State.String()
	}
	limit := f.Limit
	if limit <= 0 {
		limit = inbox.DefaultListLimit
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	rows, err := b.db.QueryContext(ctx, b.listSQL, sql.Named("state", state), sql.Named("provider", f.Provider), sql.Named("limit", limit))
	if err != nil {
		return nil, fmt.Errorf("sqliteinbox: list: %w", err)
	}
	defer rows.Close()
	out := []inbox.Info{}
	for rows.Next() {
		info, err := scanInfo(rows)
		if err != nil {
			return nil, fmt.Errorf("sqliteinbox: list: %w", err)
		}
		out = append(out, info)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqliteinbox: list: %w", err)
	}
	return out, nil
}

// Stats implements [inbox.Backend].
func (b *Backend) Stats(ctx context.Context) ([]inbox.Stat, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	rows, err := b.db.QueryContext(ctx, b.statsSQL)
	if err != nil {
		return nil, fmt.Errorf("sqliteinbox: stats: %w", err)
	}
	defer rows.Close()
	var out []inbox.Stat
	for rows.Next() {
		var (
			s     inbox.Stat
			state string
		)
		if err := rows.Scan(&s.Provider, &state, &s.N); err != nil {
			return nil, fmt.Errorf("sqliteinbox: stats: %w", err)
		}
		if s.State, err = inbox.ParseState(state); err != nil {
			return nil, fmt.Errorf("sqliteinbox: stats: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqliteinbox: stats: %w", err)
	}
	return out, nil
}

// change runs a statement on entry id that changes it only in the states
// that allow it, and tells ErrNotFound from ErrState when it changed
// nothing.
func (b *Backend) change(ctx context.Context, op, id, query string, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	res, err := b.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqliteinbox: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqliteinbox: %s: %w", op, err)
	}
	if n > 0 {
		return nil
	}
	var one int
	switch err := b.db.QueryRowContext(ctx, b.existsSQL, id).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return inbox.ErrNotFound
	case err != nil:
		return fmt.Errorf("sqliteinbox: %s: %w", op, err)
	}
	return inbox.ErrState
}

// Replay implements [inbox.Backend].
func (b *Backend) Replay(ctx context.Context, id string) error {
	err := b.change(ctx, "replay", id, b.replaySQL, sql.Named("id", id), sql.Named("now", micros(time.Now())))
	if err == nil {
		b.wake()
	}
	return err
}

// Discard implements [inbox.Backend].
func (b *Backend) Discard(ctx context.Context, id string) error {
	return b.change(ctx, "discard", id, b.discardSQL, id)
}

// Cleanup deletes the done entries older than the retention
// ([WithDoneRetention]), in batches of a thousand, and returns how many it
// deleted. Run calls it every hour; call it yourself where no process runs
// the inbox.
func (b *Backend) Cleanup(ctx context.Context) (int64, error) {
	if b.doneRetention < 0 {
		return 0, nil
	}
	var total int64
	for {
		res, err := b.db.ExecContext(ctx, b.cleanupSQL, micros(time.Now().Add(-b.doneRetention)))
		if err != nil {
			return total, fmt.Errorf("sqliteinbox: cleanup: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("sqliteinbox: cleanup: %w", err)
		}
		total += n
		if n < 1000 {
			return total, nil
		}
	}
}

// micros is t in Unix microseconds, the table's times; 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

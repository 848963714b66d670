// Package sqlitestore is an [idempotency.Store] kept in a SQLite file, on
// modernc.org/sqlite: pure Go, no C compiler, one static binary. It is the
// durable store of one machine: a restart, a crash or a SIGKILL forgets no
// event that was done, so a captured webhook replayed later is still
// "already processed". Several processes on that machine may share the
// file; replicas on several machines need a shared server (pgstore,
// redisstore).
//
//	db, err := sqlitestore.OpenDB("payhook.db")
//	...
//	defer db.Close()
//	store, err := sqlitestore.New(db)
//	...
//	err = store.Migrate(ctx) // once, at startup
//	h := payhook.Handle(provider, onEvent, payhook.WithStore(store))
//
// # Durability: WAL, synchronous=FULL
//
// [OpenDB] opens the file in WAL mode (journal_mode=WAL) with
// synchronous=FULL. In WAL mode a commit appends to the write-ahead log and
// readers never block the writer; with FULL, SQLite fsyncs the log before
// the commit returns. So a Complete that returned nil is on the disk: it
// survives the process's SIGKILL, and a power loss or kernel crash too,
// given a disk that honours fsync. synchronous=NORMAL, SQLite's usual
// choice in WAL mode, syncs only at checkpoints: it survives a SIGKILL (the
// kernel holds the written log) but a power loss may roll back the last
// commits, and a done event forgotten is an event processed twice. FULL
// costs one fsync per Claim and per Complete that changes a row (see the
// module's BenchmarkClaimComplete); a claim answered in flight or done
// writes nothing.
//
// # Concurrency: one connection
//
// SQLite has one writer at a time, and every call of the store writes (or
// reads to decide whether to write). OpenDB therefore keeps one open
// connection (db.SetMaxOpenConns(1)): goroutines writing at once queue in
// database/sql, in order, and none ever meets SQLITE_BUSY. With several
// connections they would contend in SQLite's busy handler instead, which
// sleeps and retries: latency spikes, no fairness, and SQLITE_BUSY once its
// timeout ends. Each call is one autocommit statement (two for a claim that
// finds the key taken, the second a read), so no transaction ever upgrades a
// read lock to a write lock; a transaction of yours on the same database
// (DSN sets _txlock=immediate) takes the write lock at BEGIN IMMEDIATE for
// the same reason. busy_timeout is still set (5 s) for the connections of
// other processes on the same file: a second payhook on the same file, or
// the sqlite3 shell, waits for the lock rather than failing.
//
// # Table and times
//
// The table ([WithTable], default DefaultTable) has one row per key,
// created by [Store.Migrate]:
//
//	CREATE TABLE IF NOT EXISTS payhook_idempotency (
//		key        BLOB PRIMARY KEY,   -- the idempotency key, any bytes
//		token      TEXT,               -- the claim's owner; NULL once done
//		expires_at INTEGER NOT NULL    -- end of the lease, or of the retention once done: Unix microseconds
//	) WITHOUT ROWID;
//	CREATE INDEX IF NOT EXISTS payhook_idempotency_expires_at ON payhook_idempotency (expires_at);
//
// Expiries are read from the process's clock ([WithClock]), which every
// process of one machine shares. Expired rows do no harm: a claim takes them
// over. [Store.Cleanup] deletes them in small batches; run it now and then.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/internal/optcheck"
)

// DefaultTable is the table the store uses unless [WithTable] says
// otherwise.
const DefaultTable = "payhook_idempotency"

// DefaultTimeout bounds one Claim, Complete or Release, waiting for the
// connection included. The middleware completes a claim with a context
// that outlives the request: without a bound, a disk that stops answering
// would hold the delivery for as long.
const DefaultTimeout = 5 * time.Second

// BusyTimeout is how long a connection of OpenDB waits for another
// process's lock on the file before it fails with SQLITE_BUSY.
const BusyTimeout = 5 * time.Second

// cleanupBatch is how many rows one statement of Cleanup deletes at most.
const cleanupBatch = 1000

// DSN returns the data source name OpenDB opens path with, for the
// "sqlite" driver of modernc.org/sqlite: WAL, synchronous=FULL, a busy
// timeout of BusyTimeout. To open the file yourself (sql.Open("sqlite",
// DSN(path))), keep it to one open connection, as OpenDB does.
func DSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_txlock", "immediate")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// OpenDB opens (and creates if need be) the SQLite file at path, with the
// settings the package documentation explains: WAL, synchronous=FULL, a
// busy timeout, one open connection. It checks that the file can be read
// and written in WAL mode before it returns. The caller closes the
// returned *sql.DB.
func OpenDB(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	ctx, cancel := context.WithTimeout(context.Background(), BusyTimeout+5*time.Second)
	defer cancel()
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	if mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: journal mode %q, want wal (a file system without shared memory?)", path, mode)
	}
	return db, nil
}

// Store is an [idempotency.Store] in a SQLite table. Make one with [New];
// the zero value is not usable. A Store is safe for concurrent use by many
// goroutines, and by many processes of one machine sharing the file.
type Store struct {
	db      *sql.DB
	now     func() time.Time
	timeout time.Duration
	table   string // quoted
	index   string // quoted

	claimSQL, stateSQL, completeSQL, releaseSQL, cleanupSQL string

	fileMu sync.Mutex
	path   string // the database file, read by CompleteTx once
}

var _ idempotency.Store = (*Store)(nil)

// Option configures [New]. An option given a value it cannot use makes
// New fail with an error wrapping payhook.ErrConfig.
type Option func(*config)

type config struct {
	refused optcheck.Refused // values the options could not use
	table   string
	timeout time.Duration
	now     func() time.Time
}

// WithTable sets the table's name: an identifier of letters, digits and
// underscores. Default: DefaultTable.
func WithTable(name string) Option {
	return func(c *config) {
		c.table = name
	}
}

// WithTimeout bounds one Claim, Complete or Release (on top of the
// caller's context): a positive duration. Default: DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.refused.Add("WithTimeout(%s): want a positive duration", d)
			return
		}
		c.timeout = d
	}
}

// configError is a refusal of New, worded as optcheck words the options'.
func configError(format string, args ...any) error {
	return fmt.Errorf("sqlitestore: %w: %s", payhook.ErrConfig, fmt.Sprintf(format, args...))
}

// WithClock makes the store read the time from now, so that tests can move
// leases and retention forward without sleeping. Every process sharing a
// file must read the same clock. It must not be nil. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.refused.Add("WithClock(nil)")
			return
		}
		c.now = now
	}
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// New returns a Store that keeps its keys in a table of db, a database of
// the "sqlite" driver, best opened with [OpenDB]. The table must exist:
// create it with [Store.Migrate]. The caller owns db and closes it. New
// fails with an error wrapping payhook.ErrConfig if db is nil or an option
// is given a value it cannot use (a table name that is not a valid
// identifier).
func New(db *sql.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, configError("nil db")
	}
	c := config{table: DefaultTable, timeout: DefaultTimeout, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if err := c.refused.Err("sqlitestore", payhook.ErrConfig); err != nil {
		return nil, err
	}
	if !identifier.MatchString(c.table) {
		return nil, configError("table name %q: want an identifier of at most 63 letters, digits and underscores", c.table)
	}
	t := `"` + c.table + `"`
	s := &Store{
		db:      db,
		now:     c.now,
		timeout: c.timeout,
		table:   t,
		index:   `"` + c.table + `_expires_at"`,
		// Takes the key if it is absent, expired, or held by the caller's
		// token (a claim sent again, or a renewal); returns a row if it did.
		claimSQL: `INSERT INTO ` + t + ` AS r (key, token, expires_at) VALUES (?1, ?2, ?3)
	ON CONFLICT (key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
		WHERE r.expires_at <= ?4 OR r.token = excluded.token
	RETURNING 1`,
		stateSQL:    `SELECT token IS NULL FROM ` + t + ` WHERE key = ?1 AND expires_at > ?2`,
		completeSQL: `UPDATE ` + t + ` SET token = NULL, expires_at = ?3 WHERE key = ?1 AND token = ?2 AND expires_at > ?4`,
		releaseSQL:  `DELETE FROM ` + t + ` WHERE key = ?1 AND token = ?2 AND expires_at > ?3`,
		cleanupSQL:  `DELETE FROM ` + t + ` WHERE key IN (SELECT key FROM ` + t + ` WHERE expires_at <= ?1 LIMIT ?2)`,
	}
	// For CompleteTx; Migrate tries again if the database is busy now.
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	s.readFile(ctx)
	return s, nil
}

// Migrate creates the store's table and its index on expires_at if they do
// not exist (the statements in the package documentation). Call it once at
// startup.
func (s *Store) Migrate(ctx context.Context) error {
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS ` + s.table + ` (
	key        BLOB PRIMARY KEY,
	token      TEXT,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID`,
		`CREATE INDEX IF NOT EXISTS ` + s.index + ` ON ` + s.table + ` (expires_at)`,
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("sqlitestore: migrate: %w", err)
		}
	}
	if err := s.readFile(ctx); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	return nil
}

// Claim implements [idempotency.Store]: one statement when the key is
// taken, a second, a read, to tell in flight from done when it is not.
func (s *Store) Claim(ctx context.Context, key, token string, lease time.Duration) (idempotency.State, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("sqlitestore: claim: %w", err)
	}
	if token == "" {
		return 0, errors.New("sqlitestore: claim: empty token")
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	k := []byte(key)
	for range 3 {
		now := s.now()
		var one int
		err := s.db.QueryRowContext(ctx, s.claimSQL, k, token, micros(now.Add(lease)), micros(now)).Scan(&one)
		if err == nil {
			return idempotency.Acquired, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("sqlitestore: claim: %w", err)
		}
		var done bool
		err = s.db.QueryRowContext(ctx, s.stateSQL, k, micros(s.now())).Scan(&done)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue // released or expired since the first statement: try again
		case err != nil:
			return 0, fmt.Errorf("sqlitestore: claim: %w", err)
		case done:
			return idempotency.Done, nil
		}
		return idempotency.InFlight, nil
	}
	// The key changed hands under every attempt: someone holds it now.
	return idempotency.InFlight, nil
}

// Complete implements [idempotency.Store].
func (s *Store) Complete(ctx context.Context, key, token string, retention time.Duration) error {
	now := s.now()
	return s.finish(ctx, "complete", s.completeSQL, []byte(key), token, micros(now.Add(retention)), micros(now))
}

// Release implements [idempotency.Store].
func (s *Store) Release(ctx context.Context, key, token string) error {
	return s.finish(ctx, "release", s.releaseSQL, []byte(key), token, micros(s.now()))
}

// finish runs an owner-checked statement: no row changed means the token
// does not own the key.
func (s *Store) finish(ctx context.Context, op, query string, args ...any) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	switch {
	case err != nil:
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	case n == 0:
		return idempotency.ErrNotOwner
	}
	return nil
}

// Cleanup deletes the rows whose lease or retention has ended, in batches
// of a thousand, each its own short statement, so that claims wait on it
// for one batch at most. It returns how many rows it deleted; on an error
// or when ctx ends, the rows deleted so far stay deleted.
//
// Expired rows are harmless (a claim takes them over) but take space: run
// Cleanup every hour or so, e.g.
//
//	go func() {
//		for range time.Tick(time.Hour) {
//			if _, err := store.Cleanup(ctx); err != nil {
//				logger.Warn("idempotency cleanup", "error", err)
//			}
//		}
//	}()
func (s *Store) Cleanup(ctx context.Context) (int64, error) {
	var total int64
	for {
		res, err := s.db.ExecContext(ctx, s.cleanupSQL, micros(s.now()), cleanupBatch)
		if err != nil {
			return total, fmt.Errorf("sqlitestore: cleanup: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("sqlitestore: cleanup: %w", err)
		}
		total += n
		if n < cleanupBatch {
			return total, nil
		}
	}
}

// micros is t in Unix microseconds: the table's resolution.
func micros(t time.Time) int64 { return t.UnixMicro() }

// Package pgstore is an [idempotency.Store] kept in a PostgreSQL table, so
// that every replica of an application sees the same claims: a webhook
// delivered twice, to two replicas at once, is processed by exactly one of
// them. It uses github.com/jackc/pgx/v5 through a *pgxpool.Pool.
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	...
//	store, err := pgstore.New(pool)
//	...
//	err = store.Migrate(ctx) // once, at startup or in your migrations
//	h := payhook.Handle(provider, onEvent, payhook.WithStore(store))
//
// The table ([WithTable], default DefaultTable) has one row per key.
// [Store.Migrate] creates it; to create it in your own migrations instead:
//
//	CREATE TABLE IF NOT EXISTS payhook_idempotency (
//		key        bytea PRIMARY KEY,     -- the idempotency key, any bytes
//		token      text,                  -- the claim's owner; NULL once done
//		expires_at timestamptz NOT NULL   -- end of the lease, or of the retention once done
//	);
//	CREATE INDEX IF NOT EXISTS payhook_idempotency_expires_at ON payhook_idempotency (expires_at);
//
// Claim is one statement, one round trip: an INSERT ... ON CONFLICT DO
// UPDATE that takes a fresh key, an expired one (a crashed owner's lease, a
// done key past its retention) or one the caller's token holds (a claim
// sent again, whose lease it renews), and otherwise reports the key in
// flight or done. Complete and Release are an UPDATE and a DELETE that match the
// owner's token. Every expiry is decided by the database's clock
// (clock_timestamp()), never the replica's, so replicas whose clocks
// disagree still agree on who holds a key.
//
// Expired rows do no harm: a claim takes them over. [Store.Cleanup] deletes
// them, in small batches that skip rows a claim has locked, so it never
// holds up a claim; run it now and then (see its documentation).
//
// Errors of the pool (server down, timeout) are returned wrapped, so the
// middleware answers 503 and the delivery is retried; the pool reconnects by
// itself when the server is back.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/internal/optcheck"
)

// DefaultTable is the table the store uses unless [WithTable] says
// otherwise.
const DefaultTable = "payhook_idempotency"

// cleanupBatch is how many rows one statement of Cleanup deletes at most.
const cleanupBatch = 1000

// Store is an [idempotency.Store] in a PostgreSQL table. Make one with
// [New]; the zero value is not usable. A Store is safe for concurrent use by
// many goroutines and many processes sharing one database.
type Store struct {
	pool    *pgxpool.Pool
	timeout time.Duration // of one Claim, Complete or Release
	table   string        // schema-qualified as given, quoted for SQL
	index   string        // the index on expires_at, quoted

	claimSQL, completeSQL, releaseSQL, cleanupSQL string
}

var _ idempotency.Store = (*Store)(nil)

// Option configures [New]. An option given a value it cannot use makes
// New fail with an error wrapping payhook.ErrConfig.
type Option func(*config)

type config struct {
	refused optcheck.Refused // values the options could not use
	table   string
	timeout time.Duration
}

// DefaultTimeout bounds one Claim, Complete or Release. pgx sets no
// deadline of its own, and the middleware completes a claim with a context
// that outlives the request: without a bound, a server that stops
// answering (a dropped network path, not a refused connection) would hold
// the delivery until TCP gives up.
const DefaultTimeout = 5 * time.Second

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
	return fmt.Errorf("pgstore: %w: %s", payhook.ErrConfig, fmt.Sprintf(format, args...))
}

// WithTable sets the table's name: an identifier of letters, digits and
// underscores, optionally qualified by a schema ("payments.idempotency").
// It is quoted as given, so it is case-sensitive. Default: DefaultTable, in
// the connection's search_path.
func WithTable(name string) Option {
	return func(c *config) {
		c.table = name
	}
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// New returns a Store that keeps its keys in a table of pool's database.
// The table must exist: create it with [Store.Migrate]. The caller owns
// pool and closes it. New fails with an error wrapping payhook.ErrConfig
// if pool is nil or an option is given a value it cannot use (a table name
// that is not a valid identifier).
func New(pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, configError("nil pool")
	}
	c := config{table: DefaultTable, timeout: DefaultTimeout}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if err := c.refused.Err("pgstore", payhook.ErrConfig); err != nil {
		return nil, err
	}
	parts := strings.Split(c.table, ".")
	for _, p := range parts {
		if len(parts) > 2 || !identifier.MatchString(p) {
			return nil, configError("table name %q: want an identifier of at most 63 letters, digits and underscores, optionally schema-qualified", c.table)
		}
	}
	t := pgx.Identifier(parts).Sanitize()
	return &Store{
		pool:    pool,
		timeout: c.timeout,
		table:   t,
		index:   pgx.Identifier{parts[len(parts)-1] + "_expires_at"}.Sanitize(),
		// One statement: the CTE inserts the key or takes over an expired
		// row, returning a row if it did; otherwise the SELECT reports the
		// row it found. The SELECT reads the statement's snapshot, so when
		// a concurrent claim inserted the row after the snapshot it finds
		// nothing and Claim runs the statement again.
		claimSQL: `WITH claimed AS (
	INSERT INTO ` + t + ` AS r (key, token, expires_at)
	VALUES ($1, $2, clock_timestamp() + $3 * interval '1 microsecond')
	ON CONFLICT (key) DO UPDATE
		SET token = excluded.token, expires_at = clock_timestamp() + $3 * interval '1 microsecond'
		WHERE r.expires_at <= clock_timestamp() OR r.token = excluded.token
	RETURNING true
)
SELECT true, false FROM claimed
UNION ALL
SELECT false, token IS NULL AND expires_at > clock_timestamp()
	FROM ` + t + ` WHERE key = $1 AND NOT EXISTS (SELECT FROM claimed)`,
		completeSQL: `UPDATE ` + t + ` SET token = NULL, expires_at = clock_timestamp() + $3 * interval '1 microsecond'
	WHERE key = $1 AND token = $2 AND expires_at > clock_timestamp()`,
		releaseSQL: `DELETE FROM ` + t + ` WHERE key = $1 AND token = $2 AND expires_at > clock_timestamp()`,
		cleanupSQL: `DELETE FROM ` + t + ` WHERE key IN (
	SELECT key FROM ` + t + ` WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED
) AND expires_at <= now()`,
	}, nil
}

// Migrate creates the store's table and its index on expires_at if they do
// not exist (the statements in the package documentation). Call it once at
// startup, or put those statements in your own migrations; it is not needed
// on every request. Concurrent calls from many
// replicas are serialized with an advisory lock.
func (s *Store) Migrate(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, sql := range []string{
			`SELECT pg_advisory_xact_lock(hashtextextended('payhook/pgstore.Migrate', 0))`,
			`CREATE TABLE IF NOT EXISTS ` + s.table + ` (
	key        bytea PRIMARY KEY,
	token      text,
	expires_at timestamptz NOT NULL
)`,
			`CREATE INDEX IF NOT EXISTS ` + s.index + ` ON ` + s.table + ` (expires_at)`,
		} {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}

// Claim implements [idempotency.Store], in one round trip unless a
// concurrent claim of the same key inserted it a moment before.
func (s *Store) Claim(ctx context.Context, key, token string, lease time.Duration) (idempotency.State, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("pgstore: claim: %w", err)
	}
	if token == "" {
		return 0, errors.New("pgstore: claim: empty token")
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	for range 3 {
		var acquired, done bool
		err := s.pool.QueryRow(ctx, s.claimSQL, []byte(key), token, micros(lease)).Scan(&acquired, &done)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			continue // inserted by a concurrent claim after this statement's snapshot
		case serializationFailure(err):
			continue // the same, when the session's transactions are repeatable read or serializable
		case err != nil:
			return 0, fmt.Errorf("pgstore: claim: %w", err)
		case acquired:
			return idempotency.Acquired, nil
		case done:
			return idempotency.Done, nil
		}
		return idempotency.InFlight, nil
	}
	// The key changed hands under every attempt: someone holds it now.
	return idempotency.InFlight, nil
}

// serializationFailure reports whether err is PostgreSQL's "could not
// serialize access" (SQLSTATE 40001), which a statement gets instead of a
// concurrent claim's row when default_transaction_isolation is stricter
// than read committed.
func serializationFailure(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "40001"
}

// Complete implements [idempotency.Store].
func (s *Store) Complete(ctx context.Context, key, token string, retention time.Duration) error {
	return s.finish(ctx, "complete", s.completeSQL, []byte(key), token, micros(retention))
}

// Release implements [idempotency.Store].
func (s *Store) Release(ctx context.Context, key, token string) error {
	return s.finish(ctx, "release", s.releaseSQL, []byte(key), token)
}

// finish runs an owner-checked statement: no row changed means the token
// does not own the key.
func (s *Store) finish(ctx context.Context, op, sql string, args ...any) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tag, err := s.pool.Exec(ctx, sql, args...)
	switch {
	case err != nil:
		return fmt.Errorf("pgstore: %s: %w", op, err)
	case tag.RowsAffected() == 0:
		return idempotency.ErrNotOwner
	}
	return nil
}

// Cleanup deletes the rows whose lease or retention has ended, in batches
// of a thousand, each its own short statement that skips rows a claim has
// locked, so that claims never wait on it for long. It returns how many rows
// it deleted; on an error or when ctx ends, the rows deleted so far stay
// deleted.
//
// Expired rows are harmless (a claim takes them over) but take space: run
// Cleanup from one or every replica every hour or so, e.g.
//
//	go func() {
//		for range time.Tick(time.Hour) {
//			if _, err := store.Cleanup(ctx); err != nil {
//				logger.Warn("idempotency cleanup", "error", err)
//			}
//		}
//	}()
//
// or schedule `DELETE FROM payhook_idempotency WHERE expires_at <= now()`
// with pg_cron.
func (s *Store) Cleanup(ctx context.Context) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, s.cleanupSQL, cleanupBatch)
		if err != nil {
			return total, fmt.Errorf("pgstore: cleanup: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < cleanupBatch {
			return total, nil
		}
	}
}

// micros is d in whole microseconds, rounded up, at least 1: PostgreSQL's
// resolution.
func micros(d time.Duration) int64 {
	return int64(max(1, (d+time.Microsecond-1)/time.Microsecond))
}

package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/internal/expectstore"
)

// DefaultExpectationsTable is the table of [Expectations] unless
// [WithExpectationsTable] says otherwise.
const DefaultExpectationsTable = "payhook_expectations"

// Expectations is an [expect.Store] in a PostgreSQL table, so that every
// replica of an application shares the expected payments: each is settled
// once, by one payment, and polled by one replica at a time. Make one with
// [NewExpectations] and create its table with [Expectations.Migrate]; the
// zero value is not usable. It is safe for concurrent use by many
// goroutines and many processes sharing one database.
//
// Each method is one statement; one that changes nothing (a refused
// Settle, Cancel, ...) reads why in a second. Due and MarkOverdue take
// their rows with FOR UPDATE SKIP LOCKED, so replicas calling them at once
// never wait on each other nor take the same row; unique indexes make each
// ID, each Ref and each settling payment id name at most one expectation
// of a provider; partial indexes on the due time of the pending
// expectations, and indexes on the deadline by state and provider, serve
// Due, MarkOverdue and List without a scan of the table. The table
// ([WithExpectationsTable], default DefaultExpectationsTable):
//
//	CREATE TABLE payhook_expectations (
//		seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- the order of Add
//		provider   text NOT NULL,
//		id         text,                 -- NULL when expected by reference only
//		ref        text,                 -- NULL when expected by id only
//		amount     text NOT NULL,        -- exact decimal text
//		currency   text NOT NULL,
//		deadline   timestamptz NOT NULL,
//		state      smallint NOT NULL,    -- 1 pending, 2 settled, 3 overdue, 4 cancelled
//		created_at timestamptz NOT NULL,
//		payment_id text,                 -- the payment that settled it
//		outcome    text NOT NULL DEFAULT '',
//		settled_at timestamptz,
//		next_poll  timestamptz NOT NULL,
//		attempts   integer NOT NULL DEFAULT 0,
//		confirmed  boolean NOT NULL DEFAULT false -- true once Confirm: its payment was processed
//	);
//
// Times are the caller's (expect.Store's contract), kept to the
// microsecond. [Expectations.SettleTx] settles an expectation in a
// transaction of yours.
type Expectations struct {
	pool    *pgxpool.Pool
	now     func() time.Time
	timeout time.Duration
	table   string // quoted
	name    string // the table's own name, unquoted, for the indexes

	addSQL                               string
	dueSQL, overdueSQL                   [2]string // [0] of every provider, [1] of those given
	getSQL, settleSQL, whySQL, existsSQL [2]string // [0] by id, [1] by ref
	reopenSQL, cancelSQL, rescheduleSQL  [2]string
	confirmSQL                           [2]string
	unconfirmedSQL                       [2]string // [0] of every provider, [1] of those given
	listSQL                              [4]string // by provider (1) and state (2)
	forgetSQL                            [2]string // [0] of every provider, [1] of those given
	migrateSQL                           []string
}

var _ expect.Store = (*Expectations)(nil)

// ExpectationsOption configures [NewExpectations]. An option given a value
// it cannot use makes NewExpectations fail with an error wrapping
// payhook.ErrConfig.
type ExpectationsOption func(*expectConfig)

type expectConfig struct {
	expectstore.Config
	table string
}

// WithExpectationsTable sets the table's name: an identifier of letters,
// digits and underscores, optionally qualified by a schema
// ("payments.expectations"), quoted as given. Default:
// DefaultExpectationsTable, in the connection's search_path.
func WithExpectationsTable(name string) ExpectationsOption {
	return func(c *expectConfig) { c.table = name }
}

// WithExpectationsTimeout bounds one call of the store (on top of the
// caller's context): a positive duration. Default: DefaultTimeout.
func WithExpectationsTimeout(d time.Duration) ExpectationsOption {
	return func(c *expectConfig) { c.SetTimeout(d) }
}

// WithExpectationsClock sets the clock that stamps CreatedAt when Add is
// given none; every other time is the caller's. It must not be nil.
// Default: time.Now.
func WithExpectationsClock(now func() time.Time) ExpectationsOption {
	return func(c *expectConfig) { c.SetClock(now) }
}

// NewExpectations returns an Expectations store in a table of pool's
// database (the same as [New]'s, if you like). The table must exist:
// create it with [Expectations.Migrate]. The caller owns pool and closes
// it. NewExpectations fails with an error wrapping payhook.ErrConfig if
// pool is nil or an option is given a value it cannot use (a table name
// that is not an identifier).
func NewExpectations(pool *pgxpool.Pool, opts ...ExpectationsOption) (*Expectations, error) {
	if pool == nil {
		return nil, configError("nil pool")
	}
	c := expectConfig{Config: expectstore.Config{Timeout: DefaultTimeout, Now: time.Now}, table: DefaultExpectationsTable}
	expectstore.Apply(&c, opts)
	if err := c.Refused.Err("pgstore", payhook.ErrConfig); err != nil {
		return nil, err
	}
	parts := strings.Split(c.table, ".")
	for _, p := range parts {
		if len(parts) > 2 || !identifier.MatchString(p) {
			return nil, configError("WithExpectationsTable(%q): want an identifier of at most 63 letters, digits and underscores, optionally schema-qualified", c.table)
		}
	}
	e := &Expectations{pool: pool, now: c.Now, timeout: c.Timeout, table: pgx.Identifier(parts).Sanitize(), name: parts[len(parts)-1]}
	e.prepare()
	return e, nil
}

// index returns the quoted name of the table's index called suffix.
func (e *Expectations) index(suffix string) string {
	return pgx.Identifier{e.name + "_" + suffix}.Sanitize()
}

// prepare writes the store's statements.
func (e *Expectations) prepare() {
	t := e.table
	for i, k := range [2]string{`provider = $1 AND id = $2`, `provider = $1 AND ref = $2`} {
		e.getSQL[i] = `SELECT ` + expectstore.Cols + ` FROM ` + t + ` WHERE ` + k
		e.settleSQL[i] = fmt.Sprintf(`UPDATE %s SET state = %d, payment_id = $3, outcome = $4, settled_at = $5, confirmed = false
	WHERE %s AND state IN (%d, %d) AND (id IS NULL OR id = $3)
		AND NOT EXISTS (SELECT FROM %s WHERE provider = $1 AND payment_id = $3)
	RETURNING `+expectstore.Cols, t, expectstore.Settled, k, expectstore.Pending, expectstore.Overdue, t)
		e.whySQL[i] = `SELECT ` + expectstore.Cols + `, EXISTS (SELECT FROM ` + t + ` WHERE provider = $1 AND payment_id = $3) FROM ` + t + ` WHERE ` + k
		e.existsSQL[i] = `SELECT true FROM ` + t + ` WHERE ` + k
		e.reopenSQL[i] = fmt.Sprintf(`UPDATE %s SET state = %d, payment_id = NULL, outcome = '', settled_at = NULL, next_poll = $4
	WHERE %s AND state = %d AND payment_id = $3`, t, expectstore.Pending, k, expectstore.Settled)
		e.cancelSQL[i] = fmt.Sprintf(`UPDATE %s SET state = %d WHERE %s AND state IN (%d, %d, %d)`, t, expectstore.Cancelled, k, expectstore.Pending, expectstore.Overdue, expectstore.Cancelled)
		e.rescheduleSQL[i] = fmt.Sprintf(`UPDATE %s SET next_poll = $3 WHERE %s AND state = %d`, t, k, expectstore.Pending)
		e.confirmSQL[i] = fmt.Sprintf(`UPDATE %s SET confirmed = true WHERE %s AND state = %d AND payment_id = $3`, t, k, expectstore.Settled)
	}
	// Unconfirmed: $1 before, $2 limit, $3 the providers, each one's run
	// read from its own range of the partial index.
	unconfirmed := fmt.Sprintf(`state = %d AND NOT confirmed`, expectstore.Settled)
	e.unconfirmedSQL = [2]string{
		`SELECT ` + expectstore.Cols + ` FROM ` + t + ` WHERE ` + unconfirmed + ` AND settled_at <= $1 ORDER BY settled_at, seq LIMIT $2`,
		`SELECT x.* FROM unnest($3::text[]) AS p(provider) CROSS JOIN LATERAL (
		SELECT ` + expectstore.Cols + ` FROM ` + t + ` WHERE provider = p.provider AND ` + unconfirmed + ` AND settled_at <= $1
		ORDER BY settled_at, seq LIMIT $2) x
	ORDER BY x.settled_at, x.seq LIMIT $2`,
	}
	e.addSQL = `INSERT INTO ` + t + ` (provider, id, ref, amount, currency, deadline, state, created_at, next_poll)
	VALUES ($1, $2, $3, $4, $5, $6, ` + fmt.Sprint(expectstore.Pending) + `, $7, $8) ON CONFLICT DO NOTHING`

	// Due and MarkOverdue: $1 now, $2 limit, then Due's new next poll, then
	// the providers (in $P). Of the providers given, each one's run is
	// read from its own index range (LATERAL), so that no call reads the
	// rows of a provider it did not ask for, nor sorts more than it
	// returns.
	take := func(cond, order, set, providers string) [2]string {
		all := `SELECT seq FROM ` + t + ` WHERE ` + cond + ` ORDER BY ` + order + ` LIMIT $2 FOR UPDATE SKIP LOCKED`
		some := `SELECT x.seq FROM unnest(` + providers + `::text[]) AS p(provider) CROSS JOIN LATERAL (
		SELECT seq, ` + strings.Split(order, ",")[0] + ` AS o FROM ` + t + ` WHERE provider = p.provider AND ` + cond + `
		ORDER BY ` + order + ` LIMIT $2 FOR UPDATE SKIP LOCKED) x
	ORDER BY x.o, x.seq LIMIT $2`
		upd := `UPDATE ` + t + ` AS e SET ` + set + ` FROM (%s) AS picked WHERE e.seq = picked.seq RETURNING ` + prefixed("e.", expectstore.Cols)
		return [2]string{fmt.Sprintf(upd, all), fmt.Sprintf(upd, some)}
	}
	e.dueSQL = take(fmt.Sprintf(`state = %d AND id IS NOT NULL AND next_poll <= $1`, expectstore.Pending), `next_poll, seq`, `next_poll = $3, attempts = e.attempts + 1`, `$4`)
	e.overdueSQL = take(fmt.Sprintf(`state = %d AND deadline <= $1`, expectstore.Pending), `deadline, seq`, fmt.Sprintf(`state = %d`, expectstore.Overdue), `$3`)

	// Forget: $1 before, $2 limit, $3 the providers. The settled and the
	// cancelled ones are read, each, from their index range by deadline
	// (of each provider given); SKIP LOCKED: of replicas forgetting at
	// once, each deletes (and counts) rows of its own.
	forget := [2]string{fmt.Sprintf(`state = %d AND deadline < $1 AND settled_at < $1`, expectstore.Settled),
		fmt.Sprintf(`state = %d AND deadline < $1`, expectstore.Cancelled)}
	for i := range e.forgetSQL {
		var old [2]string
		for j, cond := range forget {
			old[j] = `(SELECT seq FROM (SELECT seq FROM ` + t + ` WHERE ` + cond + ` ORDER BY deadline, seq LIMIT $2 FOR UPDATE SKIP LOCKED) x)`
			if i == 1 {
				old[j] = `(SELECT x.seq FROM unnest($3::text[]) AS p(provider) CROSS JOIN LATERAL (
		SELECT seq FROM ` + t + ` WHERE provider = p.provider AND ` + cond + ` ORDER BY deadline, seq LIMIT $2 FOR UPDATE SKIP LOCKED) x)`
			}
		}
		e.forgetSQL[i] = `DELETE FROM ` + t + ` WHERE seq IN (SELECT seq FROM (` + old[0] + ` UNION ALL ` + old[1] + `) AS old LIMIT $2)`
	}

	for i := range e.listSQL {
		var where []string
		if i&1 != 0 {
			where = append(where, `provider = $2`)
		}
		if i&2 != 0 {
			where = append(where, fmt.Sprintf(`state = $%d`, 2+i&1))
		}
		q := `SELECT ` + expectstore.Cols + ` FROM ` + t
		if len(where) > 0 {
			q += ` WHERE ` + strings.Join(where, ` AND `)
		}
		e.listSQL[i] = q + ` ORDER BY deadline, seq LIMIT $1`
	}

	pending := fmt.Sprintf(`state = %d`, expectstore.Pending)
	e.migrateSQL = []string{
		`SELECT pg_advisory_xact_lock(hashtextextended('payhook/pgstore.Expectations.Migrate', 0))`,
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
	seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	provider   text NOT NULL,
	id         text,
	ref        text,
	amount     text NOT NULL,
	currency   text NOT NULL,
	deadline   timestamptz NOT NULL,
	state      smallint NOT NULL,
	created_at timestamptz NOT NULL,
	payment_id text,
	outcome    text NOT NULL DEFAULT '',
	settled_at timestamptz,
	next_poll  timestamptz NOT NULL,
	attempts   integer NOT NULL DEFAULT 0,
	confirmed  boolean NOT NULL DEFAULT false
)`,
		// A table made before the column: every settled row counts as
		// unconfirmed, and the sweep confirms those whose key is done.
		`ALTER TABLE ` + t + ` ADD COLUMN IF NOT EXISTS confirmed boolean NOT NULL DEFAULT false`,
		// NULLs are distinct: an expectation by ref only has no id, and
		// a pending one no payment.
		`CREATE UNIQUE INDEX IF NOT EXISTS ` + e.index("id") + ` ON ` + t + ` (provider, id)`,
		`CREATE UNIQUE INDEX IF NOT EXISTS ` + e.index("ref") + ` ON ` + t + ` (provider, ref)`,
		`CREATE UNIQUE INDEX IF NOT EXISTS ` + e.index("payment") + ` ON ` + t + ` (provider, payment_id)`,
		`CREATE INDEX IF NOT EXISTS ` + e.index("due") + ` ON ` + t + ` (provider, next_poll, seq) WHERE ` + pending + ` AND id IS NOT NULL`,
		`CREATE INDEX IF NOT EXISTS ` + e.index("due_all") + ` ON ` + t + ` (next_poll, seq) WHERE ` + pending + ` AND id IS NOT NULL`,
		`CREATE INDEX IF NOT EXISTS ` + e.index("state_provider") + ` ON ` + t + ` (state, provider, deadline, seq)`,
		`CREATE INDEX IF NOT EXISTS ` + e.index("state") + ` ON ` + t + ` (state, deadline, seq)`,
		`CREATE INDEX IF NOT EXISTS ` + e.index("provider") + ` ON ` + t + ` (provider, deadline, seq)`,
		`CREATE INDEX IF NOT EXISTS ` + e.index("deadline") + ` ON ` + t + ` (deadline, seq)`,
		`CREATE INDEX IF NOT EXISTS ` + e.index("unconfirmed") + ` ON ` + t + ` (provider, settled_at, seq) WHERE ` + unconfirmed,
		`CREATE INDEX IF NOT EXISTS ` + e.index("unconfirmed_all") + ` ON ` + t + ` (settled_at, seq) WHERE ` + unconfirmed,
	}
}

// prefixed returns the comma-separated columns cols, each after p.
func prefixed(p, cols string) string {
	return p + strings.ReplaceAll(cols, ", ", ", "+p)
}

// Migrate creates the table and its indexes if they do not exist. Call it
// once at startup, or put the statements of the type's documentation in
// your own migrations. Concurrent calls from many replicas are serialized
// with an advisory lock.
func (e *Expectations) Migrate(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		for _, q := range e.migrateSQL {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: migrate expectations: %w", err)
	}
	return nil
}

// Add implements [expect.Store].
func (e *Expectations) Add(ctx context.Context, x expect.Expectation) error {
	if err := x.Validate(); err != nil {
		return err
	}
	ctx, cancel, err := expectstore.Begin(ctx, e.timeout)
	defer cancel()
	if err != nil {
		return fmt.Errorf("pgstore: add expectation: %w", err)
	}
	if x.CreatedAt.IsZero() {
		x.CreatedAt = e.now()
	}
	var tag pgconn.CommandTag
	err = retry(func() (err error) {
		tag, err = e.pool.Exec(ctx, e.addSQL, x.Provider, expectstore.Null(x.ID), expectstore.Null(x.Ref), x.Amount, x.Currency,
			at(x.Deadline), at(x.CreatedAt), at(x.NextPoll))
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("pgstore: add expectation: %w", err)
	case tag.RowsAffected() == 0:
		return expect.ErrExists
	}
	return nil
}

// Get implements [expect.Store].
func (e *Expectations) Get(ctx context.Context, k expect.Key) (expect.Expectation, error) {
	ctx, cancel, err := expectstore.Begin(ctx, e.timeout)
	defer cancel()
	if err != nil {
		return expect.Expectation{}, fmt.Errorf("pgstore: get expectation: %w", err)
	}
	i, v, ok := expectstore.By(k)
	if !ok {
		return expect.Expectation{}, expect.ErrNotFound
	}
	x, err := scanExpectation(e.pool.QueryRow(ctx, e.getSQL[i], k.Provider, v))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return expect.Expectation{}, expect.ErrNotFound
	case err != nil:
		return expect.Expectation{}, fmt.Errorf("pgstore: get expectation: %w", err)
	}
	return x, nil
}

// querier is a *pgxpool.Pool or a pgx.Tx.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Settle implements [expect.Store]: one statement when it settles.
func (e *Expectations) Settle(ctx context.Context, k expect.Key, s expect.Settlement) (expect.Expectation, error) {
	if err := expect.ValidSettlement(s); err != nil {
		return expect.Expectation{}, err
	}
	ctx, cancel, err := expectstore.Begin(ctx, e.timeout)
	defer cancel()
	if err != nil {
		return expect.Expectation{}, fmt.Errorf("pgstore: settle expectation: %w", err)
	}
	return e.settle(ctx, e.pool, nil, k, s)
}

// settle settles k with s through q; in tx when tx is not nil, each try
// within a savepoint, since a unique violation (a concurrent Settle by the
// same payment) would otherwise abort the caller's transaction.
func (e *Expectations) settle(ctx context.Context, q querier, tx pgx.Tx, k expect.Key, s expect.Settlement) (expect.Expectation, error) {
	i, v, ok := expectstore.By(k)
	if !ok {
		return expect.Expectation{}, expect.ErrNotFound
	}
	return expectstore.Settle("pgstore", maxTries, s,
		func() (expect.Expectation, bool, error) {
			x, err := e.trySettle(ctx, q, tx, e.settleSQL[i], k.Provider, v, s.PaymentID, s.Outcome, at(s.At))
			if uniqueViolation(err) || serializationFailure(err) {
				err = pgx.ErrNoRows // refused, or changed meanwhile: why says which
			}
			return x, err == nil, noRows(err, "settle expectation")
		},
		func() (x expect.Expectation, taken, found bool, err error) {
			x, err = scanExpectation(q.QueryRow(ctx, e.whySQL[i], k.Provider, v, s.PaymentID), &taken)
			return x, taken, err == nil, noRows(err, "settle expectation")
		})
}

// noRows is err, but nil for pgx.ErrNoRows, prefixed with the package and
// op otherwise.
func noRows(err error, op string) error {
	if err == nil || errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

func (e *Expectations) trySettle(ctx context.Context, q querier, tx pgx.Tx, sql string, args ...any) (expect.Expectation, error) {
	if tx == nil {
		return scanExpectation(q.QueryRow(ctx, sql, args...))
	}
	var x expect.Expectation
	err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) (err error) {
		x, err = scanExpectation(sp.QueryRow(ctx, sql, args...))
		return err
	})
	return x, err
}

// uniqueViolation reports whether err is PostgreSQL's unique_violation
// (SQLSTATE 23505): here, a payment id that a concurrent Settle gave
// another expectation.
func uniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// SettleTx is [Expectations.Settle] run in tx, a transaction of the
// caller's on the store's database: the expectation is settled if and
// only if tx commits, with whatever else tx writes. It returns
// [ErrOtherDatabase], having run nothing, when tx's connection is not to
// the store's database, and Settle's errors otherwise; after one of
// expect's errors, tx is still usable (the attempt ran in a savepoint).
func (e *Expectations) SettleTx(ctx context.Context, tx pgx.Tx, k expect.Key, s expect.Settlement) (expect.Expectation, error) {
	if err := expect.ValidSettlement(s); err != nil {
		return expect.Expectation{}, err
	}
	if !sameDatabase(tx.Conn().Config(), e.pool.Config().ConnConfig) {
		return expect.Expectation{}, ErrOtherDatabase
	}
	ctx, cancel, err := expectstore.Begin(ctx, e.timeout)
	defer cancel()
	if err != nil {
		return expect.Expectation{}, fmt.Errorf("pgstore: settle expectation: %w", err)
	}
	return e.settle(ctx, tx, tx, k, s)
}

// change runs one of the statements that change the expectation k finds,
// with args after the key's two; when it changes nothing, it returns
// expect.ErrState if k finds an expectation, expect.ErrNotFound if not.
func (e *Expectations) change(ctx context.Context, op string, stmts [2]string, k expect.Key, args ...any) error {
	ctx, cancel, err := expectstore.Begin(ctx, e.timeout)
	defer cancel()
	if err != nil {
		return fmt.Errorf("pgstore: %s expectation: %w", op, err)
	}
	i, v, ok := expectstore.By(k)
	if !ok {
		return expect.ErrNotFound
	}
	var tag pgconn.CommandTag
	err = retry(func() (err error) {
		tag, err = e.pool.Exec(ctx, stmts[i], append([]any{k.Provider, v}, args...)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: %s expectation: %w", op, err)
	}
	return expectstore.Changed(tag.RowsAffected(), func() (bool, error) {
		var found bool
		err := e.pool.QueryRow(ctx, e.existsSQL[i], k.Provider, v).Scan(&found)
		return err == nil, noRows(err, op+" expectation")
	})
}

// Reopen implements [expect.Store].
func (e *Expectations) Reopen(ctx context.Context, k expect.Key, paymentID string) error {
	return e.change(ctx, "reopen", e.reopenSQL, k, paymentID, at(time.Time{}))
}

// Confirm implements [expect.Store].
func (e *Expectations) Confirm(ctx context.Context, k expect.Key, paymentID string) error {
	return e.change(ctx, "confirm", e.confirmSQL, k, paymentID)
}

// Unconfirmed implements [expect.Store], in one statement that reads the
// partial index of the settled, unconfirmed expectations by settlement.
func (e *Expectations) Unconfirmed(ctx context.Context, providers []string, before time.Time, limit int) ([]expect.Expectation, error) {
	if limit <= 0 {
		return nil, ctx.Err()
	}
	q, args := e.unconfirmedSQL[0], []any{at(before), limit}
	if len(providers) > 0 {
		q, args = e.unconfirmedSQL[1], append(args, expectstore.Distinct(providers))
	}
	return e.query(ctx, "list unconfirmed expectations", q, args...)
}

// Cancel implements [expect.Store].
func (e *Expectations) Cancel(ctx context.Context, k expect.Key) error {
	return e.change(ctx, "cancel", e.cancelSQL, k)
}

// Reschedule implements [expect.Store].
func (e *Expectations) Reschedule(ctx context.Context, k expect.Key, next time.Time) error {
	return e.change(ctx, "reschedule", e.rescheduleSQL, k, at(next))
}

// Due implements [expect.Store], in one statement that skips the rows
// another replica's Due holds at that moment.
func (e *Expectations) Due(ctx context.Context, providers []string, now time.Time, lease time.Duration, limit int) ([]expect.Expectation, error) {
	if limit <= 0 {
		return nil, ctx.Err()
	}
	q, args := e.dueSQL[0], []any{at(now), limit, at(now.Add(lease))}
	if len(providers) > 0 {
		q, args = e.dueSQL[1], append(args, expectstore.Distinct(providers))
	}
	return e.query(ctx, "take due expectations", q, args...)
}

// MarkOverdue implements [expect.Store], in one statement.
func (e *Expectations) MarkOverdue(ctx context.Context, providers []string, now time.Time, limit int) ([]expect.Expectation, error) {
	if limit <= 0 {
		return nil, ctx.Err()
	}
	q, args := e.overdueSQL[0], []any{at(now), limit}
	if len(providers) > 0 {
		q, args = e.overdueSQL[1], append(args, expectstore.Distinct(providers))
	}
	xs, err := e.query(ctx, "mark expectations overdue", q, args...)
	slices.SortFunc(xs, func(a, b expect.Expectation) int { return a.Deadline.Compare(b.Deadline) })
	return xs, err
}

// Forget implements [expect.Store], in one statement that reads the
// index of the settled and cancelled expectations by deadline.
func (e *Expectations) Forget(ctx context.Context, providers []string, before time.Time, limit int) (int, error) {
	ctx, cancel, err := expectstore.Begin(ctx, e.timeout)
	defer cancel()
	if err != nil || limit <= 0 {
		return 0, err
	}
	q, args := e.forgetSQL[0], []any{at(before), limit}
	if len(providers) > 0 {
		q, args = e.forgetSQL[1], append(args, expectstore.Distinct(providers))
	}
	var tag pgconn.CommandTag
	err = retry(func() (err error) {
		tag, err = e.pool.Exec(ctx, q, args...)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: forget expectations: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// List implements [expect.Store].
func (e *Expectations) List(ctx context.Context, f expect.Filter) ([]expect.Expectation, error) {
	i, args := 0, []any{expectstore.ListLimit(f)}
	if f.Provider != "" {
		i, args = i|1, append(args, f.Provider)
	}
	if f.State != 0 {
		i, args = i|2, append(args, int16(f.State))
	}
	return e.query(ctx, "list expectations", e.listSQL[i], args...)
}

// query runs q and returns the expectations of its rows.
func (e *Expectations) query(ctx context.Context, op, q string, args ...any) ([]expect.Expectation, error) {
	ctx, cancel, err := expectstore.Begin(ctx, e.timeout)
	defer cancel()
	if err != nil {
		return nil, fmt.Errorf("pgstore: %s: %w", op, err)
	}
	var xs []expect.Expectation
	err = retry(func() error {
		rows, err := e.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		xs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (expect.Expectation, error) { return scanExpectation(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: %s: %w", op, err)
	}
	return xs, nil
}

// maxTries bounds the tries of a statement that fails to serialize.
const maxTries = 10

// retry runs f, a statement in a transaction of its own, again while it
// fails to serialize with a concurrent one (SQLSTATE 40001): with
// default_transaction_isolation repeatable read or serializable, rows that
// another replica's statement changed meanwhile fail the statement, which
// then changed nothing. Under read committed, PostgreSQL's default, it
// never does.
func retry(f func() error) error {
	var err error
	for range maxTries {
		if err = f(); !serializationFailure(err) {
			return err
		}
	}
	return err
}

// scanExpectation reads the columns expectstore.Cols, then more.
func scanExpectation(r pgx.Row, more ...any) (expect.Expectation, error) {
	var row expectstore.Row[time.Time]
	if err := r.Scan(row.Dest(more...)...); err != nil {
		return expect.Expectation{}, err
	}
	return row.Expectation(utc), nil
}

// at is t to the microsecond, PostgreSQL's resolution, truncated (as
// SQLite's store does) rather than rounded.
func at(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// utc is t in UTC, the zero time kept zero.
func utc(t time.Time) time.Time {
	if t.Equal(time.Time{}) {
		return time.Time{}
	}
	return t.UTC()
}

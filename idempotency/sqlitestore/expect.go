package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/internal/expectstore"
)

// DefaultExpectationsTable is the table of [Expectations] unless
// [WithExpectationsTable] says otherwise.
const DefaultExpectationsTable = "payhook_expectations"

// Expectations is an [expect.Store] in a SQLite table, on the same file as
// the idempotency [Store] (and the SQLite inbox) if you like: a payment
// expected before a restart, a crash or a SIGKILL is still expected after
// it. Make one with [NewExpectations] and create its table with
// [Expectations.Migrate]; the zero value is not usable. It is safe for
// concurrent use by many goroutines, and by many processes of one machine
// sharing the file.
//
// Every method is one statement, atomic under SQLite's one writer; one
// that changes nothing (a refused Settle, Cancel, ...) reads why in a
// second. The
// table ([WithExpectationsTable], default DefaultExpectationsTable) has one
// row per expectation; unique indexes make each ID, each Ref and each
// settling payment id name at most one expectation of a provider, and
// indexes on the due time, the deadline, the state and the provider serve
// Due, MarkOverdue and List without a scan of the table:
//
//	CREATE TABLE payhook_expectations (
//		seq        INTEGER PRIMARY KEY,  -- the order of Add, breaking ties
//		provider   TEXT NOT NULL,
//		id         TEXT,                 -- NULL when expected by reference only
//		ref        TEXT,                 -- NULL when expected by id only
//		amount     TEXT NOT NULL,        -- exact decimal text
//		currency   TEXT NOT NULL,
//		deadline   INTEGER NOT NULL,     -- Unix microseconds, as every time here
//		state      INTEGER NOT NULL,     -- 1 pending, 2 settled, 3 overdue, 4 cancelled
//		created_at INTEGER NOT NULL,
//		payment_id TEXT,                 -- the payment that settled it
//		outcome    TEXT NOT NULL DEFAULT '',
//		settled_at INTEGER,
//		next_poll  INTEGER NOT NULL,
//		attempts   INTEGER NOT NULL DEFAULT 0,
//		confirmed  INTEGER NOT NULL DEFAULT 0 -- 1 once Confirm: its payment was processed
//	);
//
// Times are kept to the microsecond. [Expectations.SettleTx] settles an
// expectation in a transaction of yours.
type Expectations struct {
	db      *sql.DB
	now     func() time.Time
	timeout time.Duration
	table   string // quoted
	name    string // unquoted, for the indexes

	addSQL                           string
	getSQL, settleSQL, whySQL        [2]string // [0] by id, [1] by ref
	reopenSQL, cancelSQL, reschedSQL [2]string
	confirmSQL                       [2]string
	existsSQL                        [2]string

	fileMu sync.Mutex
	path   string
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
// digits and underscores. Default: DefaultExpectationsTable.
func WithExpectationsTable(name string) ExpectationsOption {
	return func(c *expectConfig) {
		if !identifier.MatchString(name) {
			c.Refused.Add("WithExpectationsTable(%q): want an identifier of at most 63 letters, digits and underscores", name)
			return
		}
		c.table = name
	}
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

// NewExpectations returns an Expectations store in a table of db, a
// database of the "sqlite" driver, best opened with [OpenDB] (and shared
// with [New]'s store). The table must exist: create it with
// [Expectations.Migrate]. The caller owns db and closes it.
// NewExpectations fails with an error wrapping payhook.ErrConfig if db is
// nil or an option is given a value it cannot use.
func NewExpectations(db *sql.DB, opts ...ExpectationsOption) (*Expectations, error) {
	if db == nil {
		return nil, configError("nil db")
	}
	c := expectConfig{Config: expectstore.Config{Timeout: DefaultTimeout, Now: time.Now}, table: DefaultExpectationsTable}
	expectstore.Apply(&c, opts)
	if err := c.Refused.Err("sqlitestore", payhook.ErrConfig); err != nil {
		return nil, err
	}
	t := `"` + c.table + `"`
	e := &Expectations{db: db, now: c.Now, timeout: c.Timeout, table: t, name: c.table}
	keys := [2]string{`provider = ?1 AND id = ?2`, `provider = ?1 AND ref = ?2`}
	for i, k := range keys {
		e.getSQL[i] = `SELECT ` + expectstore.Cols + ` FROM ` + t + ` WHERE ` + k
		// OR IGNORE: a payment id that settled another expectation of the
		// provider (the unique index) changes nothing, and whySQL says so.
		e.settleSQL[i] = fmt.Sprintf(`UPDATE OR IGNORE %s SET state = %d, payment_id = ?3, outcome = ?4, settled_at = ?5, confirmed = 0
	WHERE %s AND state IN (%d, %d) AND (id IS NULL OR id = ?3) RETURNING `+expectstore.Cols, t, expectstore.Settled, k, expectstore.Pending, expectstore.Overdue)
		e.whySQL[i] = `SELECT ` + expectstore.Cols + `, EXISTS (SELECT 1 FROM ` + t + ` WHERE provider = ?1 AND payment_id = ?3) FROM ` + t + ` WHERE ` + k
		e.reopenSQL[i] = fmt.Sprintf(`UPDATE %s SET state = %d, payment_id = NULL, outcome = '', settled_at = NULL, next_poll = ?4
	WHERE %s AND state = %d AND payment_id = ?3`, t, expectstore.Pending, k, expectstore.Settled)
		e.cancelSQL[i] = fmt.Sprintf(`UPDATE %s SET state = %d WHERE %s AND state IN (%d, %d, %d)`, t, expectstore.Cancelled, k, expectstore.Pending, expectstore.Overdue, expectstore.Cancelled)
		e.reschedSQL[i] = fmt.Sprintf(`UPDATE %s SET next_poll = ?3 WHERE %s AND state = %d`, t, k, expectstore.Pending)
		e.confirmSQL[i] = fmt.Sprintf(`UPDATE %s SET confirmed = 1 WHERE %s AND state = %d AND payment_id = ?3`, t, k, expectstore.Settled)
		e.existsSQL[i] = `SELECT 1 FROM ` + t + ` WHERE ` + k
	}
	e.addSQL = `INSERT INTO ` + t + ` (provider, id, ref, amount, currency, deadline, state, created_at, next_poll)
	VALUES (?, ?, ?, ?, ?, ?, ` + fmt.Sprint(expectstore.Pending) + `, ?, ?) ON CONFLICT DO NOTHING`
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	e.readFile(ctx)
	return e, nil
}

// Migrate creates the table and its indexes if they do not exist. Call it
// once at startup.
func (e *Expectations) Migrate(ctx context.Context) error {
	t, n := e.table, e.name
	idx := func(suffix string) string { return `"` + n + "_" + suffix + `"` }
	pending := fmt.Sprintf(`state = %d`, expectstore.Pending)
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
	seq        INTEGER PRIMARY KEY,
	provider   TEXT NOT NULL,
	id         TEXT,
	ref        TEXT,
	amount     TEXT NOT NULL,
	currency   TEXT NOT NULL,
	deadline   INTEGER NOT NULL,
	state      INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	payment_id TEXT,
	outcome    TEXT NOT NULL DEFAULT '',
	settled_at INTEGER,
	next_poll  INTEGER NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	confirmed  INTEGER NOT NULL DEFAULT 0
)`,
		`CREATE UNIQUE INDEX IF NOT EXISTS ` + idx("id") + ` ON ` + t + ` (provider, id) WHERE id IS NOT NULL`,
		`CREATE UNIQUE INDEX IF NOT EXISTS ` + idx("ref") + ` ON ` + t + ` (provider, ref) WHERE ref IS NOT NULL`,
		`CREATE UNIQUE INDEX IF NOT EXISTS ` + idx("payment") + ` ON ` + t + ` (provider, payment_id) WHERE payment_id IS NOT NULL`,
		`CREATE INDEX IF NOT EXISTS ` + idx("due") + ` ON ` + t + ` (provider, next_poll) WHERE ` + pending + ` AND id IS NOT NULL`,
		`CREATE INDEX IF NOT EXISTS ` + idx("due_all") + ` ON ` + t + ` (next_poll) WHERE ` + pending + ` AND id IS NOT NULL`,
		`CREATE INDEX IF NOT EXISTS ` + idx("state_provider") + ` ON ` + t + ` (state, provider, deadline)`,
		`CREATE INDEX IF NOT EXISTS ` + idx("state") + ` ON ` + t + ` (state, deadline)`,
		`CREATE INDEX IF NOT EXISTS ` + idx("provider") + ` ON ` + t + ` (provider, deadline)`,
		`CREATE INDEX IF NOT EXISTS ` + idx("deadline") + ` ON ` + t + ` (deadline)`,
	} {
		if _, err := e.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("sqlitestore: migrate expectations: %w", err)
		}
	}
	// A table made before the column: every settled row counts as
	// unconfirmed, and the sweep confirms those whose key is done.
	if _, err := e.db.ExecContext(ctx, `ALTER TABLE `+t+` ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 0`); err != nil &&
		!strings.Contains(err.Error(), "duplicate column") {
		return fmt.Errorf("sqlitestore: migrate expectations: %w", err)
	}
	unconfirmed := fmt.Sprintf(`state = %d AND confirmed = 0`, expectstore.Settled)
	for _, q := range []string{
		`CREATE INDEX IF NOT EXISTS ` + idx("unconfirmed") + ` ON ` + t + ` (provider, settled_at) WHERE ` + unconfirmed,
		`CREATE INDEX IF NOT EXISTS ` + idx("unconfirmed_all") + ` ON ` + t + ` (settled_at) WHERE ` + unconfirmed,
	} {
		if _, err := e.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("sqlitestore: migrate expectations: %w", err)
		}
	}
	if err := e.readFile(ctx); err != nil {
		return fmt.Errorf("sqlitestore: migrate expectations: %w", err)
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
		return fmt.Errorf("sqlitestore: add expectation: %w", err)
	}
	if x.CreatedAt.IsZero() {
		x.CreatedAt = e.now()
	}
	res, err := e.db.ExecContext(ctx, e.addSQL, x.Provider, expectstore.Null(x.ID), expectstore.Null(x.Ref), x.Amount, x.Currency,
		micros(x.Deadline), micros(x.CreatedAt), micros(x.NextPoll))
	if err != nil {
		return fmt.Errorf("sqlitestore: add expectation: %w", err)
	}
	switch n, err := res.RowsAffected(); {
	case err != nil:
		return fmt.Errorf("sqlitestore: add expectation: %w", err)
	case n == 0:
		return expect.ErrExists
	}
	return nil
}

// Get implements [expect.Store].
func (e *Expectations) Get(ctx context.Context, k expect.Key) (expect.Expectation, error) {
	ctx, cancel, err := expectstore.Begin(ctx, e.timeout)
	defer cancel()
	if err != nil {
		return expect.Expectation{}, fmt.Errorf("sqlitestore: get expectation: %w", err)
	}
	i, v, ok := expectstore.By(k)
	if !ok {
		return expect.Expectation{}, expect.ErrNotFound
	}
	x, err := scanExpectation(e.db.QueryRowContext(ctx, e.getSQL[i], k.Provider, v))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return expect.Expectation{}, expect.ErrNotFound
	case err != nil:
		return expect.Expectation{}, fmt.Errorf("sqlitestore: get expectation: %w", err)
	}
	return x, nil
}

// Settle implements [expect.Store]: one statement when it settles.
func (e *Expectations) Settle(ctx context.Context, k expect.Key, s expect.Settlement) (expect.Expectation, error) {
	if err := expect.ValidSettlement(s); err != nil {
		return expect.Expectation{}, err
	}
	ctx, cancel, err := expectstore.Begin(ctx, e.timeout)
	defer cancel()
	if err != nil {
		return expect.Expectation{}, fmt.Errorf("sqlitestore: settle expectation: %w", err)
	}
	return e.settle(ctx, e.db, k, s)
}

// rowQuerier is a *sql.DB or a *sql.Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (e *Expectations) settle(ctx context.Context, q rowQuerier, k expect.Key, s expect.Settlement) (expect.Expectation, error) {
	i, v, ok := expectstore.By(k)
	if !ok {
		return expect.Expectation{}, expect.ErrNotFound
	}
	return expectstore.Settle("sqlitestore", 3, s,
		func() (expect.Expectation, bool, error) {
			x, err := scanExpectation(q.QueryRowContext(ctx, e.settleSQL[i], k.Provider, v, s.PaymentID, s.Outcome, micros(s.At)))
			return x, err == nil, noRows(err, "settle expectation")
		},
		func() (x expect.Expectation, taken, found bool, err error) {
			x, err = scanExpectation(q.QueryRowContext(ctx, e.whySQL[i], k.Provider, v, s.PaymentID), &taken)
			return x, taken, err == nil, noRows(err, "settle expectation")
		})
}

// noRows is err, but nil for sql.ErrNoRows, prefixed with the package and
// op otherwise.
func noRows(err error, op string) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}

// SettleTx is [Expectations.Settle] run in tx, a transaction of the
// caller's on the store's database file: the expectation is settled if and
// only if tx commits, with whatever else tx writes. Begin tx on a
// database opened with [OpenDB] (whose transactions take the write lock at
// BEGIN). It returns [ErrOtherDatabase], having run nothing, when tx's main
// database is not the store's file, and Settle's errors otherwise; after
// one of expect's errors, tx is still usable.
func (e *Expectations) SettleTx(ctx context.Context, tx *sql.Tx, k expect.Key, s expect.Settlement) (expect.Expectation, error) {
	if err := expect.ValidSettlement(s); err != nil {
		return expect.Expectation{}, err
	}
	ctx, cancel, err := expectstore.Begin(ctx, e.timeout)
	defer cancel()
	if err != nil {
		return expect.Expectation{}, fmt.Errorf("sqlitestore: settle expectation: %w", err)
	}
	theirs, err := mainFile(ctx, tx)
	if err != nil {
		return expect.Expectation{}, fmt.Errorf("sqlitestore: settle expectation: %w", err)
	}
	if mine := e.file(); mine == "" || mine != theirs {
		return expect.Expectation{}, ErrOtherDatabase
	}
	return e.settle(ctx, tx, k, s)
}

// change runs one of the statements that change an expectation k finds, a
// statement of k's kind (by id or by ref) with args after the key's two;
// when it changes nothing, it returns expect.ErrState if k finds an
// expectation, expect.ErrNotFound if not.
func (e *Expectations) change(ctx context.Context, op string, stmts [2]string, k expect.Key, args ...any) error {
	ctx, cancel, err := expectstore.Begin(ctx, e.timeout)
	defer cancel()
	if err != nil {
		return fmt.Errorf("sqlitestore: %s expectation: %w", op, err)
	}
	i, v, ok := expectstore.By(k)
	if !ok {
		return expect.ErrNotFound
	}
	res, err := e.db.ExecContext(ctx, stmts[i], append([]any{k.Provider, v}, args...)...)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s expectation: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlitestore: %s expectation: %w", op, err)
	}
	return expectstore.Changed(n, func() (bool, error) {
		var one int
		err := e.db.QueryRowContext(ctx, e.existsSQL[i], k.Provider, v).Scan(&one)
		return err == nil, noRows(err, op+" expectation")
	})
}

// Reopen implements [expect.Store].
func (e *Expectations) Reopen(ctx context.Context, k expect.Key, paymentID string) error {
	if paymentID == "" {
		if _, err := e.Get(ctx, k); err != nil {
			return err
		}
		return expect.ErrState
	}
	return e.change(ctx, "reopen", e.reopenSQL, k, paymentID, micros(time.Time{}))
}

// Confirm implements [expect.Store].
func (e *Expectations) Confirm(ctx context.Context, k expect.Key, paymentID string) error {
	if paymentID == "" {
		if _, err := e.Get(ctx, k); err != nil {
			return err
		}
		return expect.ErrState
	}
	return e.change(ctx, "confirm", e.confirmSQL, k, paymentID)
}

// Unconfirmed implements [expect.Store], in one statement that reads the
// partial index of the settled, unconfirmed expectations by settlement.
func (e *Expectations) Unconfirmed(ctx context.Context, providers []string, before time.Time, limit int) ([]expect.Expectation, error) {
	if limit <= 0 {
		return nil, ctx.Err()
	}
	q, args := e.unconfirmedQuery(providers, before, limit)
	xs, err := e.query(ctx, "list unconfirmed expectations", q, args...)
	// In seq order: the earliest settled first, ties in the order of Add.
	slices.SortStableFunc(xs, func(a, b expect.Expectation) int { return a.SettledAt.Compare(b.SettledAt) })
	return xs, err
}

func (e *Expectations) unconfirmedQuery(providers []string, before time.Time, limit int) (string, []any) {
	cond := fmt.Sprintf(`state = %d AND confirmed = 0 AND settled_at <= ?`, expectstore.Settled)
	pick, args := e.pick(providers, cond, "settled_at", [2]string{"unconfirmed_all", "unconfirmed"}, micros(before), limit)
	return `SELECT ` + expectstore.Cols + ` FROM ` + e.table + ` WHERE seq IN (` + pick + `)`, args
}

// Cancel implements [expect.Store].
func (e *Expectations) Cancel(ctx context.Context, k expect.Key) error {
	return e.change(ctx, "cancel", e.cancelSQL, k)
}

// Reschedule implements [expect.Store].
func (e *Expectations) Reschedule(ctx context.Context, k expect.Key, next time.Time) error {
	return e.change(ctx, "reschedule", e.reschedSQL, k, micros(next))
}

// Due implements [expect.Store], in one statement.
func (e *Expectations) Due(ctx context.Context, providers []string, now time.Time, lease time.Duration, limit int) ([]expect.Expectation, error) {
	if limit <= 0 {
		return nil, ctx.Err()
	}
	q, args := e.dueQuery(providers, now, lease, limit)
	return e.query(ctx, "take due expectations", q, args...)
}

func (e *Expectations) dueQuery(providers []string, now time.Time, lease time.Duration, limit int) (string, []any) {
	cond := fmt.Sprintf(`state = %d AND id IS NOT NULL AND next_poll <= ?`, expectstore.Pending)
	pick, args := e.pick(providers, cond, "next_poll", [2]string{"due_all", "due"}, micros(now), limit)
	q := `UPDATE ` + e.table + ` SET next_poll = ?, attempts = attempts + 1 WHERE seq IN (` + pick + `) RETURNING ` + expectstore.Cols
	return q, append([]any{micros(now.Add(lease))}, args...)
}

// MarkOverdue implements [expect.Store], in one statement.
func (e *Expectations) MarkOverdue(ctx context.Context, providers []string, now time.Time, limit int) ([]expect.Expectation, error) {
	if limit <= 0 {
		return nil, ctx.Err()
	}
	q, args := e.overdueQuery(providers, now, limit)
	xs, err := e.query(ctx, "mark expectations overdue", q, args...)
	slices.SortFunc(xs, func(a, b expect.Expectation) int { return a.Deadline.Compare(b.Deadline) })
	return xs, err
}

func (e *Expectations) overdueQuery(providers []string, now time.Time, limit int) (string, []any) {
	cond := fmt.Sprintf(`state = %d AND deadline <= ?`, expectstore.Pending)
	pick, args := e.pick(providers, cond, "deadline", [2]string{"state", "state_provider"}, micros(now), limit)
	return fmt.Sprintf(`UPDATE %s SET state = %d WHERE seq IN (%s) RETURNING %s`, e.table, expectstore.Overdue, pick, expectstore.Cols), args
}

// pick returns a SELECT of the seq of up to limit rows matching cond (whose
// one parameter is arg), in the order of col, of the given providers:
// one index range per provider, so that no call reads the rows of
// providers it did not ask for. index names the indexes to read, of every
// provider and of one; INDEXED BY holds SQLite to them, since without
// ANALYZE it may prefer another and sort every match.
func (e *Expectations) pick(providers []string, cond, col string, index [2]string, arg any, limit int) (string, []any) {
	order := ` ORDER BY ` + col + `, seq LIMIT ?`
	providers = expectstore.Distinct(providers)
	if len(providers) == 0 {
		return `SELECT seq FROM ` + e.table + ` INDEXED BY "` + e.name + `_` + index[0] + `" WHERE ` + cond + order, []any{arg, limit}
	}
	from := e.table + ` INDEXED BY "` + e.name + `_` + index[1] + `"`
	var b strings.Builder
	args := make([]any, 0, 3*len(providers)+1)
	b.WriteString(`SELECT seq FROM (`)
	for i, p := range providers {
		if i > 0 {
			b.WriteString(` UNION ALL `)
		}
		b.WriteString(`SELECT * FROM (SELECT seq, ` + col + ` FROM ` + from + ` WHERE provider = ? AND ` + cond + order + `)`)
		args = append(args, p, arg, limit)
	}
	b.WriteString(`)` + order)
	return b.String(), append(args, limit)
}

// Forget implements [expect.Store], in one statement that reads the
// index of the settled and cancelled expectations by deadline.
func (e *Expectations) Forget(ctx context.Context, providers []string, before time.Time, limit int) (int, error) {
	ctx, cancel, err := expectstore.Begin(ctx, e.timeout)
	defer cancel()
	if err != nil || limit <= 0 {
		return 0, err
	}
	q, args := e.forgetQuery(providers, before, limit)
	res, err := e.db.ExecContext(ctx, q, args...)
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: forget expectations: %w", err)
	}
	return int(n), nil
}

func (e *Expectations) forgetQuery(providers []string, before time.Time, limit int) (string, []any) {
	index, of, args := "state", "", []any{micros(before), limit}
	if providers = expectstore.Distinct(providers); len(providers) > 0 {
		marks := make([]string, len(providers))
		for i, p := range providers {
			marks[i], args = fmt.Sprintf("?%d", i+3), append(args, p)
		}
		index, of = "state_provider", ` AND provider IN (`+strings.Join(marks, ", ")+`)`
	}
	return fmt.Sprintf(`DELETE FROM %s WHERE seq IN (SELECT seq FROM %s INDEXED BY "%s_%s"
	WHERE state IN (%d, %d)%s AND deadline < ?1 AND (state = %d OR settled_at < ?1) LIMIT ?2)`,
		e.table, e.table, e.name, index, expectstore.Settled, expectstore.Cancelled, of, expectstore.Cancelled), args
}

// List implements [expect.Store].
func (e *Expectations) List(ctx context.Context, f expect.Filter) ([]expect.Expectation, error) {
	q, args := e.listQuery(f)
	return e.query(ctx, "list expectations", q, args...)
}

func (e *Expectations) listQuery(f expect.Filter) (string, []any) {
	limit := expectstore.ListLimit(f)
	var (
		where []string
		args  []any
	)
	if f.Provider != "" {
		where, args = append(where, `provider = ?`), append(args, f.Provider)
	}
	if f.State != 0 {
		where, args = append(where, `state = ?`), append(args, int(f.State))
	}
	q := `SELECT ` + expectstore.Cols + ` FROM ` + e.table
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	return q + ` ORDER BY deadline, seq LIMIT ?`, append(args, limit)
}

// query runs q and returns the expectations of its rows.
func (e *Expectations) query(ctx context.Context, op, q string, args ...any) ([]expect.Expectation, error) {
	ctx, cancel, err := expectstore.Begin(ctx, e.timeout)
	defer cancel()
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	rows, err := e.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	defer rows.Close()
	var xs []expect.Expectation
	for rows.Next() {
		x, err := scanExpectation(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: %s: %w", op, err)
		}
		xs = append(xs, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	return xs, nil
}

// scanExpectation reads the columns expectstore.Cols, then more.
func scanExpectation(s interface{ Scan(...any) error }, more ...any) (expect.Expectation, error) {
	var r expectstore.Row[int64]
	if err := s.Scan(r.Dest(more...)...); err != nil {
		return expect.Expectation{}, err
	}
	return r.Expectation(fromMicros), nil
}

// zeroMicros is the zero time.Time in Unix microseconds.
var zeroMicros = micros(time.Time{})

// fromMicros is micros's inverse, in UTC, with the zero time kept zero.
func fromMicros(us int64) time.Time {
	if us == zeroMicros {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// file returns the path of the store's database file ("" when unknown).
func (e *Expectations) file() string {
	e.fileMu.Lock()
	defer e.fileMu.Unlock()
	return e.path
}

func (e *Expectations) readFile(ctx context.Context) error {
	if e.file() != "" {
		return nil
	}
	p, err := mainFile(ctx, e.db)
	if err == nil {
		e.fileMu.Lock()
		e.path = p
		e.fileMu.Unlock()
	}
	return err
}

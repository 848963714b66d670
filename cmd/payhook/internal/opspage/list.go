package opspage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhook/payhook/inbox"
)

// Query selects the events the page lists.
type Query struct {
	// Provider selects one provider's events; "" every provider's.
	Provider string
	// State selects done, pending (waiting or running) or dead events; 0
	// every state.
	State inbox.State
	// Search narrows the events to those whose key or merchant reference
	// holds it (case-insensitive); "" selects every event. A Lister may
	// return more (a search of the event's text): the page checks each
	// event's key and decoded reference.
	Search string
	// Window bounds a search's work: with Search, only the Window entries
	// before the cursor (from the newest) are read, and when more entries
	// lie beyond them, Latest ends its answer with a [Found] whose ID is
	// "" (the window's end). 0 reads every entry.
	Window int
}

// Lister finds the inbox's entries newest first, which [inbox.Backend]'s
// List (oldest first, no cursor) cannot do without reading every entry.
// [SQLite] and [River] read the backends' tables, [Asynq] asynq's queue;
// [FromInbox] works on any backend by reading its entries through List.
type Lister interface {
	// Latest returns up to limit entries that q selects, put before the
	// entry whose Cursor is cursor ("" from the newest), newest first.
	// Fewer than limit means there are no more.
	Latest(ctx context.Context, q Query, cursor string, limit int) ([]Found, error)
	// Count returns the number of entries in state, up to most (a count
	// that reached most means "most or more").
	Count(ctx context.Context, state inbox.State, most int) (int, error)
}

// Found is an entry that a Lister found.
type Found struct {
	// ID is the entry's ID.
	ID string
	// Cursor names the entry's place, for the page that follows it.
	Cursor string
	// Info is the entry, when the Lister read it with its place; nil
	// when the page must Get it.
	Info *inbox.Info
	// Searched is, at the end of a search's window (ID ""), how many
	// entries the window held; Cursor is then where a search of the
	// older ones starts, or "" when the Lister cannot search on.
	Searched int
}

// windowEnd is the Found that ends a search's window.
func windowEnd(cursor string, searched int) Found { return Found{Cursor: cursor, Searched: searched} }

// likePattern is s as a LIKE pattern matching any text holding it, with
// backslash as the escape.
func likePattern(s string) string {
	if s == "" {
		return ""
	}
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// ErrCursor is returned by a Lister for a cursor it did not make.
var ErrCursor = errors.New("opspage: not a cursor of this list")

// cursorSeq reads a cursor of the SQL listers: the sequence number of the
// last entry of the page before.
func cursorSeq(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil || n <= 0 {
		return 0, ErrCursor
	}
	return n, nil
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// sqliteLister reads sqliteinbox's table (its columns are documented in
// that package): seq is the put order.
type sqliteLister struct {
	db *sql.DB
	t  string // quoted
}

// SQLite returns the Lister of a sqliteinbox.Backend's table in db
// (sqliteinbox.DefaultTable unless the backend was given another). It
// reads the table's seq, id, provider, key, state and event columns, and
// uses its index on state for the pending and dead entries, which are
// few; the others it finds by walking seq down, newest first.
func SQLite(db *sql.DB, table string) (Lister, error) {
	if db == nil || !identifier.MatchString(table) {
		return nil, fmt.Errorf("opspage: SQLite: want a database and a table name (got %q)", table)
	}
	return &sqliteLister{db: db, t: `"` + table + `"`}, nil
}

// sqliteState is the condition on state of a page state: through the
// index on state for the few pending and dead entries; for done ones,
// which are most of the table, "+state" keeps SQLite off that index, so
// that it walks seq down and stops at the limit instead of sorting every
// done entry.
func sqliteState(s inbox.State) string {
	switch s {
	case inbox.Pending:
		return `state IN ('pending', 'running')`
	case inbox.Dead:
		return `state = 'dead'`
	case inbox.Done:
		return `+state = 'done'`
	}
	return ""
}

func (l *sqliteLister) Latest(ctx context.Context, q Query, cursor string, limit int) ([]Found, error) {
	before, err := cursorSeq(cursor)
	if err != nil {
		return nil, err
	}
	var where []string
	var args []any
	if c := sqliteState(q.State); c != "" {
		where = append(where, c)
	}
	if q.Provider != "" {
		where, args = append(where, `provider = ?`), append(args, q.Provider)
	}
	if before > 0 {
		where, args = append(where, `seq < ?`), append(args, before)
	}
	var floor, top int64 // the window's seqs: floor <= seq < top
	if q.Search != "" {
		// Every provider's event holds its key, so the event's text
		// finds keys and references alike; the equality finds a key
		// whose characters JSON escapes.
		where = append(where, `(key = ? OR CAST(event AS TEXT) LIKE ? ESCAPE '\')`)
		args = append(args, q.Search, likePattern(q.Search))
		if q.Window > 0 {
			top = before
			if top == 0 {
				if err := l.db.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) + 1 FROM `+l.t).Scan(&top); err != nil {
					return nil, fmt.Errorf("opspage: list: %w", err)
				}
			}
			floor = max(top-int64(q.Window), 1)
			where, args = append(where, `seq >= ?`), append(args, floor)
		}
	}
	query := `SELECT seq, id FROM ` + l.t
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	rows, err := l.db.QueryContext(ctx, query+` ORDER BY seq DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("opspage: list: %w", err)
	}
	defer rows.Close()
	found, err := scanFound(rows)
	return endWindow(found, err, limit, floor, top)
}

// endWindow ends found, the answer of a SQL Lister, with the window's end
// when the window (floor <= sequence number < top) held fewer than limit
// matches and older entries may lie below it.
func endWindow(found []Found, err error, limit int, floor, top int64) ([]Found, error) {
	if err != nil || len(found) >= limit || floor <= 1 {
		return found, err
	}
	return append(found, windowEnd(strconv.FormatInt(floor, 10), int(top-floor))), nil
}

func (l *sqliteLister) Count(ctx context.Context, state inbox.State, most int) (int, error) {
	var n int
	err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+l.t+` WHERE `+
		strings.TrimPrefix(sqliteState(state), "+")+` LIMIT ?)`, most).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("opspage: count: %w", err)
	}
	return n, nil
}

// rowScanner is what scanFound reads: database/sql's and pgx's rows.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanFound reads rows of (sequence number, ID).
func scanFound(rows rowScanner) ([]Found, error) {
	var out []Found
	for rows.Next() {
		var (
			seq int64
			id  string
		)
		if err := rows.Scan(&seq, &id); err != nil {
			return nil, fmt.Errorf("opspage: list: %w", err)
		}
		out = append(out, Found{ID: id, Cursor: strconv.FormatInt(seq, 10)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("opspage: list: %w", err)
	}
	return out, nil
}

// riverStates are River's job states that a page state covers, as
// riverinbox maps them.
func riverStates(s inbox.State) []string {
	switch s {
	case inbox.Pending:
		return []string{"available", "scheduled", "retryable", "pending", "running"}
	case inbox.Done:
		return []string{"completed"}
	case inbox.Dead:
		return []string{"discarded", "cancelled"}
	}
	return nil
}

// riverLister reads River's job table: one job per entry, its args
// holding the entry's id, provider, key and event.
type riverLister struct {
	pool        *pgxpool.Pool
	kind, queue string
	table       string // quoted
}

// River returns the Lister of a riverinbox.Backend on pool: River's
// tables in schema ("" for the search path; riverinbox.DefaultSchema
// unless the backend was given another), jobs of kind riverinbox.Kind in
// queue (riverinbox.DefaultQueue unless given another). It reads each
// entry with its place, as riverinbox's Get would, in one query.
func River(pool *pgxpool.Pool, schema, kind, queue string) (Lister, error) {
	if pool == nil || (schema != "" && !identifier.MatchString(schema)) || kind == "" || queue == "" {
		return nil, fmt.Errorf("opspage: River: want a pool, a schema, a kind and a queue (got %q, %q, %q)", schema, kind, queue)
	}
	l := &riverLister{pool: pool, kind: kind, queue: queue, table: "river_job"}
	if schema != "" {
		l.table = pgx.Identifier{schema, "river_job"}.Sanitize()
	}
	return l, nil
}

// where returns the conditions of q (and cursor) on River's jobs, and
// their arguments from $1; floor > 0 bounds the ids from below.
func (l *riverLister) where(q Query, before, floor int64) (string, []any) {
	cond := []string{`kind = $1`, `queue = $2`}
	args := []any{l.kind, l.queue}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if states := riverStates(q.State); states != nil {
		// Literals, not a parameter: PostgreSQL then reads the states'
		// statistics and takes River's index on state for the few
		// pending and dead jobs (a text[] cast to the enum is not folded
		// when planning, and the estimate was every row).
		cond = append(cond, `state IN ('`+strings.Join(states, `', '`)+`')`)
	}
	if q.Provider != "" {
		cond = append(cond, `args->>'provider' = `+arg(q.Provider))
	}
	if before > 0 {
		cond = append(cond, `id < `+arg(before))
	}
	if q.Search != "" {
		cond = append(cond, `(args->>'key' = `+arg(q.Search)+` OR args->>'event' ILIKE `+arg(likePattern(q.Search))+`)`)
	}
	if floor > 0 {
		cond = append(cond, `id >= `+arg(floor))
	}
	return strings.Join(cond, " AND "), args
}

func (l *riverLister) Latest(ctx context.Context, q Query, cursor string, limit int) ([]Found, error) {
	before, err := cursorSeq(cursor)
	if err != nil {
		return nil, err
	}
	var floor, top int64 // the window's ids (River's, of every kind and queue): floor <= id < top
	if q.Search != "" && q.Window > 0 {
		top = before
		if top == 0 {
			if err := l.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1 FROM `+l.table).Scan(&top); err != nil {
				return nil, fmt.Errorf("opspage: list: %w", err)
			}
		}
		floor = max(top-int64(q.Window), 1)
	}
	where, args := l.where(q, before, floor)
	rows, err := l.pool.Query(ctx, `SELECT id, args::text, state::text, attempt, max_attempts,
	coalesce(to_json(errors)::text, ''), created_at, attempted_at, finalized_at, scheduled_at
	FROM `+l.table+` WHERE `+where+fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)+1), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("opspage: list: %w", err)
	}
	defer rows.Close()
	var out []Found
	for rows.Next() {
		var (
			j          riverJob
			args, errs string
		)
		if err := rows.Scan(&j.id, &args, &j.state, &j.attempt, &j.maxAttempts, &errs, &j.createdAt, &j.attemptedAt,
			&j.finalizedAt, &j.scheduledAt); err != nil {
			return nil, fmt.Errorf("opspage: list: %w", err)
		}
		info, err := j.info([]byte(args), []byte(errs))
		if err != nil {
			return nil, fmt.Errorf("opspage: list: job %d: %w", j.id, err)
		}
		out = append(out, Found{ID: info.ID, Cursor: strconv.FormatInt(j.id, 10), Info: &info})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("opspage: list: %w", err)
	}
	return endWindow(out, nil, limit, floor, top)
}

// riverJob is a row of River's job table, as riverinbox reads it.
type riverJob struct {
	id                       int64
	state                    string
	attempt, maxAttempts     int
	createdAt, scheduledAt   time.Time
	attemptedAt, finalizedAt *time.Time
}

// info is the entry that j holds, as riverinbox's Get returns it: the
// args are riverinbox's (the event as a JSON string, or its bytes in
// base64), the state mapped as riverinbox maps it, updated at the latest
// of the job's times and errors.
func (j riverJob) info(args, errs []byte) (inbox.Info, error) {
	var a struct {
		ID         string    `json:"id"`
		Provider   string    `json:"provider"`
		Key        string    `json:"key"`
		Event      string    `json:"event"`
		EventBytes []byte    `json:"event_bytes"`
		Confirm    bool      `json:"confirm"`
		Claim      bool      `json:"claim"`
		ReceivedAt time.Time `json:"received_at"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return inbox.Info{}, err
	}
	var attemptErrors []struct {
		At      time.Time `json:"at"`
		Attempt int       `json:"attempt"`
		Error   string    `json:"error"`
	}
	if len(errs) > 0 {
		if err := json.Unmarshal(errs, &attemptErrors); err != nil {
			return inbox.Info{}, err
		}
	}
	info := inbox.Info{
		Entry: inbox.Entry{ID: a.ID, Provider: a.Provider, Key: a.Key, Event: a.EventBytes, Confirm: a.Confirm, Claim: a.Claim,
			MaxAttempts: j.maxAttempts, ReceivedAt: a.ReceivedAt},
		State: riverState(j.state), Attempts: j.attempt, UpdatedAt: j.createdAt,
	}
	if a.Event != "" {
		info.Event = []byte(a.Event)
	}
	later := func(t *time.Time) {
		if t != nil && t.After(info.UpdatedAt) {
			info.UpdatedAt = *t
		}
	}
	later(j.attemptedAt)
	later(j.finalizedAt)
	for _, e := range attemptErrors {
		info.Errors = append(info.Errors, inbox.AttemptError{Attempt: e.Attempt, At: e.At, Error: e.Error})
		later(&e.At)
	}
	if info.State == inbox.Pending {
		info.NextAt = j.scheduledAt.UTC()
	}
	info.UpdatedAt = info.UpdatedAt.UTC() // pgx reads timestamptz in Local; River, in UTC
	return info, nil
}

// riverState maps a River job state as riverinbox does.
func riverState(s string) inbox.State {
	switch s {
	case "running":
		return inbox.Running
	case "completed":
		return inbox.Done
	case "discarded", "cancelled":
		return inbox.Dead
	}
	return inbox.Pending
}

func (l *riverLister) Count(ctx context.Context, state inbox.State, most int) (int, error) {
	var n int
	where, args := l.where(Query{State: state}, 0, 0)
	err := l.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+l.table+` WHERE `+where+
		fmt.Sprintf(` LIMIT $%d) AS page`, len(args)+1), append(args, most)...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("opspage: count: %w", err)
	}
	return n, nil
}

// inboxLister lists through inbox.Inbox.List, which returns entries
// oldest first: it reads up to most entries of the state asked and keeps
// the newest. Right for the memory inbox and asynq's, whose List reads
// every entry anyway.
type inboxLister struct {
	ib   *inbox.Inbox
	most int
}

// FromInbox returns a Lister that reads ib's entries through its List, up
// to most of each state asked (DefaultScan when most is 0): with more
// entries than that in a state, only the oldest most are seen, and the
// page says so.
func FromInbox(ib *inbox.Inbox, most int) Lister {
	if most <= 0 {
		most = DefaultScan
	}
	return &inboxLister{ib: ib, most: most}
}

// DefaultScan is how many entries of a state [FromInbox]'s Lister reads.
const DefaultScan = 10_000

// list returns the entries of state (pending: waiting and running), oldest
// first.
func (l *inboxLister) list(ctx context.Context, provider string, state inbox.State) ([]inbox.Info, error) {
	states := []inbox.State{state}
	if state == inbox.Pending {
		states = append(states, inbox.Running)
	}
	var all []inbox.Info
	for _, s := range states {
		infos, err := l.ib.List(ctx, inbox.Filter{State: s, Provider: provider, Limit: l.most})
		if err != nil {
			return nil, err
		}
		all = append(all, infos...)
	}
	if len(states) > 1 {
		slices.SortStableFunc(all, func(a, b inbox.Info) int { return a.ReceivedAt.Compare(b.ReceivedAt) })
	}
	return all, nil
}

func (l *inboxLister) Latest(ctx context.Context, q Query, cursor string, limit int) ([]Found, error) {
	infos, err := l.list(ctx, q.Provider, q.State)
	if err != nil {
		return nil, err
	}
	end := len(infos) // newest first from end-1: the cursor is the last ID shown
	if cursor != "" {
		end = slices.IndexFunc(infos, func(i inbox.Info) bool { return i.ID == cursor })
		if end < 0 {
			return nil, nil
		}
	}
	search := strings.ToLower(q.Search)
	floor := 0
	if search != "" && q.Window > 0 {
		floor = max(end-q.Window, 0)
	}
	var out []Found
	for i := end - 1; i >= floor && len(out) < limit; i-- {
		if search != "" && !strings.Contains(strings.ToLower(infos[i].Key), search) &&
			!strings.Contains(strings.ToLower(string(infos[i].Event)), search) {
			continue
		}
		out = append(out, Found{ID: infos[i].ID, Cursor: infos[i].ID})
	}
	if len(out) < limit && floor > 0 {
		out = append(out, windowEnd(infos[floor].ID, end-floor))
	}
	return out, nil
}

func (l *inboxLister) Count(ctx context.Context, state inbox.State, most int) (int, error) {
	infos, err := l.list(ctx, "", state)
	return min(len(infos), most), err
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

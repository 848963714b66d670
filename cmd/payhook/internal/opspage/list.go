package opspage

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

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
}

// Lister finds the inbox's entries newest first, which [inbox.Backend]'s
// List (oldest first, no cursor) cannot do without reading every entry.
// [SQLite] and [River] read the backends' tables; [FromInbox] works on any
// backend by reading its entries through List.
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
}

// likePattern is s as a LIKE pattern matching any text holding it, with
// backslash as the escape.
func likePattern(s string) string {
	if s == "" {
		return ""
	}
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// cursorSeq reads a cursor of the SQL listers: the sequence number of the
// last entry of the page before.
func cursorSeq(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("opspage: bad cursor %q", cursor)
	}
	return n, nil
}

// stateWords are the states of the SQLite table that a page state covers.
func stateWords(s inbox.State) []string {
	switch s {
	case inbox.Pending:
		return []string{"pending", "running"}
	case 0:
		return nil
	}
	return []string{s.String()}
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// sqliteLister reads sqliteinbox's table (its columns are documented in
// that package): seq is the put order.
type sqliteLister struct {
	db                  *sql.DB
	latestSQL, countSQL string
}

// SQLite returns the Lister of a sqliteinbox.Backend's table in db
// (sqliteinbox.DefaultTable unless the backend was given another). It
// reads the table's seq, id, provider, key, state and event columns.
func SQLite(db *sql.DB, table string) (Lister, error) {
	if db == nil || !identifier.MatchString(table) {
		return nil, fmt.Errorf("opspage: SQLite: want a database and a table name (got %q)", table)
	}
	t := `"` + table + `"`
	return &sqliteLister{
		db: db,
		latestSQL: `SELECT seq, id FROM ` + t + ` WHERE (:s1 = '' OR state IN (:s1, :s2))
	AND (:provider = '' OR provider = :provider) AND (:before = 0 OR seq < :before)
	AND (:like = '' OR key LIKE :like ESCAPE '\' OR CAST(event AS TEXT) LIKE :like ESCAPE '\')
	ORDER BY seq DESC LIMIT :limit`,
		countSQL: `SELECT count(*) FROM (SELECT 1 FROM ` + t + ` WHERE state IN (:s1, :s2) LIMIT :most)`,
	}, nil
}

func (l *sqliteLister) Latest(ctx context.Context, q Query, cursor string, limit int) ([]Found, error) {
	before, err := cursorSeq(cursor)
	if err != nil {
		return nil, err
	}
	states := append(stateWords(q.State), "", "")
	rows, err := l.db.QueryContext(ctx, l.latestSQL, sql.Named("s1", states[0]), sql.Named("s2", or(states[1], states[0])),
		sql.Named("provider", q.Provider), sql.Named("before", before), sql.Named("like", likePattern(q.Search)),
		sql.Named("limit", limit))
	if err != nil {
		return nil, fmt.Errorf("opspage: list: %w", err)
	}
	return scanFound(rows)
}

func (l *sqliteLister) Count(ctx context.Context, state inbox.State, most int) (int, error) {
	states := append(stateWords(state), "")
	var n int
	err := l.db.QueryRowContext(ctx, l.countSQL, sql.Named("s1", states[0]), sql.Named("s2", or(states[1], states[0])),
		sql.Named("most", most)).Scan(&n)
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
	pool                *pgxpool.Pool
	kind, queue         string
	latestSQL, countSQL string
}

// River returns the Lister of a riverinbox.Backend on pool: River's
// tables in schema ("" for the search path; riverinbox.DefaultSchema
// unless the backend was given another), jobs of kind riverinbox.Kind in
// queue (riverinbox.DefaultQueue unless given another).
func River(pool *pgxpool.Pool, schema, kind, queue string) (Lister, error) {
	if pool == nil || (schema != "" && !identifier.MatchString(schema)) || kind == "" || queue == "" {
		return nil, fmt.Errorf("opspage: River: want a pool, a schema, a kind and a queue (got %q, %q, %q)", schema, kind, queue)
	}
	t := "river_job"
	if schema != "" {
		t = pgx.Identifier{schema, "river_job"}.Sanitize()
	}
	return &riverLister{
		pool: pool, kind: kind, queue: queue,
		latestSQL: `SELECT id, args->>'id' FROM ` + t + ` WHERE kind = $1 AND queue = $2
	AND (cardinality($3::text[]) = 0 OR state::text = ANY($3::text[]))
	AND ($4 = '' OR args->>'provider' = $4) AND ($5 = 0 OR id < $5)
	AND ($6 = '' OR args->>'key' ILIKE $6 OR args->>'event' ILIKE $6)
	ORDER BY id DESC LIMIT $7`,
		countSQL: `SELECT count(*) FROM (SELECT 1 FROM ` + t + ` WHERE kind = $1 AND queue = $2
	AND state::text = ANY($3::text[]) LIMIT $4) AS page`,
	}, nil
}

func (l *riverLister) Latest(ctx context.Context, q Query, cursor string, limit int) ([]Found, error) {
	before, err := cursorSeq(cursor)
	if err != nil {
		return nil, err
	}
	states := riverStates(q.State)
	if states == nil {
		states = []string{}
	}
	rows, err := l.pool.Query(ctx, l.latestSQL, l.kind, l.queue, states, q.Provider, before, likePattern(q.Search), limit)
	if err != nil {
		return nil, fmt.Errorf("opspage: list: %w", err)
	}
	return scanFound(rows)
}

func (l *riverLister) Count(ctx context.Context, state inbox.State, most int) (int, error) {
	var n int
	if err := l.pool.QueryRow(ctx, l.countSQL, l.kind, l.queue, riverStates(state), most).Scan(&n); err != nil {
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
	var out []Found
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		if search != "" && !strings.Contains(strings.ToLower(infos[i].Key), search) &&
			!strings.Contains(strings.ToLower(string(infos[i].Event)), search) {
			continue
		}
		out = append(out, Found{ID: infos[i].ID, Cursor: infos[i].ID})
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

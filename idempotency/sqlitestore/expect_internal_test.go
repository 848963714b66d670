package sqlitestore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/expect"
)

// TestExpectationsUseIndexes: on 100,000 expectations (10,000 under the
// race detector, which slows SQLite tenfold; the plans are the same), no
// statement of the store reads the table from end to end, nor sorts more
// than it returns (per provider asked for).
func TestExpectationsUseIndexes(t *testing.T) {
	ctx := context.Background()
	db, err := OpenDB(filepath.Join(t.TempDir(), "payhook.db"))
	require.NoError(t, err)
	defer db.Close()
	e, err := NewExpectations(db)
	require.NoError(t, err)
	require.NoError(t, e.Migrate(ctx))
	rows := 100000
	if raceEnabled {
		rows = 10000
	}
	_, err = db.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO payhook_expectations (provider, id, ref, amount, currency, deadline, state, created_at, next_poll, payment_id, settled_at)
SELECT 'p' || (i % 3), 'tx_' || i, 'ref_' || i, '10', 'USD', i, 1 + i % 4, 0, i, CASE WHEN i % 4 = 1 THEN 'pay_' || i END,
	CASE WHEN i % 4 = 1 THEN i END FROM n`, rows)
	require.NoError(t, err) // and no ANALYZE, as in a new application

	now := time.UnixMicro(50000)
	type stmt struct {
		name string
		q    string
		args []any
	}
	stmts := []stmt{
		{"add", e.addSQL, []any{"p1", "tx_new", "ref_new", "1", "USD", 1, 1, 1}},
	}
	for i, by := range []string{"id", "ref"} {
		stmts = append(stmts,
			stmt{"get by " + by, e.getSQL[i], []any{"p1", "tx_7"}},
			stmt{"settle by " + by, e.settleSQL[i], []any{"p1", "tx_7", "pay_x", "paid", 1}},
			stmt{"why not settled by " + by, e.whySQL[i], []any{"p1", "tx_7", "pay_x"}},
			stmt{"reopen by " + by, e.reopenSQL[i], []any{"p1", "tx_7", "pay_x", 0}},
			stmt{"cancel by " + by, e.cancelSQL[i], []any{"p1", "tx_7"}},
			stmt{"reschedule by " + by, e.reschedSQL[i], []any{"p1", "tx_7", 0}},
			stmt{"confirm by " + by, e.confirmSQL[i], []any{"p1", "tx_7", "pay_x"}},
		)
	}
	for _, ps := range [][]string{nil, {"p1"}, {"p1", "p2"}} {
		q, args := e.dueQuery(ps, now, time.Minute, 100)
		stmts = append(stmts, stmt{"due " + strings.Join(ps, ","), q, args})
		q, args = e.overdueQuery(ps, now, 100)
		stmts = append(stmts, stmt{"overdue " + strings.Join(ps, ","), q, args})
		q, args = e.forgetQuery(ps, now, 100)
		stmts = append(stmts, stmt{"forget " + strings.Join(ps, ","), q, args})
		q, args = e.unconfirmedQuery(ps, now, 100)
		stmts = append(stmts, stmt{"unconfirmed " + strings.Join(ps, ","), q, args})
	}
	for _, f := range []expect.Filter{{}, {Provider: "p1"}, {State: expect.Overdue}, {Provider: "p1", State: expect.Settled}} {
		q, args := e.listQuery(f)
		stmts = append(stmts, stmt{"list " + f.Provider + " " + f.State.String(), q, args})
	}
	for _, s := range stmts {
		t.Run(s.name, func(t *testing.T) {
			rows, err := db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+s.q, s.args...)
			require.NoError(t, err)
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
				plan = append(plan, detail)
			}
			require.NoError(t, rows.Err())
			for _, line := range plan {
				assert.NotRegexp(t, `^SCAN payhook_expectations$`, line, "a scan of the table:\n%s", strings.Join(plan, "\n"))
				if strings.Contains(line, "TEMP B-TREE") {
					// Only to merge the providers' runs, each bounded by the limit.
					assert.Contains(t, plan, "COMPOUND QUERY", "a sort of every match:\n%s", strings.Join(plan, "\n"))
				}
			}
			t.Logf("%s", strings.Join(plan, " | "))
		})
	}
}

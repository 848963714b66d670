package pgstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/expect/expecttest"
	"github.com/payhook/payhook/idempotency/pgstore"
	"github.com/payhook/payhook/internal/testsupport/expectsupport"
	"github.com/payhook/payhook/internal/testsupport/testserver"
)

// expectations returns an Expectations store of pool whose table exists.
func expectations(t testing.TB, pool *pgxpool.Pool, opts ...pgstore.ExpectationsOption) *pgstore.Expectations {
	t.Helper()
	x, err := pgstore.NewExpectations(pool, opts...)
	require.NoError(t, err)
	require.NoError(t, x.Migrate(context.Background()))
	return x
}

func TestExpectationsConformance(t *testing.T) {
	store := expectations(t, newPool(t))
	expecttest.Run(t, func(t *testing.T) expect.Store { return store })
}

// TestExpectationsConformanceOwnTable: a schema-qualified, mixed-case
// table, through the suite's error-returning form.
func TestExpectationsConformanceOwnTable(t *testing.T) {
	pool := newPool(t)
	_, err := pool.Exec(context.Background(), `CREATE SCHEMA IF NOT EXISTS payhook_test`)
	require.NoError(t, err)
	table := "payhook_test.Expected_" + rand8()
	assert.NoError(t, expecttest.Test(func() (expect.Store, error) {
		x, err := pgstore.NewExpectations(pool, pgstore.WithExpectationsTable(table))
		if err != nil {
			return nil, err
		}
		return x, x.Migrate(context.Background())
	}))
}

// TestExpectationsConformanceStrictIsolation: with every transaction
// repeatable read or serializable, the store still keeps its contract.
func TestExpectationsConformanceStrictIsolation(t *testing.T) {
	for _, level := range []string{"repeatable read", "serializable"} {
		t.Run(level, func(t *testing.T) {
			cfg, err := pgxpool.ParseConfig(testserver.URL(t, "PAYHOOK_TEST_POSTGRES_URL"))
			require.NoError(t, err)
			cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = level
			pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
			require.NoError(t, err)
			t.Cleanup(pool.Close)
			store := expectations(t, pool)
			expecttest.Run(t, func(t *testing.T) expect.Store { return store })
		})
	}
}

// TestExpectationsReplicas: two replicas, each with its own pool of one
// database, share the expectations: concurrent Dues never hand one to
// both within its lease, concurrent Settles of one succeed once.
func TestExpectationsReplicas(t *testing.T) {
	expectations(t, newPool(t))
	expecttest.RunReplicas(t, func(t *testing.T) []expect.Store {
		return []expect.Store{expectations(t, newPool(t)), expectations(t, newPool(t))}
	})
}

func TestNewExpectationsRefuses(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://127.0.0.1:1/nothing")
	require.NoError(t, err)
	defer pool.Close()
	refused := func(pool *pgxpool.Pool, opts ...pgstore.ExpectationsOption) func() (any, error) {
		return func() (any, error) { return pgstore.NewExpectations(pool, opts...) }
	}
	expectsupport.Refuses(t, payhook.ErrConfig, map[string]expectsupport.Refusal{
		"nil pool":     {New: refused(nil), Want: "nil pool"},
		"bad table":    {New: refused(pool, pgstore.WithExpectationsTable(`x"; DROP TABLE y`)), Want: "WithExpectationsTable"},
		"three parts":  {New: refused(pool, pgstore.WithExpectationsTable("a.b.c")), Want: "WithExpectationsTable"},
		"zero timeout": {New: refused(pool, pgstore.WithExpectationsTimeout(0)), Want: "WithExpectationsTimeout(0s)"},
		"nil clock":    {New: refused(pool, pgstore.WithExpectationsClock(nil)), Want: "WithExpectationsClock(nil)"},
	})
}

func TestExpectationsClock(t *testing.T) {
	pool := newPool(t)
	expectsupport.Clock(t, func(now func() time.Time) expect.Store {
		return expectations(t, pool, pgstore.WithExpectationsTable("times_"+rand8()), pgstore.WithExpectationsClock(now))
	})
}

// TestExpectationsSettleTx: the settlement is the caller's transaction's,
// and a refusal leaves that transaction usable.
func TestExpectationsSettleTx(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	store := expectations(t, pool, pgstore.WithExpectationsTable("settletx_"+rand8()))
	for _, ref := range []string{"cart_1", "cart_2"} {
		require.NoError(t, store.Add(ctx, expect.Expectation{Provider: "kazawallet", Ref: ref, Amount: "10", Currency: "USD", Deadline: time.Now().Add(time.Hour)}))
	}
	s := expect.Settlement{PaymentID: "ord_1", Outcome: expect.OutcomePaid, At: time.Now()}
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := store.SettleTx(ctx, tx, expect.Key{Provider: "kazawallet", Ref: "cart_1"}, s)
		return err
	}))

	// A second transaction races the first's payment onto cart_2: the
	// unique index refuses it, in a savepoint, and the transaction goes on.
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = store.SettleTx(ctx, tx, expect.Key{Provider: "kazawallet", Ref: "cart_2"}, s)
	assert.ErrorIs(t, err, expect.ErrConflict)
	var one int
	require.NoError(t, tx.QueryRow(ctx, `SELECT 1`).Scan(&one), "the transaction is still usable")
	x, err := store.SettleTx(ctx, tx, expect.Key{Provider: "kazawallet", Ref: "cart_2"}, expect.Settlement{PaymentID: "ord_2", Outcome: expect.OutcomePaid, At: time.Now()})
	require.NoError(t, err)
	assert.Equal(t, "ord_2", x.PaymentID)
	require.NoError(t, tx.Rollback(ctx))
	got, err := store.Get(ctx, expect.Key{Provider: "kazawallet", Ref: "cart_2"})
	require.NoError(t, err)
	assert.Equal(t, expect.Pending, got.State, "rolled back")
}

// TestExpectationsUseIndexes: on 100,000 expectations, no statement of
// the store reads the table from end to end, nor sorts more rows than it
// returns (per provider asked for).
func TestExpectationsUseIndexes(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	table := "plans_" + rand8()
	expectations(t, pool, pgstore.WithExpectationsTable(table))
	_, err := pool.Exec(ctx, `INSERT INTO `+table+` (provider, id, ref, amount, currency, deadline, state, created_at, next_poll, payment_id, settled_at)
SELECT 'p' || (i % 3), 'tx_' || i, 'ref_' || i, '10', 'USD', to_timestamp(i), s, now(), to_timestamp(i), CASE WHEN s = 2 THEN 'pay_' || i END,
	CASE WHEN s = 2 THEN to_timestamp(i) END
FROM generate_series(1, 100000) AS i,
	-- as in a shop: most settled, a few pending, fewer overdue or cancelled
	LATERAL (SELECT CASE WHEN i % 100 < 95 THEN 2 WHEN i % 100 < 98 THEN 1 WHEN i % 100 < 99 THEN 3 ELSE 4 END AS s) AS st`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `ANALYZE `+table) // as autovacuum soon does
	require.NoError(t, err)

	// Every statement the store sends, explained: the pool's tracer
	// records them while the store runs each method once.
	var plans []string
	explain := func(name string, run func(context.Context, *pgstore.Expectations) error) {
		t.Helper()
		cfg := pool.Config().Copy()
		rec := &recorder{}
		cfg.ConnConfig.Tracer = rec
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		require.NoError(t, err)
		defer p.Close()
		s, err := pgstore.NewExpectations(p, pgstore.WithExpectationsTable(table))
		require.NoError(t, err)
		_ = run(ctx, s)
		require.NotEmpty(t, rec.queries, name)
		for _, q := range rec.queries {
			rows, err := pool.Query(ctx, `EXPLAIN `+q.SQL, q.Args...)
			require.NoError(t, err, "%s: %s", name, q.SQL)
			var plan []string
			for rows.Next() {
				var line string
				require.NoError(t, rows.Scan(&line))
				plan = append(plan, line)
			}
			require.NoError(t, rows.Err())
			text := strings.Join(plan, "\n")
			assert.NotContains(t, text, "Seq Scan", "%s: a scan of the table:\n%s\n%s", name, q.SQL, text)
			if !strings.Contains(text, "unnest") {
				assert.NotRegexp(t, `(?m)^\s*(->\s*)?Sort`, text, "%s: a sort of every match:\n%s\n%s", name, q.SQL, text)
			}
			plans = append(plans, name+":\n"+text)
		}
	}
	now := time.Unix(50000, 0)
	for i, by := range []expect.Key{{Provider: "p1", ID: "tx_7"}, {Provider: "p1", Ref: "ref_7"}} {
		explain(fmt.Sprint("get ", i), func(ctx context.Context, s *pgstore.Expectations) error { _, err := s.Get(ctx, by); return err })
		explain(fmt.Sprint("settle ", i), func(ctx context.Context, s *pgstore.Expectations) error {
			_, err := s.Settle(ctx, by, expect.Settlement{PaymentID: "pay_1", Outcome: "paid", At: now})
			return err
		})
		explain(fmt.Sprint("reopen ", i), func(ctx context.Context, s *pgstore.Expectations) error { return s.Reopen(ctx, by, "nope") })
		explain(fmt.Sprint("cancel ", i), func(ctx context.Context, s *pgstore.Expectations) error { return s.Cancel(ctx, by) })
		explain(fmt.Sprint("reschedule ", i), func(ctx context.Context, s *pgstore.Expectations) error { return s.Reschedule(ctx, by, now) })
		explain(fmt.Sprint("confirm ", i), func(ctx context.Context, s *pgstore.Expectations) error { return s.Confirm(ctx, by, "nope") })
	}
	for _, ps := range [][]string{nil, {"p1"}, {"p1", "p2"}} {
		explain(fmt.Sprint("due ", ps), func(ctx context.Context, s *pgstore.Expectations) error {
			_, err := s.Due(ctx, ps, now, time.Minute, 100)
			return err
		})
		explain(fmt.Sprint("overdue ", ps), func(ctx context.Context, s *pgstore.Expectations) error {
			_, err := s.MarkOverdue(ctx, ps, now, 100)
			return err
		})
		explain(fmt.Sprint("forget ", ps), func(ctx context.Context, s *pgstore.Expectations) error {
			_, err := s.Forget(ctx, ps, now, 100)
			return err
		})
		explain(fmt.Sprint("unconfirmed ", ps), func(ctx context.Context, s *pgstore.Expectations) error {
			_, err := s.Unconfirmed(ctx, ps, now, 100)
			return err
		})
	}
	for _, f := range []expect.Filter{{}, {Provider: "p1"}, {State: expect.Overdue}, {Provider: "p1", State: expect.Settled}} {
		explain(fmt.Sprint("list ", f), func(ctx context.Context, s *pgstore.Expectations) error { _, err := s.List(ctx, f); return err })
	}
	explain("add", func(ctx context.Context, s *pgstore.Expectations) error {
		return s.Add(ctx, expect.Expectation{Provider: "p1", ID: "tx_new", Amount: "1", Currency: "USD", Deadline: now})
	})
	if testing.Verbose() {
		t.Log(strings.Join(plans, "\n\n"))
	}
}

// recorder is a pgx tracer that records the statements sent.
type recorder struct{ queries []pgx.TraceQueryStartData }

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.queries = append(r.queries, d)
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// rand8 is a lowercase name part no other test uses.
func rand8() string { return strings.ToLower(rand.Text()[:8]) }

// BenchmarkExpectations measures Add and Settle (expecttest.Benchmark)
// on the test's server.
func BenchmarkExpectations(b *testing.B) {
	store := expectations(b, newPool(b), pgstore.WithExpectationsTable("bench_"+rand8()))
	expecttest.Benchmark(b, func(*testing.B) expect.Store { return store })
}

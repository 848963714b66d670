package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/expect/expecttest"
	"github.com/payhook/payhook/idempotency/sqlitestore"
	"github.com/payhook/payhook/internal/testsupport/expectsupport"
)

// expectations returns an Expectations store of db whose table exists.
func expectations(t testing.TB, db *sql.DB, opts ...sqlitestore.ExpectationsOption) *sqlitestore.Expectations {
	t.Helper()
	x, err := sqlitestore.NewExpectations(db, opts...)
	require.NoError(t, err)
	require.NoError(t, x.Migrate(context.Background()))
	return x
}

func TestExpectationsConformance(t *testing.T) {
	store := expectations(t, openDB(t, filepath.Join(t.TempDir(), "payhook.db")))
	expecttest.Run(t, func(t *testing.T) expect.Store { return store })
}

// TestExpectationsConformanceOwnTable runs the suite's error-returning
// form, each case on a fresh table of a shared file.
func TestExpectationsConformanceOwnTable(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "payhook.db"))
	n := 0
	err := expecttest.Test(func() (expect.Store, error) {
		n++
		x, err := sqlitestore.NewExpectations(db, sqlitestore.WithExpectationsTable(fmt.Sprintf("Expected_%d", n)))
		if err != nil {
			return nil, err
		}
		return x, x.Migrate(context.Background())
	})
	assert.NoError(t, err)
}

// TestExpectationsReplicas: processes of one machine, each with its own
// database open on one file, share the expectations.
func TestExpectationsReplicas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payhook.db")
	expectations(t, openDB(t, path))
	expecttest.RunReplicas(t, func(t *testing.T) []expect.Store {
		return []expect.Store{expectations(t, openDB(t, path)), expectations(t, openDB(t, path))}
	})
}

func TestNewExpectationsRefuses(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "payhook.db"))
	refused := func(db *sql.DB, opts ...sqlitestore.ExpectationsOption) func() (any, error) {
		return func() (any, error) { return sqlitestore.NewExpectations(db, opts...) }
	}
	expectsupport.Refuses(t, payhook.ErrConfig, map[string]expectsupport.Refusal{
		"nil db":       {New: refused(nil), Want: "nil db"},
		"bad table":    {New: refused(db, sqlitestore.WithExpectationsTable(`x"; DROP TABLE y`)), Want: "WithExpectationsTable"},
		"empty table":  {New: refused(db, sqlitestore.WithExpectationsTable("")), Want: "WithExpectationsTable"},
		"zero timeout": {New: refused(db, sqlitestore.WithExpectationsTimeout(0)), Want: "WithExpectationsTimeout(0s)"},
		"nil clock":    {New: refused(db, sqlitestore.WithExpectationsClock(nil)), Want: "WithExpectationsClock(nil)"},
	})
}

func TestExpectationsClock(t *testing.T) {
	expectsupport.Clock(t, func(now func() time.Time) expect.Store {
		return expectations(t, openDB(t, filepath.Join(t.TempDir(), "payhook.db")), sqlitestore.WithExpectationsClock(now))
	})
}

// TestSettleTx: the settlement is the caller's transaction's.
func TestSettleTx(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "payhook.db"))
	store := expectations(t, db)
	k := expect.Key{Provider: "kkiapay", ID: "tx_1"}
	require.NoError(t, store.Add(ctx, expect.Expectation{Provider: "kkiapay", ID: "tx_1", Amount: "100", Currency: "XOF", Deadline: time.Now().Add(time.Hour)}))
	s := expect.Settlement{PaymentID: "tx_1", Outcome: expect.OutcomePaid, At: time.Now()}

	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	x, err := store.SettleTx(ctx, tx, k, s)
	require.NoError(t, err)
	assert.Equal(t, expect.Settled, x.State)
	_, err = store.SettleTx(ctx, tx, expect.Key{Provider: "kkiapay", ID: "tx_9"}, s)
	assert.ErrorIs(t, err, expect.ErrNotFound)
	require.NoError(t, tx.Rollback())
	got, err := store.Get(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, expect.Pending, got.State, "rolled back")

	other := openDB(t, filepath.Join(t.TempDir(), "other.db"))
	tx, err = other.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	_, err = store.SettleTx(ctx, tx, k, s)
	assert.ErrorIs(t, err, sqlitestore.ErrOtherDatabase)
}

// BenchmarkExpectations measures Add and Settle (expecttest.Benchmark)
// on the test's temporary file, durable (synchronous=FULL).
func BenchmarkExpectations(b *testing.B) {
	store := expectations(b, openDB(b, filepath.Join(b.TempDir(), "payhook.db")))
	expecttest.Benchmark(b, func(*testing.B) expect.Store { return store })
}

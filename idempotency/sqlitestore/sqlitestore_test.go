package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/exactlyoncetest"
	"github.com/payhook/payhook/idempotency/idempotencytest"
	"github.com/payhook/payhook/idempotency/sqlitestore"
	"github.com/payhook/payhook/payhooktest"
)

// advance is c's Advance as a Harness's.
func advance(c *payhooktest.Clock) func(time.Duration) { return func(d time.Duration) { c.Advance(d) } }

// openDB opens path with OpenDB, closed when the test ends.
func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sqlitestore.OpenDB(path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// migrated returns a store of db whose table exists.
func migrated(t testing.TB, db *sql.DB, opts ...sqlitestore.Option) *sqlitestore.Store {
	t.Helper()
	store, err := sqlitestore.New(db, opts...)
	require.NoError(t, err)
	require.NoError(t, store.Migrate(context.Background()))
	return store
}

func TestConformance(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "payhook.db"))
	idempotencytest.Run(t, func(t *testing.T) idempotencytest.Harness {
		c := payhooktest.NewClock(time.Now())
		return idempotencytest.Harness{Store: migrated(t, db, sqlitestore.WithClock(c.Now)), Advance: advance(c)}
	})
}

func TestConformanceRealTime(t *testing.T) {
	store := migrated(t, openDB(t, filepath.Join(t.TempDir(), "payhook.db")))
	idempotencytest.Run(t, func(t *testing.T) idempotencytest.Harness {
		return idempotencytest.Harness{Store: store}
	})
}

// TestConformanceOwnTable runs the suite through the error-returning form,
// on a table of its own.
func TestConformanceOwnTable(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "payhook.db"))
	err := idempotencytest.Test(func() (idempotencytest.Harness, error) {
		c := payhooktest.NewClock(time.Now())
		store, err := sqlitestore.New(db, sqlitestore.WithTable("Webhook_Keys"), sqlitestore.WithClock(c.Now))
		if err != nil {
			return idempotencytest.Harness{}, err
		}
		return idempotencytest.Harness{Store: store, Advance: advance(c)}, store.Migrate(context.Background())
	})
	assert.NoError(t, err)
}

// TestOpenDB checks the settings the package documentation promises, on a
// path that needs escaping in a URI.
func TestOpenDB(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir #1?x=%20")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, "pay hook.db")
	db := openDB(t, path)
	pragma := func(name string) string {
		var v string
		require.NoError(t, db.QueryRow(`PRAGMA `+name).Scan(&v))
		return v
	}
	assert.Equal(t, "wal", pragma("journal_mode"))
	assert.Equal(t, "2", pragma("synchronous"), "FULL")
	assert.Equal(t, "5000", pragma("busy_timeout"))
	assert.Equal(t, 1, db.Stats().MaxOpenConnections)
	assert.FileExists(t, path, "the file is where it was asked for")
}

func TestOpenDBFails(t *testing.T) {
	_, err := sqlitestore.OpenDB(filepath.Join(t.TempDir(), "no such dir", "payhook.db"))
	assert.ErrorContains(t, err, "sqlitestore: open ")
}

func TestWithTable(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "payhook.db"))
	tests := []struct {
		name, table string
		ok          bool
	}{
		{"default", sqlitestore.DefaultTable, true},
		{"mixed case", "Payhook_Keys", true},
		{"63 bytes", strings.Repeat("k", 63), true},
		{"64 bytes", strings.Repeat("k", 64), false},
		{"empty", "", false},
		{"leading digit", "1keys", false},
		{"quote", `keys"; DROP TABLE users; --`, false},
		{"schema", "main.keys", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, err := sqlitestore.New(db, sqlitestore.WithTable(tt.table))
			if !tt.ok {
				assert.ErrorContains(t, err, "table name")
				assert.ErrorIs(t, err, payhook.ErrConfig)
				assert.Nil(t, store)
				return
			}
			require.NoError(t, err)
			assert.NoError(t, store.Migrate(context.Background()))
		})
	}
}

// TestNewRefusesUnusableValues: a nil db, and options given values they
// cannot use, make New fail with payhook.ErrConfig.
func TestNewRefusesUnusableValues(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "payhook.db"))
	for name, opt := range map[string]sqlitestore.Option{
		"WithTimeout(0)": sqlitestore.WithTimeout(0),
		"WithClock(nil)": sqlitestore.WithClock(nil),
	} {
		t.Run(name, func(t *testing.T) {
			s, err := sqlitestore.New(db, opt)
			assert.ErrorIs(t, err, payhook.ErrConfig)
			assert.Nil(t, s)
		})
	}
	s, err := sqlitestore.New(nil)
	assert.ErrorIs(t, err, payhook.ErrConfig)
	assert.Nil(t, s)
}

// TestMigrate: twice is harmless, and the table is what the documentation
// says.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "payhook.db"))
	store, err := sqlitestore.New(db)
	require.NoError(t, err)
	_, err = store.Claim(ctx, "k", idempotency.NewToken(), time.Minute)
	require.Error(t, err, "no table before Migrate")
	require.NoError(t, store.Migrate(ctx))
	require.NoError(t, store.Migrate(ctx), "again")

	var sqlText string
	require.NoError(t, db.QueryRow(`SELECT sql FROM sqlite_schema WHERE name = 'payhook_idempotency'`).Scan(&sqlText))
	assert.Contains(t, sqlText, "key        BLOB PRIMARY KEY")
	assert.Contains(t, sqlText, "WITHOUT ROWID")
	var index string
	require.NoError(t, db.QueryRow(`SELECT sql FROM sqlite_schema WHERE name = 'payhook_idempotency_expires_at'`).Scan(&index))
	assert.Contains(t, index, "(expires_at)")
}

// TestLayout checks the rows the store writes, timed by its clock.
func TestLayout(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "payhook.db"))
	c := payhooktest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	store := migrated(t, db, sqlitestore.WithClock(c.Now))
	row := func(key string) (token sql.NullString, expires time.Time) {
		t.Helper()
		var us int64
		require.NoError(t, db.QueryRow(`SELECT token, expires_at FROM payhook_idempotency WHERE key = ?`, []byte(key)).Scan(&token, &us))
		return token, time.UnixMicro(us).UTC()
	}
	key, own := "kazawallet:ord_1", idempotency.NewToken()
	_, err := store.Claim(ctx, key, own, time.Minute)
	require.NoError(t, err)
	token, expires := row(key)
	assert.Equal(t, sql.NullString{String: own, Valid: true}, token)
	assert.Equal(t, c.Now().Add(time.Minute), expires)

	c.Advance(30 * time.Second)
	_, err = store.Claim(ctx, key, own, time.Minute)
	require.NoError(t, err)
	_, expires = row(key)
	assert.Equal(t, c.Now().Add(time.Minute), expires, "renewed from now")

	require.NoError(t, store.Complete(ctx, key, own, time.Hour))
	token, expires = row(key)
	assert.False(t, token.Valid, "done")
	assert.Equal(t, c.Now().Add(time.Hour), expires)
}

// TestAnyKey: keys are bytes.
func TestAnyKey(t *testing.T) {
	ctx := context.Background()
	store := migrated(t, openDB(t, filepath.Join(t.TempDir(), "payhook.db")))
	for _, key := range []string{"nul\x00byte", "nul\x00byte2", "bad\xff\xfeutf8", ""} {
		token := idempotency.NewToken()
		state, err := store.Claim(ctx, key, token, time.Minute)
		require.NoError(t, err, "%q", key)
		assert.Equal(t, idempotency.Acquired, state, "%q", key)
		require.NoError(t, store.Complete(ctx, key, token, time.Minute))
		state, err = store.Claim(ctx, key, idempotency.NewToken(), time.Minute)
		require.NoError(t, err)
		assert.Equal(t, idempotency.Done, state, "%q", key)
	}
}

func TestCleanup(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "payhook.db"))
	c := payhooktest.NewClock(time.Now())
	store := migrated(t, db, sqlitestore.WithClock(c.Now))
	count := func() (n int64) {
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM payhook_idempotency`).Scan(&n))
		return n
	}
	// 2,500 expired rows (several batches), done or held, written in one
	// transaction, and live ones.
	tx, err := db.Begin()
	require.NoError(t, err)
	for i := range 2500 {
		var token any
		if i%2 == 0 {
			token = idempotency.NewToken()
		}
		_, err := tx.Exec(`INSERT INTO payhook_idempotency (key, token, expires_at) VALUES (?, ?, ?)`,
			[]byte(fmt.Sprint("expired", i)), token, c.Now().Add(-time.Second).UnixMicro())
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
	live, done := idempotency.NewToken(), idempotency.NewToken()
	_, err = store.Claim(ctx, "live-held", live, time.Hour)
	require.NoError(t, err)
	_, err = store.Claim(ctx, "live-done", done, time.Hour)
	require.NoError(t, err)
	require.NoError(t, store.Complete(ctx, "live-done", done, time.Hour))

	deleted, err := store.Cleanup(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(2500), deleted)
	assert.Equal(t, int64(2), count(), "the live rows remain")
	assert.NoError(t, store.Complete(ctx, "live-held", live, time.Hour), "the live claim is untouched")
	state, err := store.Claim(ctx, "live-done", idempotency.NewToken(), time.Hour)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Done, state)

	deleted, err = store.Cleanup(ctx)
	require.NoError(t, err)
	assert.Zero(t, deleted)
}

// TestStoreDown: a closed database answers nothing.
func TestStoreDown(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "payhook.db"))
	store := migrated(t, db)
	require.NoError(t, db.Close())
	exactlyoncetest.StoreDown(t, store, "sqlitestore")
	_, err := store.Cleanup(context.Background())
	assert.ErrorContains(t, err, "sqlitestore: cleanup: ")
	assert.ErrorContains(t, store.Migrate(context.Background()), "sqlitestore: migrate: ")
}

// TestConcurrentWriters: many goroutines claim and complete at once,
// through one store and through two databases open on one file (two
// processes): no call fails (no SQLITE_BUSY), and each contested key has
// exactly one winner.
func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "payhook.db")
	stores := []*sqlitestore.Store{migrated(t, openDB(t, path)), migrated(t, openDB(t, path))}
	const goroutines, keys = 8, 25
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  = map[string]int{}
		errs []error
	)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			store := stores[g%len(stores)]
			for i := range keys {
				key, token := fmt.Sprint("contested", i), idempotency.NewToken()
				state, err := store.Claim(ctx, key, token, time.Minute)
				if err == nil && state == idempotency.Acquired {
					err = store.Complete(ctx, key, token, time.Hour)
				}
				own := fmt.Sprint("own", g, "-", i) // uncontested
				if err == nil {
					_, err = store.Claim(ctx, own, token, time.Minute)
				}
				if err == nil {
					err = store.Complete(ctx, own, token, time.Hour)
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if state == idempotency.Acquired {
					won[key]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs)
	require.Len(t, won, keys)
	for k, n := range won {
		assert.Equal(t, 1, n, "key %s", k)
	}
}

// The proofs over HTTP: two replicas on one machine, each with its own
// database open on the same file.

func TestReplicasProcessOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payhook.db")
	exactlyoncetest.ReplicasProcessOnce(t, func(t testing.TB) idempotency.Store { return migrated(t, openDB(t, path)) })
}

func TestCrashedReplica(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payhook.db")
	exactlyoncetest.CrashedReplica(t, func(t testing.TB) idempotency.Store { return migrated(t, openDB(t, path)) })
}

// BenchmarkClaimComplete measures claims/s of the store, durable
// (synchronous=FULL) on the test's temporary directory, beside the memory
// store's.
func BenchmarkClaimComplete(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		exactlyoncetest.BenchmarkClaimComplete(b, migrated(b, openDB(b, filepath.Join(b.TempDir(), "payhook.db"))))
	})
	b.Run("memory", func(b *testing.B) {
		exactlyoncetest.BenchmarkClaimComplete(b, idempotency.NewMemory(idempotency.WithMaxKeys(1<<22)))
	})
}

package pgstore_test

import (
	"context"
	"crypto/rand"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/exactlyoncetest"
	"github.com/payhook/payhook/idempotency/idempotencytest"
	"github.com/payhook/payhook/idempotency/pgstore"
	"github.com/payhook/payhook/internal/testsupport/testserver"
)

// newPool returns a pool of the test server, closed when the test ends.
func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testserver.URL(t, "PAYHOOK_TEST_POSTGRES_URL"))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// migrated returns a store of pool whose table exists.
func migrated(t testing.TB, pool *pgxpool.Pool, opts ...pgstore.Option) *pgstore.Store {
	t.Helper()
	store, err := pgstore.New(pool, opts...)
	require.NoError(t, err)
	require.NoError(t, store.Migrate(context.Background()))
	return store
}

// newStore returns a store with its own pool: a replica of its own.
func newStore(t testing.TB) idempotency.Store { return migrated(t, newPool(t)) }

// tableName returns a table name no other test uses.
func tableName() string { return "payhook_test_" + strings.ToLower(rand.Text()) }

func TestConformance(t *testing.T) {
	pool := newPool(t)
	store := migrated(t, pool)
	idempotencytest.Run(t, func(t *testing.T) idempotencytest.Harness {
		return idempotencytest.Harness{Store: store}
	})
}

func TestConformanceOwnTable(t *testing.T) {
	pool := newPool(t)
	_, err := pool.Exec(context.Background(), `CREATE SCHEMA IF NOT EXISTS payhook_test`)
	require.NoError(t, err)
	store := migrated(t, pool, pgstore.WithTable("payhook_test.Mixed_Case_"+rand.Text()))
	idempotencytest.Run(t, func(t *testing.T) idempotencytest.Harness {
		return idempotencytest.Harness{Store: store}
	})
}

// TestConformanceStrictIsolation: a database or role may make every
// transaction repeatable read or serializable. Concurrent claims of one key
// then fail to serialize; that is a claim that lost, not a store that could
// not answer.
func TestConformanceStrictIsolation(t *testing.T) {
	for _, level := range []string{"repeatable read", "serializable"} {
		t.Run(level, func(t *testing.T) {
			cfg, err := pgxpool.ParseConfig(testserver.URL(t, "PAYHOOK_TEST_POSTGRES_URL"))
			require.NoError(t, err)
			cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = level
			pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
			require.NoError(t, err)
			t.Cleanup(pool.Close)
			store := migrated(t, pool)
			idempotencytest.Run(t, func(t *testing.T) idempotencytest.Harness {
				return idempotencytest.Harness{Store: store}
			})
		})
	}
}

func TestWithTable(t *testing.T) {
	tests := []struct {
		name, table string
		ok          bool
	}{
		{"default", pgstore.DefaultTable, true},
		{"schema-qualified", "public.payhook_keys", true},
		{"mixed case is kept", "Payhook_Keys", true},
		{"63 bytes", strings.Repeat("k", 63), true},
		{"64 bytes", strings.Repeat("k", 64), false},
		{"empty", "", false},
		{"leading digit", "1keys", false},
		{"space", "payhook keys", false},
		{"quote", `keys"; DROP TABLE users; --`, false},
		{"semicolon", "keys;DROP TABLE users", false},
		{"empty schema", ".keys", false},
		{"three parts", "db.public.keys", false},
		{"dash", "payhook-keys", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// New checks the name without a connection.
			pool, err := pgxpool.New(context.Background(), "postgres://127.0.0.1:1/nothing")
			require.NoError(t, err)
			defer pool.Close()
			store, err := pgstore.New(pool, pgstore.WithTable(tt.table))
			if !tt.ok {
				assert.ErrorContains(t, err, "table name")
				assert.Nil(t, store)
				return
			}
			assert.NoError(t, err)
			assert.NotNil(t, store)
		})
	}
}

// TestMigrate creates a table of its own, from many replicas at once, and
// checks what it made.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	table := "Migrate_" + rand.Text()
	store, err := pgstore.New(pool, pgstore.WithTable(table))
	require.NoError(t, err)
	_, err = store.Claim(ctx, "k", idempotency.NewToken(), time.Minute)
	require.Error(t, err, "no table before Migrate")

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = store.Migrate(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "replica %d", i)
	}
	require.NoError(t, store.Migrate(ctx), "again")

	var columns string
	require.NoError(t, pool.QueryRow(ctx, `SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable, ', ' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_name = $1`, table).Scan(&columns))
	assert.Equal(t, "key bytea NO, token text YES, expires_at timestamp with time zone NO", columns)
	var indexes string
	require.NoError(t, pool.QueryRow(ctx, `SELECT string_agg(indexdef, '; ' ORDER BY indexname) FROM pg_indexes WHERE tablename = $1`, table).Scan(&indexes))
	assert.Contains(t, indexes, "(expires_at)")
	assert.Contains(t, indexes, "(key)")

	state, err := store.Claim(ctx, "k", idempotency.NewToken(), time.Minute)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Acquired, state)
}

// TestLayout checks the rows the store writes, timed by the database's
// clock, as its documentation says.
func TestLayout(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	table := tableName()
	store := migrated(t, pool, pgstore.WithTable(table))
	row := func(key string) (token *string, remaining time.Duration) {
		t.Helper()
		require.NoError(t, pool.QueryRow(ctx, `SELECT token, expires_at - now() FROM `+table+` WHERE key = $1`, []byte(key)).
			Scan(&token, &remaining))
		return token, remaining
	}
	key, own := "kazawallet:ord_"+rand.Text(), idempotency.NewToken()
	_, err := store.Claim(ctx, key, own, time.Minute)
	require.NoError(t, err)
	token, remaining := row(key)
	require.NotNil(t, token)
	assert.Equal(t, own, *token)
	assert.InDelta(t, time.Minute, remaining, float64(5*time.Second), "the lease, by the database's clock")

	_, err = store.Claim(ctx, key, own, 2*time.Minute)
	require.NoError(t, err)
	_, remaining = row(key)
	assert.InDelta(t, 2*time.Minute, remaining, float64(5*time.Second), "the lease renewed")

	require.NoError(t, store.Complete(ctx, key, own, time.Hour))
	token, remaining = row(key)
	assert.Nil(t, token, "done")
	assert.InDelta(t, time.Hour, remaining, float64(5*time.Second), "the retention")
}

// TestAnyKey: keys are bytes, so text PostgreSQL refuses (a NUL, invalid
// UTF-8) is a key like any other.
func TestAnyKey(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	prefix := rand.Text()
	for _, key := range []string{"nul\x00byte", "bad\xff\xfeutf8", "nul\x00byte2", ""} {
		token := idempotency.NewToken()
		state, err := store.Claim(ctx, prefix+key, token, time.Minute)
		require.NoError(t, err, "%q", key)
		assert.Equal(t, idempotency.Acquired, state, "%q", key)
		require.NoError(t, store.Complete(ctx, prefix+key, token, time.Minute))
		state, err = store.Claim(ctx, prefix+key, token, time.Minute)
		require.NoError(t, err)
		assert.Equal(t, idempotency.Done, state, "%q", key)
	}
}

func TestCleanup(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	table := tableName()
	store := migrated(t, pool, pgstore.WithTable(table))
	count := func(where string) (n int64) {
		t.Helper()
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE `+where).Scan(&n))
		return n
	}
	// 2,500 expired rows (several batches), done or held, and live ones.
	_, err := pool.Exec(ctx, `INSERT INTO `+table+` (key, token, expires_at)
		SELECT convert_to('expired' || i, 'UTF8'), CASE WHEN i % 2 = 0 THEN 'tok' || i END, now() - interval '1 second'
		FROM generate_series(1, 2500) AS i`)
	require.NoError(t, err)
	live, done := idempotency.NewToken(), idempotency.NewToken()
	_, err = store.Claim(ctx, "live-held", live, time.Hour)
	require.NoError(t, err)
	_, err = store.Claim(ctx, "live-done", done, time.Hour)
	require.NoError(t, err)
	require.NoError(t, store.Complete(ctx, "live-done", done, time.Hour))

	// A claim holds the lock of one expired row: Cleanup passes it by
	// rather than wait.
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `SELECT 1 FROM `+table+` WHERE key = 'expired7' FOR UPDATE`)
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	deleted, err := store.Cleanup(short)
	require.NoError(t, err)
	assert.Equal(t, int64(2499), deleted)
	assert.Equal(t, int64(3), count("true"), "the locked expired row and the live ones remain")
	require.NoError(t, tx.Rollback(ctx))

	deleted, err = store.Cleanup(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), deleted)
	assert.Equal(t, int64(0), count("expires_at <= now()"))
	assert.NoError(t, store.Complete(ctx, "live-held", live, time.Hour), "the live claim is untouched")
	state, err := store.Claim(ctx, "live-done", idempotency.NewToken(), time.Hour)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Done, state)
}

// TestServerDown needs no server: nothing listens where the pool points.
func TestServerDown(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@"+net.JoinHostPort("127.0.0.1", testserver.FreePort(t))+"/postgres?connect_timeout=2")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	store, err := pgstore.New(pool)
	require.NoError(t, err)
	exactlyoncetest.StoreDown(t, store, "pgstore")
	_, err = store.Cleanup(context.Background())
	assert.ErrorContains(t, err, "pgstore: cleanup: ")
	assert.ErrorContains(t, store.Migrate(context.Background()), "pgstore: migrate: ")
}

// TestServerSilent: a server that accepts connections and never answers
// (a dropped network path) fails each call within the store's timeout, even
// under a context without a deadline, as the middleware's completion is.
func TestServerSilent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() }) // read nothing, answer nothing
		}
	}()
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@"+ln.Addr().String()+"/postgres")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	store, err := pgstore.New(pool, pgstore.WithTimeout(200*time.Millisecond))
	require.NoError(t, err)
	ctx := context.WithoutCancel(context.Background())
	for name, call := range map[string]func() error{
		"claim":    func() error { _, err := store.Claim(ctx, "k", idempotency.NewToken(), time.Minute); return err },
		"complete": func() error { return store.Complete(ctx, "k", "token", time.Minute) },
		"release":  func() error { return store.Release(ctx, "k", "token") },
	} {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- call() }()
			select {
			case err := <-done:
				assert.ErrorIs(t, err, context.DeadlineExceeded)
			case <-time.After(30 * time.Second):
				t.Fatal("the call did not give up")
			}
		})
	}
}

// TestNewRefusesUnusableValues: a nil pool, and options given values they
// cannot use, make New fail with payhook.ErrConfig.
func TestNewRefusesUnusableValues(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://127.0.0.1:1/nothing")
	require.NoError(t, err)
	defer pool.Close()
	for name, opts := range map[string][]pgstore.Option{
		"WithTimeout(0)":     {pgstore.WithTimeout(0)},
		"WithTable(a.b.c)":   {pgstore.WithTable("a.b.c")},
		"WithTimeout(-1s)":   {pgstore.WithTimeout(-time.Second)},
		"nil pool, no opts:": nil,
	} {
		t.Run(name, func(t *testing.T) {
			p := pool
			if opts == nil {
				p = nil
			}
			s, err := pgstore.New(p, opts...)
			assert.ErrorIs(t, err, payhook.ErrConfig)
			assert.Nil(t, s)
		})
	}
}

func BenchmarkClaimComplete(b *testing.B) {
	exactlyoncetest.BenchmarkClaimComplete(b, migrated(b, newPool(b), pgstore.WithTable(tableName())))
}

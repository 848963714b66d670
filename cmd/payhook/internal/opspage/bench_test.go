package opspage_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/cmd/payhook/internal/opspage"
	"github.com/payhook/payhook/idempotency/sqlitestore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/sqliteinbox"
	"github.com/payhook/payhook/providers/kazawallet"
)

// benchEvents is how many events the benchmarks' store holds:
// PAYHOOK_BENCH_EVENTS, or 100,000.
func benchEvents(b *testing.B) int {
	if v := os.Getenv("PAYHOOK_BENCH_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err)
		return n
	}
	return 100_000
}

// fill puts n Kazawallet events in ib from workers goroutines: the last
// 10 pending, the 10 before dead, the rest done (through set, which
// writes the backend's states directly: running 100,000 attempts would
// take the benchmark's whole time).
func fill(b *testing.B, ib *inbox.Inbox, n, workers int) {
	b.Helper()
	t0 := time.Now().Add(-time.Duration(n) * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				e := kazawalletEntry(fmt.Sprintf("ord_%06d", i), fmt.Sprintf("order-%06d", i), "10.00", t0.Add(time.Duration(i)*time.Second))
				if _, err := ib.Put(context.Background(), e); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	require.NoError(b, <-errs)
}

// benchPage measures the pages an operator opens most.
func benchPage(b *testing.B, page http.Handler, n int) {
	for _, path := range []string{
		"/",            // dead and counts at the top, the latest 50
		"/?state=dead", // the dead ones
		"/?q=order-" + fmt.Sprintf("%06d", n-100), // a recent reference
		"/?q=order-000042",                        // an old reference: one window searched
		"/?q=ord_000042",                          // an old key: found through Get
		"/event?id=kazawallet:ord_000042",
	} {
		b.Run(strings.TrimPrefix(path, "/"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				page.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d", path, rec.Code)
				}
			}
		})
	}
}

// BenchmarkPageSQLite measures the page on the SQLite inbox holding
// 100,000 events (PAYHOOK_BENCH_EVENTS).
func BenchmarkPageSQLite(b *testing.B) {
	n := benchEvents(b)
	path := filepath.Join(b.TempDir(), "payhook.db")
	// Filled without fsync, then reopened as serve opens it.
	fast, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	require.NoError(b, err)
	fast.SetMaxOpenConns(1)
	backend, err := sqliteinbox.New(fast)
	require.NoError(b, err)
	require.NoError(b, backend.Migrate(context.Background()))
	fill(b, newInbox(b, backend), n, 1)
	_, err = fast.Exec(`UPDATE payhook_inbox SET state = CASE
		WHEN seq > :n - 10 THEN 'pending' WHEN seq > :n - 20 THEN 'dead' ELSE 'done' END,
		attempts = CASE WHEN seq > :n - 10 THEN 0 WHEN seq > :n - 20 THEN 25 ELSE 1 END,
		errors = CASE WHEN seq > :n - 20 AND seq <= :n - 10 THEN '[{"attempt":25,"at":"2026-12-06T01:00:00Z","error":"forward: 500"}]' ELSE '[]' END`,
		sql.Named("n", n))
	require.NoError(b, err)
	require.NoError(b, fast.Close())

	db, err := sqlitestore.OpenDB(path)
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	backend, err = sqliteinbox.New(db)
	require.NoError(b, err)
	l, err := opspage.SQLite(db, sqliteinbox.DefaultTable)
	require.NoError(b, err)
	page, err := opspage.New(opspage.WithInbox(newInbox(b, backend), l), opspage.WithRecorder(opspage.NewRecorder(nil)),
		opspage.WithProvider(kazawallet.Name, opspage.DecoderOf[kazawallet.Event]()))
	require.NoError(b, err)
	benchPage(b, page, n)
}

// BenchmarkPagePostgres measures the page on the River inbox holding
// PAYHOOK_BENCH_EVENTS events (100,000).
func BenchmarkPagePostgres(b *testing.B) {
	n := benchEvents(b)
	backend, lister, pool, schema := openRiver(b)
	ib := newInbox(b, backend)
	fill(b, ib, n, 8)
	_, err := pool.Exec(context.Background(), `WITH ranked AS (SELECT id, row_number() OVER (ORDER BY id DESC) AS r FROM `+
		pgx.Identifier{schema, "river_job"}.Sanitize()+`)
		UPDATE `+pgx.Identifier{schema, "river_job"}.Sanitize()+` j SET
		state = CASE WHEN r <= 10 THEN 'available' WHEN r <= 20 THEN 'discarded' ELSE 'completed' END::`+
		pgx.Identifier{schema, "river_job_state"}.Sanitize()+`,
		attempt = CASE WHEN r <= 10 THEN 0 ELSE 1 END,
		finalized_at = CASE WHEN r <= 10 THEN NULL ELSE now() END
		FROM ranked WHERE ranked.id = j.id`)
	require.NoError(b, err)
	_, err = pool.Exec(context.Background(), `VACUUM ANALYZE `+pgx.Identifier{schema, "river_job"}.Sanitize()) // as autovacuum would after the update
	require.NoError(b, err)
	page, err := opspage.New(opspage.WithInbox(ib, lister), opspage.WithRecorder(opspage.NewRecorder(nil)),
		opspage.WithProvider(kazawallet.Name, opspage.DecoderOf[kazawallet.Event]()))
	require.NoError(b, err)
	benchPage(b, page, n)
}

// BenchmarkPageRedis measures the page on the asynq inbox holding
// PAYHOOK_BENCH_EVENTS events (100,000): run by the inbox (asynq keeps
// its completed tasks in a set of their own), the last 10 put after.
func BenchmarkPageRedis(b *testing.B) {
	n := benchEvents(b)
	backend, lister := backends[3].open(b)
	ib, err := inbox.New(backend, inbox.WithMaxAttempts(1), inbox.WithWorkers(32))
	require.NoError(b, err)
	ib.Handle(kazawallet.Name, func(_ context.Context, a inbox.Attempt) error {
		if strings.HasPrefix(a.Key, "dead") {
			return inbox.Permanent(errors.New("forward: application answered 410"))
		}
		return nil
	})
	fill(b, ib, n-20, 8)
	for i := range 10 {
		_, err := ib.Put(context.Background(), kazawalletEntry(fmt.Sprintf("dead_%d", i), fmt.Sprintf("order-dead-%d", i), "10.00", time.Now()))
		require.NoError(b, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ib.Run(ctx) }()
	for {
		d, err := lister(ib).Count(context.Background(), inbox.Done, n)
		require.NoError(b, err)
		x, err := lister(ib).Count(context.Background(), inbox.Dead, n)
		require.NoError(b, err)
		if d+x == n-10 {
			break
		}
		time.Sleep(time.Second) // the inbox runs 100,000 entries
	}
	cancel()
	require.NoError(b, <-done)
	for i := range 10 {
		_, err := ib.Put(context.Background(), kazawalletEntry(fmt.Sprintf("wait_%d", i), fmt.Sprintf("order-wait-%d", i), "10.00", time.Now()))
		require.NoError(b, err)
	}
	page, err := opspage.New(opspage.WithInbox(ib, lister(ib)), opspage.WithRecorder(opspage.NewRecorder(nil)),
		opspage.WithProvider(kazawallet.Name, opspage.DecoderOf[kazawallet.Event]()))
	require.NoError(b, err)
	benchPage(b, page, n-20)
}

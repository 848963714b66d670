package sqliteinbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/sqlitestore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/inboxtest"
	"github.com/payhook/payhook/inbox/sqliteinbox"
	"github.com/payhook/payhook/providers/kazawallet"
)

// testPoll is how often the tests' backends look for other processes'
// entries.
const testPoll = 20 * time.Millisecond

// The Kazawallet credentials of the tests' application.
const apiKey, apiSecret = "test_api_key", "test_api_secret"

// webhook is a signed Kazawallet delivery of order id.
func webhook(id string) string {
	return `{"order_id":"` + id + `","amount":"10.00","status":"fulfilled","currency":"USD","ref":"r","secret":"` +
		kazawallet.Sign(apiKey, apiSecret, "10.00", id) + `"}`
}

// openDB opens path as payhook does, closed when the test ends.
func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sqlitestore.OpenDB(path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// newBackend returns a migrated backend on db.
func newBackend(t testing.TB, db *sql.DB, opts ...sqliteinbox.Option) *sqliteinbox.Backend {
	t.Helper()
	b, err := sqliteinbox.New(db, append([]sqliteinbox.Option{sqliteinbox.WithPollInterval(testPoll)}, opts...)...)
	require.NoError(t, err)
	require.NoError(t, b.Migrate(context.Background()))
	return b
}

// TestConformance runs the inbox suite, each case on a file of its own,
// with a second handle on the file as a second process.
func TestConformance(t *testing.T) {
	inboxtest.Run(t, func(t *testing.T) inboxtest.Harness {
		path := filepath.Join(t.TempDir(), "payhook.db")
		return inboxtest.Harness{
			Backend: newBackend(t, openDB(t, path)),
			Reopen: func() (inbox.Backend, error) {
				return newBackend(t, openDB(t, path)), nil
			},
		}
	})
}

func TestNewTableNames(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "payhook.db"))
	for _, name := range []string{"", "1x", `x"; DROP TABLE y; --`, "a.b", strings.Repeat("t", 60)} {
		_, err := sqliteinbox.New(db, sqliteinbox.WithTable(name))
		assert.ErrorContains(t, err, "table name", name)
		assert.ErrorIs(t, err, payhook.ErrConfig)
	}
	b, err := sqliteinbox.New(db, sqliteinbox.WithTable("Payments_2"))
	require.NoError(t, err)
	require.NoError(t, b.Migrate(context.Background()))
}

// TestNewRefusesUnusableValues: a nil db, and options given values they
// cannot use, make New fail with payhook.ErrConfig.
func TestNewRefusesUnusableValues(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "payhook.db"))
	for name, opt := range map[string]sqliteinbox.Option{
		"WithPollInterval(below 1ms)": sqliteinbox.WithPollInterval(time.Microsecond),
		"WithDoneRetention(0)":        sqliteinbox.WithDoneRetention(0),
		"WithTimeout(0)":              sqliteinbox.WithTimeout(0),
		"WithLogger(nil)":             sqliteinbox.WithLogger(nil),
	} {
		t.Run(name, func(t *testing.T) {
			b, err := sqliteinbox.New(db, opt)
			assert.ErrorIs(t, err, payhook.ErrConfig)
			assert.Nil(t, b)
		})
	}
	b, err := sqliteinbox.New(nil)
	assert.ErrorIs(t, err, payhook.ErrConfig)
	assert.Nil(t, b)
}

// TestUnconfirmedUsesItsIndex: Unconfirmed counts on the partial index of
// the entries with claim not done, not by reading the table.
func TestUnconfirmedUsesItsIndex(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "payhook.db"))
	newBackend(t, db)
	var plan []string
	rows, err := db.Query(`EXPLAIN QUERY PLAN SELECT count(*) FROM payhook_inbox WHERE claim != 0 AND state != 'done'`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var id, parent, notused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &notused, &detail))
		plan = append(plan, detail)
	}
	require.NoError(t, rows.Err())
	assert.Contains(t, strings.Join(plan, "\n"), "payhook_inbox_unconfirmed", "the plan: %v", plan)
}

// Two inboxes in one file, in two tables, keep their entries apart.
func TestTablesAreApart(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "payhook.db"))
	a, b := newBackend(t, db), newBackend(t, db, sqliteinbox.WithTable("other_inbox"))
	e := inbox.Entry{ID: "kazawallet:1", Provider: "kazawallet", Key: "1", Event: []byte(`{}`), MaxAttempts: 3}
	for _, be := range []*sqliteinbox.Backend{a, b} {
		added, err := be.Put(ctx, e)
		require.NoError(t, err)
		assert.True(t, added, "a table of its own")
	}
}

// TestConcurrentWriters: 16 goroutines put entries at once while two
// runners on two handles take them; every entry is run once, and nothing
// meets SQLITE_BUSY.
func TestConcurrentWriters(t *testing.T) {
	const writers, each = 16, 40
	path := filepath.Join(t.TempDir(), "payhook.db")
	first, second := newBackend(t, openDB(t, path)), newBackend(t, openDB(t, path))
	var (
		mu   sync.Mutex
		runs = map[string]int{}
		all  = make(chan struct{})
	)
	h := func(ctx context.Context, a inbox.Attempt) error {
		mu.Lock()
		defer mu.Unlock()
		runs[a.ID]++
		if len(runs) == writers*each {
			close(all)
		}
		return nil
	}
	ctx, stop := context.WithCancel(context.Background())
	cfg := inbox.RunConfig{Workers: 4, Backoff: func(int) time.Duration { return 0 }, Timeout: 10 * time.Second,
		Lease: time.Minute, ShutdownTimeout: 10 * time.Second}
	var runners sync.WaitGroup
	for _, b := range []*sqliteinbox.Backend{first, second} {
		runners.Go(func() { assert.NoError(t, b.Run(ctx, h, cfg)) })
	}
	var wg sync.WaitGroup
	for w := range writers {
		b := first
		if w%2 == 1 {
			b = second
		}
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				added, err := b.Put(ctx, inbox.Entry{ID: "test:" + id, Provider: "test", Key: id, Event: []byte(`{}`), MaxAttempts: 3})
				assert.NoError(t, err)
				assert.True(t, added)
			}
		})
	}
	wg.Wait()
	select {
	case <-all:
	case <-time.After(time.Minute):
		t.Fatal("not every entry ran within a minute")
	}
	stop()
	runners.Wait()
	for id, n := range runs {
		assert.Equal(t, 1, n, id)
	}
	stats, err := first.Stats(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []inbox.Stat{{Provider: "test", State: inbox.Done, N: writers * each}}, stats)
}

// TestAbandonedAttempt: an entry left running by a killed worker (its
// lease ended) is taken again with the abandoned attempt's error; dead
// without running when that attempt was its last.
func TestAbandonedAttempt(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "payhook.db")
	b := newBackend(t, openDB(t, path))
	// "last" first: its lease ends first, so the reap that frees "again"
	// has made it dead before "again" runs.
	for _, e := range []inbox.Entry{
		{ID: "test:last", Provider: "test", Key: "last", Event: []byte(`{}`), MaxAttempts: 1},
		{ID: "test:again", Provider: "test", Key: "again", Event: []byte(`{}`), MaxAttempts: 2},
	} {
		_, err := b.Put(ctx, e)
		require.NoError(t, err)
	}
	// The first run takes both and never answers: its workers hang past
	// the lease, as a killed process's would. Its attempts are canceled
	// at shutdown, after another run has taken the entries back.
	cfg := inbox.RunConfig{Workers: 2, Backoff: func(int) time.Duration { return 0 }, Timeout: 50 * time.Millisecond,
		Lease: 100 * time.Millisecond, ShutdownTimeout: time.Millisecond}
	started := make(chan string, 2)
	hang := make(chan struct{})
	killedCtx, kill := context.WithCancel(ctx)
	killed := make(chan error, 1)
	go func() {
		killed <- b.Run(killedCtx, func(ctx context.Context, a inbox.Attempt) error {
			started <- a.ID
			<-hang
			return nil // too late: the entry is no longer this attempt's
		}, cfg)
	}()
	<-started
	<-started

	other := newBackend(t, openDB(t, path))
	ran := make(chan inbox.Attempt, 2)
	otherCtx, stopOther := context.WithCancel(ctx)
	otherDone := make(chan error, 1)
	go func() {
		otherDone <- other.Run(otherCtx, func(ctx context.Context, a inbox.Attempt) error {
			ran <- a
			return nil
		}, cfg)
	}()
	a := <-ran
	assert.Equal(t, "test:again", a.ID)
	assert.Equal(t, 2, a.N, "the abandoned attempt counts")
	close(hang)
	kill()
	require.NoError(t, <-killed)
	stopOther()
	require.NoError(t, <-otherDone)
	select {
	case a := <-ran:
		t.Fatalf("%s ran again", a.ID)
	default:
	}

	info, err := b.Get(ctx, "test:again")
	require.NoError(t, err)
	assert.Equal(t, inbox.Done, info.State)
	require.Len(t, info.Errors, 1)
	assert.Equal(t, 1, info.Errors[0].Attempt)
	assert.Contains(t, info.LastError(), "abandoned")
	info, err = b.Get(ctx, "test:last")
	require.NoError(t, err)
	assert.Equal(t, inbox.Dead, info.State, "its only attempt was abandoned")
	assert.Equal(t, 1, info.Attempts)
	assert.Contains(t, info.LastError(), "abandoned")
}

// TestErrorsAreCapped: an entry keeps the errors of its last 50 attempts,
// each cut to 8 KiB.
func TestErrorsAreCapped(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, openDB(t, filepath.Join(t.TempDir(), "payhook.db")))
	_, err := b.Put(ctx, inbox.Entry{ID: "test:x", Provider: "test", Key: "x", Event: []byte(`{}`), MaxAttempts: 60})
	require.NoError(t, err)
	cfg := inbox.RunConfig{Workers: 1, Backoff: func(int) time.Duration { return 0 }, Timeout: time.Second,
		Lease: time.Minute, ShutdownTimeout: time.Second}
	runCtx, stop := context.WithCancel(ctx)
	dead := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- b.Run(runCtx, func(ctx context.Context, a inbox.Attempt) error {
			if a.N == 60 {
				defer close(dead)
			}
			return fmt.Errorf("attempt %d: %s", a.N, strings.Repeat("x", 10_000))
		}, cfg)
	}()
	<-dead
	stop()
	require.NoError(t, <-done)
	info, err := b.Get(ctx, "test:x")
	require.NoError(t, err)
	assert.Equal(t, inbox.Dead, info.State)
	require.Len(t, info.Errors, 50)
	assert.Equal(t, 11, info.Errors[0].Attempt)
	assert.Equal(t, 60, info.Errors[49].Attempt)
	assert.LessOrEqual(t, len(info.LastError()), 8<<10+len("…"))
}

// TestPutComplete: with sqlitestore on the same file, the entry and the
// key's completion are one transaction; with a store on another file,
// PutComplete leaves both to the caller.
func TestPutComplete(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "payhook.db"))
	b := newBackend(t, db)
	store, err := sqlitestore.New(db)
	require.NoError(t, err)
	require.NoError(t, store.Migrate(ctx))
	keyState := func(key string) idempotency.State {
		t.Helper()
		s, err := store.Claim(ctx, key, idempotency.NewToken(), time.Minute)
		require.NoError(t, err)
		return s
	}
	claim := func(key, token string) {
		t.Helper()
		s, err := store.Claim(ctx, key, token, time.Minute)
		require.NoError(t, err)
		require.Equal(t, idempotency.Acquired, s)
	}
	entry := func(key string) inbox.Entry {
		return inbox.Entry{ID: "kazawallet:" + key, Provider: "kazawallet", Key: key, Event: []byte(`{}`), MaxAttempts: 3}
	}

	claim("kazawallet:a", "ta")
	added, handled, err := b.PutComplete(ctx, entry("a"), store, "kazawallet:a", "ta", time.Hour)
	require.NoError(t, err)
	assert.True(t, added)
	assert.True(t, handled)
	assert.Equal(t, idempotency.Done, keyState("kazawallet:a"))
	_, err = b.Get(ctx, "kazawallet:a")
	assert.NoError(t, err)

	// A claim lost to another owner: neither the entry nor the key.
	claim("kazawallet:b", "tb")
	_, handled, err = b.PutComplete(ctx, entry("b"), store, "kazawallet:b", "not the owner", time.Hour)
	assert.ErrorIs(t, err, idempotency.ErrNotOwner)
	assert.True(t, handled)
	_, err = b.Get(ctx, "kazawallet:b")
	assert.ErrorIs(t, err, inbox.ErrNotFound, "rolled back")

	// An entry that cannot be put (no ID): the key stays held.
	claim("kazawallet:c", "tc")
	bad := entry("c")
	bad.ID = ""
	_, handled, err = b.PutComplete(ctx, bad, store, "kazawallet:c", "tc", time.Hour)
	assert.Error(t, err)
	assert.True(t, handled)
	assert.Equal(t, idempotency.InFlight, keyState("kazawallet:c"), "rolled back: still claimed, not done")

	// Another file's store, and another kind of store: not handled.
	otherDB := openDB(t, filepath.Join(dir, "other.db"))
	otherStore, err := sqlitestore.New(otherDB)
	require.NoError(t, err)
	require.NoError(t, otherStore.Migrate(ctx))
	_, handled, err = b.PutComplete(ctx, entry("d"), otherStore, "kazawallet:d", "td", time.Hour)
	assert.NoError(t, err)
	assert.False(t, handled)
	_, handled, err = b.PutComplete(ctx, entry("d"), idempotency.NewMemory(), "kazawallet:d", "td", time.Hour)
	assert.NoError(t, err)
	assert.False(t, handled)
	_, err = b.Get(ctx, "kazawallet:d")
	assert.ErrorIs(t, err, inbox.ErrNotFound)
}

// TestCleanup deletes done entries past the retention, and keeps dead ones.
func TestCleanup(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, openDB(t, filepath.Join(t.TempDir(), "payhook.db")), sqliteinbox.WithDoneRetention(time.Nanosecond))
	for _, id := range []string{"ok", "bad"} {
		_, err := b.Put(ctx, inbox.Entry{ID: "test:" + id, Provider: "test", Key: id, Event: []byte(`{}`), MaxAttempts: 1})
		require.NoError(t, err)
	}
	cfg := inbox.RunConfig{Workers: 2, Backoff: func(int) time.Duration { return 0 }, Timeout: time.Second,
		Lease: time.Minute, ShutdownTimeout: time.Second}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	done := make(chan error, 1)
	go func() {
		done <- b.Run(runCtx, func(ctx context.Context, a inbox.Attempt) error {
			defer wg.Done()
			if a.Key == "bad" {
				return inbox.Permanent(fmt.Errorf("refused"))
			}
			return nil
		}, cfg)
	}()
	wg.Wait()
	stop()
	require.NoError(t, <-done)
	n, err := b.Cleanup(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	_, err = b.Get(ctx, "test:ok")
	assert.ErrorIs(t, err, inbox.ErrNotFound)
	info, err := b.Get(ctx, "test:bad")
	require.NoError(t, err)
	assert.Equal(t, inbox.Dead, info.State)
}

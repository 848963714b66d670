//go:build unix

package sqliteinbox_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/sqlitestore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/sqliteinbox"
	"github.com/payhook/payhook/internal/testsupport/inboxcrash"
	"github.com/payhook/payhook/providers/kazawallet"
)

// TestMain plays the application of TestKilledMidAttempt when the test
// binary is started as one: sqlitestore and this inbox on one file.
func TestMain(m *testing.M) {
	inboxcrash.Main(func(ctx context.Context, path string) (inboxcrash.App, error) {
		db, err := sqlitestore.OpenDB(path)
		if err != nil {
			return inboxcrash.App{}, err
		}
		store, err := sqlitestore.New(db)
		if err != nil {
			return inboxcrash.App{}, err
		}
		backend, err := sqliteinbox.New(db)
		if err != nil {
			return inboxcrash.App{}, err
		}
		if err := store.Migrate(ctx); err != nil {
			return inboxcrash.App{}, err
		}
		if err := backend.Migrate(ctx); err != nil {
			return inboxcrash.App{}, err
		}
		// The lease is the taker's: a killed process's attempts are taken
		// back 2 s after they started.
		return inboxcrash.App{Backend: backend, Store: store, Lease: 2 * time.Second, Timeout: time.Second,
			Close: func() { db.Close() }, Serve: serveKazawallet}, nil
	})
	os.Exit(m.Run())
}

// TestKilledMidAttempt: a process serving deliveries and running the
// inbox is killed with SIGKILL (inboxcrash.Run). The file is intact, every
// delivery it acknowledged is in the inbox with its key done, and a new
// process on the same file takes the abandoned attempts back after the
// lease and runs every entry to done, each once.
func TestKilledMidAttempt(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "payhook.db")
	inboxcrash.Run(t, inboxcrash.Test{
		DB: path,
		Open: func(t *testing.T) (inbox.Backend, idempotency.Store) {
			db := openDB(t, path)
			var integrity string
			require.NoError(t, db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity))
			assert.Equal(t, "ok", integrity)
			store, err := sqlitestore.New(db)
			require.NoError(t, err)
			return newBackend(t, db), store
		},
		Abandoned: "abandoned",
		Provider:  kazawallet.Name,
		Webhook:   webhook,
	})
}

// serveKazawallet is the crash test's application: Kazawallet deliveries
// through payhook.Handle with ib and store, whose func calls fn with the
// order id.
func serveKazawallet(ib *inbox.Inbox, store idempotency.Store, fn func(ctx context.Context, key string) error) (http.Handler, error) {
	kw, err := kazawallet.New(apiKey, apiSecret)
	if err != nil {
		return nil, err
	}
	return payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error { return fn(ctx, e.OrderID) },
		payhook.WithInbox(ib), payhook.WithStore(store)), nil
}

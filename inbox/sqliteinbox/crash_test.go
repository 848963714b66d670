//go:build unix

package sqliteinbox_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/sqlitestore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/internal/inboxcrash"
	"github.com/payhook/payhook/inbox/sqliteinbox"
)

const apiKey, apiSecret = inboxcrash.APIKey, inboxcrash.APISecret

var webhook = inboxcrash.Webhook

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
			Close: func() { db.Close() }}, nil
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
	})
}

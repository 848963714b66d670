//go:build unix

package riverinbox_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/pgstore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/internal/inboxcrash"
	"github.com/payhook/payhook/inbox/riverinbox"
)

// TestMain plays the application of TestKilledMidAttempt when the test
// binary is started as one: pgstore and this inbox in the test's schema.
func TestMain(m *testing.M) {
	inboxcrash.Main(func(ctx context.Context, schema string) (inboxcrash.App, error) {
		pool, err := pgxpool.New(ctx, os.Getenv("PAYHOOK_TEST_POSTGRES_URL"))
		if err != nil {
			return inboxcrash.App{}, err
		}
		store, err := pgstore.New(pool, pgstore.WithTable(schema+".payhook_idempotency"))
		if err != nil {
			pool.Close()
			return inboxcrash.App{}, err
		}
		backend, err := riverinbox.New(pool, riverinbox.WithSchema(schema), riverinbox.WithPollInterval(testPoll))
		if err != nil {
			pool.Close()
			return inboxcrash.App{}, err
		}
		// River's rescuer takes a killed process's attempts back 3 s after
		// they started.
		return inboxcrash.App{Backend: backend, Store: store, Lease: 3 * time.Second, Timeout: 2 * time.Second,
			Close: pool.Close}, nil
	})
	os.Exit(m.Run())
}

// TestKilledMidAttempt: a process serving deliveries and running the
// inbox is killed with SIGKILL (inboxcrash.Run). Every delivery it
// acknowledged is in the inbox with its key done; a new process on the
// same database has River rescue the abandoned attempts after the lease
// and runs every entry to done, each once.
func TestKilledMidAttempt(t *testing.T) {
	t.Parallel()
	b, store, _, schema := withStore(t)
	inboxcrash.Run(t, inboxcrash.Test{
		DB:        schema,
		Open:      func(*testing.T) (inbox.Backend, idempotency.Store) { return b, store },
		Abandoned: "Stuck job rescued",
	})
}

//go:build unix

package riverinbox_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/pgstore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/riverinbox"
	"github.com/payhook/payhook/internal/testsupport/inboxcrash"
	"github.com/payhook/payhook/providers/kazawallet"
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
			Close: pool.Close, Serve: serveKazawallet}, nil
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

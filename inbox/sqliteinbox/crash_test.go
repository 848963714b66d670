//go:build unix

package sqliteinbox_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/sqlitestore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/sqliteinbox"
	"github.com/payhook/payhook/internal/testserver"
	"github.com/payhook/payhook/providers/kazawallet"
)

// The crash test runs the test binary again as the application: a child
// whose mode is in childEnv serves Kazawallet webhooks with payhook.Handle
// on the SQLite inbox and sqlitestore, in the file of childDBEnv, and runs
// the inbox.
const (
	childEnv   = "SQLITEINBOX_TEST_CHILD"
	childDBEnv = "SQLITEINBOX_TEST_DB"
	apiKey     = "test_api_key"
	apiSecret  = "test_api_secret"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := child(mode, os.Getenv(childDBEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// webhook is a signed Kazawallet delivery of order id.
func webhook(id string) string {
	return `{"order_id":"` + id + `","amount":"10.00","status":"fulfilled","currency":"USD","ref":"r","secret":"` +
		kazawallet.Sign(apiKey, apiSecret, "10.00", id) + `"}`
}

// child is the application. Mode "block": every attempt hangs, printing
// "started ORDER" (the process is to be killed). Mode "work": every attempt
// succeeds, printing "done ORDER". In both, attempts time out after 1 s,
// and the attempts of a killed process are taken back 2 s after they
// started. It prints "listening ADDR" once it serves, and stops on
// SIGTERM.
func child(mode, path string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	db, err := sqlitestore.OpenDB(path)
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := sqlitestore.New(db)
	if err != nil {
		return err
	}
	backend, err := sqliteinbox.New(db)
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	if err := backend.Migrate(ctx); err != nil {
		return err
	}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	var ib *inbox.Inbox
	fn := func(ctx context.Context, e kazawallet.Event) error {
		say("done %s", e.OrderID)
		return nil
	}
	switch mode {
	case "block":
		// The lease is the taker's: a killed process's attempts are
		// taken back 2 s after they started.
		ib = inbox.New(backend, inbox.WithWorkers(4), inbox.WithLease(2*time.Second), inbox.WithTimeout(time.Second))
		fn = func(ctx context.Context, e kazawallet.Event) error {
			say("started %s", e.OrderID)
			select {} // hangs, deaf to its timeout, until the process is killed
		}
	case "work":
		ib = inbox.New(backend, inbox.WithWorkers(4), inbox.WithLease(2*time.Second),
			inbox.WithTimeout(time.Second), inbox.WithBackoff(0, 0))
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	kw, err := kazawallet.New(apiKey, apiSecret)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: payhook.Handle(kw, fn, payhook.WithInbox(ib), payhook.WithStore(store))}
	go srv.Serve(ln)
	defer srv.Close()
	say("listening %s", ln.Addr())
	return ib.Run(ctx)
}

// startChild runs the application in mode on path.
func startChild(t *testing.T, mode, path string) *testserver.Child {
	t.Helper()
	return testserver.StartChild(t, childEnv+"="+mode, childDBEnv+"="+path)
}

// TestKilledMidAttempt: a process serving deliveries and running the
// inbox is killed with SIGKILL while attempts run and deliveries arrive
// from six clients at once. The file is intact, and every delivery it
// acknowledged is in the inbox with its key done; a new process on the
// same file takes the abandoned attempts back after the lease and runs
// every entry to done, each once.
func TestKilledMidAttempt(t *testing.T) {
	t.Parallel()
	const orders = 60
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "payhook.db")

	first := startChild(t, "block", path)
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
		ids   = make(chan string)
	)
	for range 6 {
		wg.Go(func() {
			for id := range ids {
				res, err := http.Post("http://"+first.Addr+"/", "application/json", strings.NewReader(webhook(id)))
				if err != nil {
					continue // killed before it answered: not acknowledged
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		})
	}
	// Half the deliveries, then the kill once attempts have started, while
	// the other half are being delivered.
	for i := range orders / 2 {
		ids <- fmt.Sprintf("ord_%02d", i)
	}
	started := first.Next(t, time.Minute)
	require.True(t, strings.HasPrefix(started, "started "), started)
	for i := orders / 2; i < orders; i++ {
		ids <- fmt.Sprintf("ord_%02d", i)
		if i == orders*3/4 {
			require.NoError(t, first.Cmd.Process.Signal(syscall.SIGKILL))
		}
	}
	close(ids)
	wg.Wait()
	err := first.Cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal(), "killed, not exited")
	t.Logf("%d of %d deliveries acknowledged before and around the kill", len(acked), orders)
	require.GreaterOrEqual(t, len(acked), orders/2)

	db := openDB(t, path)
	var integrity string
	require.NoError(t, db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity))
	assert.Equal(t, "ok", integrity)
	b := newBackend(t, db)
	store, err := sqlitestore.New(db)
	require.NoError(t, err)
	for _, id := range acked {
		info, err := b.Get(ctx, "kazawallet:"+id)
		require.NoError(t, err, "the entry of acknowledged order %s", id)
		assert.NotEqual(t, inbox.Done, info.State)
		state, err := store.Claim(ctx, "kazawallet:"+id, idempotency.NewToken(), time.Minute)
		require.NoError(t, err)
		assert.Equal(t, idempotency.Done, state, "the key of acknowledged order %s", id)
	}
	entries, err := b.List(ctx, inbox.Filter{Limit: 1000})
	require.NoError(t, err)
	var running int
	for _, e := range entries {
		if e.State == inbox.Running {
			running++
		}
	}
	assert.Positive(t, running, "attempts were running when the process was killed")

	// A new process runs every entry, the abandoned ones after the lease.
	second := startChild(t, "work", path)
	done := map[string]int{}
	for len(done) < len(entries) {
		line := second.Next(t, time.Minute)
		id, ok := strings.CutPrefix(line, "done ")
		require.True(t, ok, line)
		done[id]++
	}
	require.NoError(t, second.Cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, second.Cmd.Wait(), "the second process stops gracefully")
	for _, e := range entries {
		assert.Equal(t, 1, done[e.Key], "runs of %s", e.ID)
		info, err := b.Get(ctx, e.ID)
		require.NoError(t, err)
		assert.Equal(t, inbox.Done, info.State, e.ID)
		if e.State == inbox.Running {
			assert.Equal(t, 2, info.Attempts, "%s: the killed attempt, then the one taken back", e.ID)
			assert.Contains(t, info.LastError(), "abandoned", e.ID)
		}
	}
	for line := range second.Rest() {
		t.Errorf("after every entry was done: %s", line)
	}
}

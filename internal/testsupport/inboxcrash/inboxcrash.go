//go:build unix

// Package inboxcrash is the crash test that the inbox backends on a
// database that several processes share (sqliteinbox, riverinbox) pass: a
// real process serving deliveries with payhook.Handle and running the
// inbox is killed with SIGKILL while attempts run and deliveries arrive
// from six clients; every delivery it acknowledged must be in the inbox
// with its key done, and a new process on the same database must take the
// abandoned attempts back after the lease and run every entry to done,
// each once.
//
// The test binary plays the application: its TestMain calls [Main] first,
// and the test calls [Run]. Like every package of internal/, it never
// imports the root package: the test gives it the provider's handler
// ([App.Serve]) and its deliveries ([Test.Webhook]).
package inboxcrash

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/internal/testsupport/testserver"
)

// The variables that make the test binary the application: its mode, and
// the database it opens (a file, a schema: the backend's to read).
const (
	modeEnv = "PAYHOOK_INBOXCRASH_MODE"
	dbEnv   = "PAYHOOK_INBOXCRASH_DB"
)

// App is what the application runs on.
type App struct {
	Backend inbox.Backend
	Store   idempotency.Store
	// Lease and Timeout are the inbox's: the attempts of a killed process
	// are taken back Lease after they started (on an engine whose lease is
	// the taker's, the killed process's own).
	Lease, Timeout time.Duration
	// Close, if not nil, is called when the application stops.
	Close func()
	// Serve returns the application's handler: payhook.Handle of the
	// provider of [Test.Webhook], with ib and store, whose func calls fn
	// with the event's key.
	Serve func(ib *inbox.Inbox, store idempotency.Store, fn func(ctx context.Context, key string) error) (http.Handler, error)
}

// Main plays the application if the test binary was started as one by
// [Run], and exits; otherwise it returns at once. Call it first in
// TestMain, with open making the App on the database named by the test.
func Main(open func(ctx context.Context, db string) (App, error)) {
	mode := os.Getenv(modeEnv)
	if mode == "" {
		return
	}
	if err := child(mode, os.Getenv(dbEnv), open); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// child is the application. Mode "block": every attempt hangs, deaf to its
// timeout, printing "started ORDER" (the process is to be killed). Mode
// "work": every attempt succeeds, printing "done ORDER". It prints
// "listening ADDR" once it serves, and stops on SIGTERM.
func child(mode, db string, open func(ctx context.Context, db string) (App, error)) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	app, err := open(ctx, db)
	if err != nil {
		return err
	}
	if app.Close != nil {
		defer app.Close()
	}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	fn := func(ctx context.Context, key string) error {
		say("done %s", key)
		return nil
	}
	switch mode {
	case "block":
		fn = func(ctx context.Context, key string) error {
			say("started %s", key)
			select {} // until the process is killed
		}
	case "work":
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	ib, err := inbox.New(app.Backend, inbox.WithWorkers(4), inbox.WithLease(app.Lease),
		inbox.WithTimeout(app.Timeout), inbox.WithBackoff(0, 0))
	if err != nil {
		return err
	}
	h, err := app.Serve(ib, app.Store, fn)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	defer srv.Close()
	say("listening %s", ln.Addr())
	return ib.Run(ctx)
}

// Test is one backend's crash test.
type Test struct {
	// DB names the database of the application's [App] (Main's open reads
	// it).
	DB string
	// Open returns the backend and the store on DB, once the first process
	// is killed.
	Open func(t *testing.T) (inbox.Backend, idempotency.Store)
	// Abandoned is in the error of an attempt taken back after the kill.
	Abandoned string
	// Provider is the name of the provider of Webhook, and Webhook a
	// delivery of it, signed, whose key is key.
	Provider string
	Webhook  func(key string) string
}

// Run runs the crash test.
func Run(t *testing.T, c Test) {
	const orders = 60
	ctx := context.Background()
	start := func(mode string) *testserver.Child {
		return testserver.StartChild(t, modeEnv+"="+mode, dbEnv+"="+c.DB)
	}

	first := start("block")
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
		ids   = make(chan string)
	)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				res, err := http.Post("http://"+first.Addr+"/", "application/json", strings.NewReader(c.Webhook(id)))
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
		}()
	}
	// Half the deliveries, then the kill once attempts have started, while
	// the other half are being delivered. The ids are new on a database
	// that other tests share.
	suffix := strings.ToLower(rand.Text()[:8])
	for i := range orders / 2 {
		ids <- fmt.Sprintf("ord_%s_%02d", suffix, i)
	}
	started := first.Next(t, time.Minute)
	require.True(t, strings.HasPrefix(started, "started "), started)
	for i := orders / 2; i < orders; i++ {
		ids <- fmt.Sprintf("ord_%s_%02d", suffix, i)
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

	// Every acknowledged delivery is there, with its key done.
	b, store := c.Open(t)
	for _, id := range acked {
		info, err := b.Get(ctx, c.Provider+":"+id)
		require.NoError(t, err, "the entry of acknowledged order %s", id)
		assert.NotEqual(t, inbox.Done, info.State)
		state, err := store.Claim(ctx, c.Provider+":"+id, idempotency.NewToken(), time.Minute)
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
	second := start("work")
	done := map[string]int{}
	for len(done) < len(entries) {
		line := second.Next(t, 2*time.Minute)
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
			assert.Contains(t, info.LastError(), c.Abandoned, e.ID)
		}
	}
	for line := range second.Rest() {
		t.Errorf("after every entry was done: %s", line)
	}
}

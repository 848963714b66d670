//go:build unix

package riverinbox_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/pgstore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/riverinbox"
	"github.com/payhook/payhook/internal/testserver"
	"github.com/payhook/payhook/providers/kazawallet"
)

// The crash test runs the test binary again as the application: a child
// whose mode is in childEnv serves Kazawallet webhooks with payhook.Handle
// on the River inbox and pgstore, and runs the inbox.
const (
	childEnv       = "RIVERINBOX_TEST_CHILD"
	childSchemaEnv = "RIVERINBOX_TEST_SCHEMA"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := child(mode, os.Getenv(childSchemaEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child is the application. Mode "block": every attempt hangs until it is
// canceled, printing "started ORDER" (the process is to be killed). Mode
// "work": every attempt succeeds, printing "done ORDER"; attempts time out
// after 2 s, and the attempts of a killed process are taken back 3 s after
// they started. It prints "listening ADDR" once it serves, and stops on
// SIGTERM.
func child(mode, schema string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	pool, err := pgxpool.New(ctx, os.Getenv("PAYHOOK_TEST_POSTGRES_URL"))
	if err != nil {
		return err
	}
	defer pool.Close()
	store, err := pgstore.New(pool, pgstore.WithTable(schema+".payhook_idempotency"))
	if err != nil {
		return err
	}
	backend, err := riverinbox.New(pool, riverinbox.WithSchema(schema), riverinbox.WithPollInterval(testPoll))
	if err != nil {
		return err
	}
	var (
		mu sync.Mutex
		ib *inbox.Inbox
	)
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	fn := func(ctx context.Context, e kazawallet.Event) error {
		say("done %s", e.OrderID)
		return nil
	}
	switch mode {
	case "block":
		ib = inbox.New(backend, inbox.WithWorkers(4))
		fn = func(ctx context.Context, e kazawallet.Event) error {
			say("started %s", e.OrderID)
			<-ctx.Done()
			return ctx.Err()
		}
	case "work":
		ib = inbox.New(backend, inbox.WithWorkers(4), inbox.WithLease(3*time.Second),
			inbox.WithTimeout(2*time.Second), inbox.WithBackoff(0, 0))
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

// startChild runs the application in mode on schema.
func startChild(t *testing.T, mode, schema string) *testserver.Child {
	t.Helper()
	return testserver.StartChild(t, childEnv+"="+mode, childSchemaEnv+"="+schema)
}

// TestKilledMidAttempt: a process serving deliveries and running the
// inbox is killed with SIGKILL while attempts run and deliveries arrive.
// Every delivery it acknowledged is in the inbox with its key done; a new
// process on the same database takes the abandoned attempts back after the
// lease and runs every entry to done, each once.
func TestKilledMidAttempt(t *testing.T) {
	t.Parallel()
	const orders = 60
	ctx := context.Background()
	b, store, _, schema := withStore(t)

	first := startChild(t, "block", schema)
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
		ids   = make(chan string)
	)
	suffix := strings.ToLower(rand.Text()[:8])
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
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
		}()
	}
	// Half the deliveries, then the kill once attempts have started, while
	// the other half are being delivered.
	for i := range orders / 2 {
		ids <- fmt.Sprintf("ord_%s_%02d", suffix, i)
	}
	started := first.Next(t, time.Minute)
	require.True(t, strings.HasPrefix(started, "started "), started)
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for i := orders / 2; i < orders; i++ {
			ids <- fmt.Sprintf("ord_%s_%02d", suffix, i)
			if i == orders*3/4 {
				assert.NoError(t, first.Cmd.Process.Signal(syscall.SIGKILL))
			}
		}
	}()
	<-killed
	close(ids)
	wg.Wait()
	first.Cmd.Wait()
	t.Logf("%d of %d deliveries acknowledged before and around the kill", len(acked), orders)
	require.GreaterOrEqual(t, len(acked), orders/2)

	// Every acknowledged delivery is there, with its key done.
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
	second := startChild(t, "work", schema)
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
			assert.Equal(t, 2, info.Attempts, "%s: the killed attempt, then the rescued one", e.ID)
			assert.Contains(t, info.LastError(), "Stuck job rescued", e.ID)
		}
	}
	for line := range second.Rest() {
		t.Errorf("after every entry was done: %s", line)
	}
}

package asynqinbox_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/idempotency/redisstore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/asynqinbox"
	"github.com/payhook/payhook/providers/kazawallet"
)

// The tests below run the inbox in other processes: the test binary run
// again, as the child that ASYNQINBOX_CHILD names, on the test's Redis and
// queue. A child says what it does in lines on its standard output.

// TestMain runs a child instead of the tests when ASYNQINBOX_CHILD says so.
func TestMain(m *testing.M) {
	switch os.Getenv("ASYNQINBOX_CHILD") {
	case "":
		os.Exit(m.Run())
	case "receiver":
		receiver()
	case "runner":
		runner()
	default:
		fmt.Fprintln(os.Stderr, "unknown ASYNQINBOX_CHILD")
		os.Exit(2)
	}
}

// childSetup opens the child's Redis and its inbox's backend.
func childSetup() (*redis.Client, *asynqinbox.Backend) {
	opts, err := redis.ParseURL(os.Getenv("PAYHOOK_TEST_REDIS_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	client := redis.NewClient(opts)
	return client, check(asynqinbox.New(client, quick(os.Getenv("ASYNQINBOX_QUEUE"))...))
}

// check returns v, or ends the child process if err is not nil.
func check[T any](v T, err error) T {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return v
}

// receiver is payhook.Handle with the inbox, served over HTTP, with one
// worker and a handler that hangs: it prints "listening ADDR", then
// "started ORDER" when an attempt begins, and never ends by itself.
func receiver() {
	client, b := childSetup()
	attempts, _ := strconv.Atoi(os.Getenv("ASYNQINBOX_ATTEMPTS"))
	ib := check(inbox.New(b, inbox.WithWorkers(1), inbox.WithBackoff(0, 0), inbox.WithMaxAttempts(attempts)))
	kw, _ := kazawallet.New(apiKey, apiSecret)
	h := payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		fmt.Println("started", e.OrderID)
		select {} // a handler that hangs, until the process is killed
	}, payhook.WithInbox(ib), payhook.WithLogger(quiet),
		payhook.WithStore(check(redisstore.New(client, redisstore.WithPrefix(os.Getenv("ASYNQINBOX_STORE_PREFIX"))))))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go http.Serve(ln, h)
	fmt.Println("listening", ln.Addr())
	ib.Run(context.Background())
}

// runner runs the inbox with four workers and a handler that records, in
// Redis, each run of each entry, which process ran it, and any entry it
// found running already; it prints "ready", then "stopped" once Run has
// returned after SIGTERM.
func runner() {
	client, b := childSetup()
	prefix := os.Getenv("ASYNQINBOX_STORE_PREFIX")
	pid := strconv.Itoa(os.Getpid())
	ib := check(inbox.New(b, inbox.WithWorkers(4), inbox.WithBackoff(0, 0)))
	ib.Handle("test", func(ctx context.Context, a inbox.Attempt) error {
		fresh, err := client.SetNX(ctx, prefix+"running:"+a.ID, pid, time.Minute).Result()
		if err != nil {
			return err
		}
		if !fresh {
			client.RPush(ctx, prefix+"overlaps", a.ID)
		}
		_, err = client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HIncrBy(ctx, prefix+"runs", a.ID, 1)
			p.HIncrBy(ctx, prefix+"by", pid, 1)
			p.Del(ctx, prefix+"running:"+a.ID)
			return nil
		})
		return err
	})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	fmt.Println("ready")
	if err := ib.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("stopped")
}

// child is a child process and the lines of its standard output.
type child struct {
	cmd   *exec.Cmd
	lines chan string
}

func startChild(t *testing.T, mode string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"ASYNQINBOX_CHILD=" + mode}, env...)...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childAttr()
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &child{cmd: cmd, lines: make(chan string, 64)}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.kill()
		}
	})
	return c
}

// expect waits for the child's next line, which must start with word, and
// returns the rest.
func (c *child) expect(t *testing.T, word string) string {
	t.Helper()
	select {
	case line, ok := <-c.lines:
		require.True(t, ok, "the child ended before saying %q", word)
		rest, found := strings.CutPrefix(line, word+" ")
		if !found {
			rest, found = strings.CutPrefix(line, word)
		}
		require.True(t, found, "the child said %q, want %q", line, word)
		return rest
	case <-time.After(time.Minute):
		t.Fatalf("the child did not say %q within a minute", word)
		return ""
	}
}

// kill kills the child with SIGKILL and waits for it.
func (c *child) kill() {
	c.cmd.Process.Kill()
	for range c.lines { // until its output is closed
	}
	c.cmd.Wait()
}

// within polls cond, every 100ms, for another process to have done
// something, until d has passed.
func within(t *testing.T, d time.Duration, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, d, 100*time.Millisecond, msg)
}

// TestKilledReceiver kills, with SIGKILL, a process running payhook.Handle
// with this inbox while its handler hangs in an attempt. Every delivery it
// acknowledged is in Redis after the kill, and another process runs them,
// the abandoned entry once asynq's lease on it has run out (a minute or
// two). With one attempt allowed, the abandoned attempt was the last: the
// entry is dead, and ReplayDead delivers it.
func TestKilledReceiver(t *testing.T) {
	for _, tt := range []struct {
		name     string
		attempts int
	}{{"retried after the lease", 2}, {"dead: the abandoned attempt was the last", 1}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			killedReceiver(t, tt.attempts)
		})
	}
}

func killedReceiver(t *testing.T, attempts int) {
	ctx := context.Background()
	queue, prefix := freshQueue(), "test:"+rand.Text()+":"
	c := startChild(t, "receiver", "PAYHOOK_TEST_REDIS_URL="+redisURL(t), "ASYNQINBOX_QUEUE="+queue,
		"ASYNQINBOX_STORE_PREFIX="+prefix, "ASYNQINBOX_ATTEMPTS="+strconv.Itoa(attempts))
	url := "http://" + c.expect(t, "listening") + "/webhooks/kazawallet"
	orders := map[string]kazawallet.Event{}
	for range 5 {
		e := order()
		res := deliver.Send(http.DefaultTransport, sender.Request(url, e), sender.Policy())
		require.True(t, res.Acknowledged(), "%v", res)
		require.Equal(t, "accepted\n", res.Last().Body)
		orders[e.OrderID] = e
	}
	hung := c.expect(t, "started")
	require.Contains(t, orders, hung)
	c.kill()

	// Every acknowledged delivery survived the kill.
	client := newClient(t)
	ib, err := inbox.New(newBackend(t, client, quick(queue)...), inbox.WithBackoff(0, 0), inbox.WithMaxAttempts(attempts))
	require.NoError(t, err)
	for id, e := range orders {
		info, err := ib.Get(ctx, entryID(e))
		require.NoError(t, err, "order %s was acknowledged", id)
		if id == hung {
			assert.Equal(t, inbox.Running, info.State, "until asynq's lease on it runs out")
			assert.Equal(t, 1, info.Attempts)
		} else {
			assert.Equal(t, inbox.Pending, info.State)
		}
	}

	// Another process runs them.
	a := newApp()
	payhook.Handle(newKazawallet(t), a.handle, payhook.WithInbox(ib), payhook.WithLogger(quiet),
		payhook.WithStore(newStore(t, client, prefix)))
	running(t, ib)
	want := inbox.Done
	if attempts == 1 {
		want = inbox.Dead
	}
	var info inbox.Info
	within(t, 3*time.Minute, func() bool {
		info, _ = ib.Get(ctx, entryID(orders[hung]))
		return info.State == want
	}, "the abandoned entry is taken again after its lease")
	require.NotEmpty(t, info.Errors)
	assert.Equal(t, 1, info.Errors[0].Attempt)
	assert.Contains(t, info.Errors[0].Error, "abandoned")
	for id, e := range orders {
		if id != hung {
			eventually(t, ib, entryID(e), inbox.Done)
			assert.Equal(t, 1, a.count(e), "order %s processed once", id)
		}
	}
	if attempts == 1 {
		assert.Equal(t, 1, info.Attempts)
		assert.Equal(t, 0, a.count(orders[hung]), "its last attempt was abandoned: it is not run again")
		ids, err := ib.ReplayDead(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{entryID(orders[hung])}, ids)
		info = eventually(t, ib, entryID(orders[hung]), inbox.Done)
	}
	assert.Equal(t, 2, info.Attempts)
	assert.Equal(t, 1, a.count(orders[hung]), "the abandoned entry processed once")
}

// TestTwoProcesses runs one inbox in two processes: each of many entries
// is run once, by one of them, never by both at once; both stop
// gracefully on SIGTERM.
func TestTwoProcesses(t *testing.T) {
	ctx := context.Background()
	queue, prefix := freshQueue(), "test:"+rand.Text()+":"
	env := []string{"PAYHOOK_TEST_REDIS_URL=" + redisURL(t), "ASYNQINBOX_QUEUE=" + queue, "ASYNQINBOX_STORE_PREFIX=" + prefix}
	children := []*child{startChild(t, "runner", env...), startChild(t, "runner", env...)}
	for _, c := range children {
		c.expect(t, "ready")
	}
	client := newClient(t)
	ib, err := inbox.New(newBackend(t, client, quick(queue)...))
	require.NoError(t, err)
	const n = 300
	t0 := time.Now()
	for i := range n {
		_, err := ib.Put(ctx, entry("e"+strconv.Itoa(i)))
		require.NoError(t, err)
	}
	within(t, time.Minute, func() bool {
		stats, err := ib.Stats(ctx)
		return err == nil && len(stats) == 1 && stats[0].State == inbox.Done && stats[0].N == n
	}, "every entry done")
	t.Logf("%d entries put and run by two processes in %v", n, time.Since(t0))
	for _, c := range children {
		require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	}
	for _, c := range children {
		c.expect(t, "stopped")
		for range c.lines {
		}
		require.NoError(t, c.cmd.Wait(), "a graceful shutdown")
	}

	runs, err := client.HGetAll(ctx, prefix+"runs").Result()
	require.NoError(t, err)
	assert.Len(t, runs, n)
	for id, count := range runs {
		assert.Equal(t, "1", count, "%s run once", id)
	}
	overlaps, err := client.LRange(ctx, prefix+"overlaps", 0, -1).Result()
	require.NoError(t, err)
	assert.Empty(t, overlaps, "entries run by both processes at once")
	by, err := client.HGetAll(ctx, prefix+"by").Result()
	require.NoError(t, err)
	t.Logf("entries run by each process: %v", by)
}

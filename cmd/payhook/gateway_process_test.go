//go:build unix

package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/internal/testsupport/testserver"
)

// The proofs of payhook serve as a gateway, with real processes: the
// payhook binary, built once, forwarding to an application in the test
// process (forwardApp), on each backend of PAYHOOK_STORE. The variables
// keep the timings small: an attempt is bounded by PAYHOOK_FORWARD_TIMEOUT
// and a killed process's attempt is retried after twice that and a
// second; PostgreSQL (River's rescuer) and Redis (asynq's recoverer) add
// their engines' own delays, up to a minute or two.

// gatewayBackend is one backend of PAYHOOK_STORE.
type gatewayBackend struct {
	name string
	// store returns a fresh PAYHOOK_STORE of the backend, for one test.
	store func(t *testing.T) string
	// durable: it survives serve's restart, and payhook inbox operates it.
	durable bool
	// shared: several serve processes may share it.
	shared bool
}

var gatewayBackends = []gatewayBackend{
	{name: "memory", store: func(*testing.T) string { return "memory" }},
	{name: "sqlite", durable: true, store: func(t *testing.T) string {
		return "sqlite:" + filepath.Join(t.TempDir(), "payhook.db")
	}},
	{name: "postgres", durable: true, shared: true, store: freshPostgres},
	{name: "redis", durable: true, shared: true, store: freshRedis},
}

// freshPostgres creates a database of its own for the test on the test
// server, dropped when the test ends.
func freshPostgres(t *testing.T) string {
	base := testserver.URL(t, "PAYHOOK_TEST_POSTGRES_URL")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	require.NoError(t, err)
	defer conn.Close(ctx)
	name := "payhook_gw_" + strings.ToLower(rand.Text()[:10])
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err == nil {
			conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
			conn.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

// redisDBs hands each Redis test a database of its own (1 to 15, flushed).
var redisDBs atomic.Int32

func freshRedis(t *testing.T) string {
	base := testserver.URL(t, "PAYHOOK_TEST_REDIS_URL")
	n := (redisDBs.Add(1)-1)%15 + 1 // fewer than 15 run at once
	u, err := url.Parse(base)
	require.NoError(t, err)
	u.Path = fmt.Sprintf("/%d", n)
	opts, err := redis.ParseURL(u.String())
	require.NoError(t, err)
	client := redis.NewClient(opts)
	defer client.Close()
	require.NoError(t, client.FlushDB(context.Background()).Err())
	return u.String()
}

// gatewayEnv is serve's environment for a gateway to app on store.
func gatewayEnv(app *forwardApp, store string, extra ...string) []string {
	return append([]string{
		"PAYHOOK_ADDR=127.0.0.1:0", "PAYHOOK_ADMIN_ADDR=127.0.0.1:0", "PAYHOOK_STORE=" + store,
		"KAZAWALLET_API_KEY=test_api_key", "KAZAWALLET_API_SECRET=test_api_secret",
		"PAYHOOK_FORWARD_URL=" + app.srv.URL, "PAYHOOK_FORWARD_SECRET=" + app.secret,
		"PAYHOOK_FORWARD_TIMEOUT=2s", "PAYHOOK_INBOX_BACKOFF=20ms", "PAYHOOK_RATE_LIMIT=off",
	}, extra...)
}

// deliverOrder posts order's Kazawallet webhook to serve at addr, and reports
// whether it was acknowledged (200).
func deliverOrder(t *testing.T, addr, order string) bool {
	t.Helper()
	res, err := http.Post("http://"+addr+"/webhooks/kazawallet", "application/json", strings.NewReader(kazawalletWebhook(order, "10.00")))
	if err != nil {
		return false // killed before it answered
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// inboxCLI runs payhook inbox args on store and returns its stdout; it
// fails the test if the command fails.
func inboxCLI(t *testing.T, bin, store string, args ...string) string {
	t.Helper()
	out, err := runCLI(bin, store, "inbox", args...)
	require.NoError(t, err, "payhook inbox %s: %s", strings.Join(args, " "), out)
	return out
}

// runCLI runs payhook command args on store (an operator's command:
// inbox, expect), with none of the test's own PAYHOOK_ variables, and
// returns its stdout, with its stderr after it when it fails.
func runCLI(bin, store, command string, args ...string) (string, error) {
	cmd := exec.Command(bin, append([]string{command}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PAYHOOK_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PAYHOOK_STORE="+store)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

// listed is one line of payhook inbox list.
type listed struct {
	ID, Provider, Key, State string
	Attempts                 int
	LastError                string `json:"last_error"`
	Errors                   []struct{ Error string }
}

func listInbox(t *testing.T, bin, store string, args ...string) map[string]listed {
	t.Helper()
	out := inboxCLI(t, bin, store, append([]string{"list"}, args...)...)
	entries := map[string]listed{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var e listed
		require.NoError(t, json.Unmarshal([]byte(line), &e), line)
		entries[e.ID] = e
	}
	return entries
}

// waitListed polls payhook inbox list (another process) until cond holds.
func waitListed(t *testing.T, bin, store string, timeout time.Duration, what string, cond func(map[string]listed) bool, args ...string) map[string]listed {
	t.Helper()
	return pollUntil(t, timeout, what, "payhook inbox list", func() map[string]listed { return listInbox(t, bin, store, args...) }, cond)
}

// pollUntil reads what another process shows (list, named name) until
// cond holds, and fails the test after timeout.
func pollUntil[T any](t *testing.T, timeout time.Duration, what, name string, list func() T, cond func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := list()
		if cond(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; %s: %+v", what, timeout, name, got)
		}
		time.Sleep(100 * time.Millisecond) // another process: polled
	}
}

// TestGatewayKilledMidForward is issue 11's and 12's crash proof, on each
// durable backend: payhook serve forwards to an application that is slow
// to answer, and is killed with SIGKILL while forwards hang; started again
// on the same store, it forwards every event it acknowledged, the one that
// was in flight included, and new ones. The application verifies every
// request's signature and sees each event under one webhook-id.
func TestGatewayKilledMidForward(t *testing.T) {
	bin := buildPayhook(t)
	for _, b := range gatewayBackends {
		if !b.durable {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			store, dir := b.store(t), t.TempDir()
			app := newForwardApp(t)
			var slow atomic.Bool
			slow.Store(true)
			app.script(func(r *http.Request, id string, n int) int {
				if slow.Load() {
					<-r.Context().Done() // slow: still answering when serve dies
					return http.StatusServiceUnavailable
				}
				return 0
			})
			first, _ := startBinary(t, bin, dir, gatewayEnv(app, store)...)
			var acked []string
			for i := range 10 {
				if order := fmt.Sprintf("ord_kill_%02d", i); deliverOrder(t, first.addr, order) {
					acked = append(acked, order)
				}
			}
			require.Len(t, acked, 10, "every delivery acknowledged before the kill")
			app.waitFor(t, time.Minute, "a forward in flight", func() bool { return len(app.requests) > 0 })
			first.kill(t)
			inFlight := map[string]bool{}
			app.mu.Lock()
			for id := range app.requests {
				inFlight[id] = true
			}
			app.mu.Unlock()
			slow.Store(false)

			second, _ := startBinary(t, bin, dir, gatewayEnv(app, store)...)
			for i := range 5 {
				order := fmt.Sprintf("ord_after_%02d", i)
				require.True(t, deliverOrder(t, second.addr, order))
				acked = append(acked, order)
			}
			assert.True(t, deliverOrder(t, second.addr, acked[0]), "a retried delivery is acknowledged")
			app.waitTaken(t, 4*time.Minute, acked)
			require.Nil(t, second.stop(t, syscall.SIGTERM), "a graceful shutdown")

			app.mu.Lock()
			defer app.mu.Unlock()
			assert.Len(t, app.processed, len(acked), "the app's dedupe lets each event through once: %v", app.processed)
			for _, order := range acked {
				id := "kazawallet:" + order
				var rec printedLine
				require.NoError(t, json.Unmarshal([]byte(app.bodies[id]), &rec))
				assert.Equal(t, order, rec.Key, "the body is the record serve prints")
				assert.Equal(t, "kazawallet", rec.Provider)
				assert.Equal(t, order, rec.Event["order_id"])
			}
			for id := range inFlight {
				assert.GreaterOrEqual(t, app.requests[id], 2, "%s, in flight at the kill, forwarded again", id)
			}
			lines := readLines(t, second.stdout.String())
			assert.GreaterOrEqual(t, len(lines), len(inFlight), "the restarted serve prints what the app took")
			assert.NotContains(t, first.stderr.String()+second.stderr.String(), app.secret)
		})
	}
}

// TestGatewayRetries is issue 11's retry proof, on every backend: an app
// that fails an event twice then takes it (the attempts are recorded), and
// an app that fails an event until it is fixed: dead after
// PAYHOOK_INBOX_ATTEMPTS, then delivered by payhook inbox replay --dead.
// The memory inbox, which payhook inbox cannot reach, shows the first part
// through the app alone.
func TestGatewayRetries(t *testing.T) {
	bin := buildPayhook(t)
	for _, b := range gatewayBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			store := b.store(t)
			app := newForwardApp(t)
			var fixed atomic.Bool
			app.script(func(r *http.Request, id string, n int) int {
				switch {
				case id == "kazawallet:ord_flaky" && n <= 2:
					return http.StatusInternalServerError
				case id == "kazawallet:ord_broken" && !fixed.Load():
					return http.StatusBadGateway
				}
				return 0
			})
			serve, _ := startBinary(t, bin, t.TempDir(), gatewayEnv(app, store, "PAYHOOK_INBOX_ATTEMPTS=3")...)
			require.True(t, deliverOrder(t, serve.addr, "ord_flaky"))
			app.waitFor(t, time.Minute, "the flaky event taken on its third attempt", func() bool {
				return app.taken["kazawallet:ord_flaky"] == 1
			})
			requests, _ := app.counts("kazawallet:ord_flaky")
			assert.Equal(t, 3, requests)
			serve.stdout.waitFor(t, 10*time.Second, func(out string) bool { return strings.Contains(out, `"key":"ord_flaky"`) })
			if !b.durable {
				_, err := runCLI(bin, store, "inbox", "list")
				assert.ErrorContains(t, err, "exit status 1")
				return
			}
			// The app has taken it; the engine records the attempt's end a
			// moment later (River completes jobs in batches).
			flaky := waitListed(t, bin, store, 30*time.Second, "the flaky event done", func(es map[string]listed) bool {
				return es["kazawallet:ord_flaky"].State == "done"
			})["kazawallet:ord_flaky"]
			assert.Equal(t, 3, flaky.Attempts, "its attempts are recorded")
			assert.Empty(t, flaky.LastError, "done: its last attempt succeeded")
			if assert.NotEmpty(t, flaky.Errors, "the failed attempts, as history (a backend may keep only the last)") {
				assert.Contains(t, flaky.Errors[len(flaky.Errors)-1].Error, "application answered 500")
			}

			require.True(t, deliverOrder(t, serve.addr, "ord_broken"))
			dead := waitListed(t, bin, store, time.Minute, "the broken event dead", func(es map[string]listed) bool {
				return es["kazawallet:ord_broken"].State == "dead"
			}, "--dead")
			assert.Len(t, dead, 1, "only the broken event is dead")
			assert.Equal(t, 3, dead["kazawallet:ord_broken"].Attempts, "dead after PAYHOOK_INBOX_ATTEMPTS")
			assert.Contains(t, dead["kazawallet:ord_broken"].LastError, "application answered 502")
			requests, taken := app.counts("kazawallet:ord_broken")
			assert.Equal(t, 3, requests)
			assert.Zero(t, taken)

			fixed.Store(true)
			out := inboxCLI(t, bin, store, "replay", "--dead")
			assert.Equal(t, "replayed kazawallet:ord_broken\n", out)
			app.waitFor(t, time.Minute, "the replayed event taken", func() bool { return app.taken["kazawallet:ord_broken"] == 1 })
			waitListed(t, bin, store, time.Minute, "the replayed entry done", func(es map[string]listed) bool {
				e := es["kazawallet:ord_broken"]
				return e.State == "done" && e.Attempts == 4
			})
			assert.Empty(t, listInbox(t, bin, store, "--dead"))
			require.Nil(t, serve.stop(t, syscall.SIGTERM), "a graceful shutdown")
		})
	}
}

// TestGatewayReplicas is issue 11's concurrency proof: two payhook serve
// processes on one PostgreSQL, and on one Redis, forwarding many events
// delivered to either: each is forwarded once, and completed.
func TestGatewayReplicas(t *testing.T) {
	bin := buildPayhook(t)
	for _, b := range gatewayBackends {
		if !b.shared {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			const events = 60
			store := b.store(t)
			app := newForwardApp(t)
			var replicas []*process
			for range 2 {
				p, _ := startBinary(t, bin, t.TempDir(), gatewayEnv(app, store)...)
				replicas = append(replicas, p)
			}
			var wg sync.WaitGroup
			for i := range events {
				wg.Go(func() {
					assert.True(t, deliverOrder(t, replicas[i%2].addr, fmt.Sprintf("ord_rep_%02d", i)))
				})
			}
			wg.Wait()
			app.waitFor(t, 2*time.Minute, "every event taken", func() bool { return len(app.taken) == events })
			entries := waitListed(t, bin, store, time.Minute, "every entry done", func(es map[string]listed) bool {
				for _, e := range es {
					if e.State != "done" {
						return false
					}
				}
				return len(es) == events
			})
			for _, p := range replicas {
				require.Nil(t, p.stop(t, syscall.SIGTERM), "a graceful shutdown")
			}
			app.mu.Lock()
			defer app.mu.Unlock()
			for id, n := range app.requests {
				assert.Equal(t, 1, n, "%s forwarded once", id)
			}
			for id, e := range entries {
				assert.Equal(t, 1, e.Attempts, id)
			}
			printed := len(readLines(t, replicas[0].stdout.String())) + len(readLines(t, replicas[1].stdout.String()))
			assert.Equal(t, events, printed, "each event printed once, by one of the replicas")
		})
	}
}

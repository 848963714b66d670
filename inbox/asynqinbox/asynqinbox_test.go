package asynqinbox_test

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency/redisstore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/asynqinbox"
	"github.com/payhook/payhook/inbox/inboxtest"
	"github.com/payhook/payhook/internal/testsupport/testserver"
)

// redisURL is the test server's URL, which scripts/test sets.
func redisURL(t testing.TB) string { return testserver.URL(t, "PAYHOOK_TEST_REDIS_URL") }

// newClient returns a client of the test server, closed when the test ends.
func newClient(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(redisURL(t))
	require.NoError(t, err)
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	return client
}

// freshQueue returns a queue no other test uses: the server outlives a test.
func freshQueue() string { return "test-" + rand.Text() }

// quick are the options of the tests' backends: their own queue, and polls
// fast enough for a test to wait milliseconds rather than seconds.
func quick(queue string) []asynqinbox.Option {
	return []asynqinbox.Option{
		asynqinbox.WithQueue(queue),
		asynqinbox.WithPollInterval(20 * time.Millisecond),
		asynqinbox.WithRetryPollInterval(20 * time.Millisecond),
		asynqinbox.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	}
}

// newInbox returns an inbox on a backend of its own queue that retries at
// once, and its backend.
func newInbox(t testing.TB, client redis.UniversalClient, opts ...inbox.Option) (*inbox.Inbox, *asynqinbox.Backend) {
	b := newBackend(t, client, quick(freshQueue())...)
	ib, err := inbox.New(b, append([]inbox.Option{inbox.WithBackoff(0, 0)}, opts...)...)
	require.NoError(t, err)
	return ib, b
}

// newBackend returns the backend New makes, failing the test if New fails.
func newBackend(t testing.TB, client redis.UniversalClient, opts ...asynqinbox.Option) *asynqinbox.Backend {
	t.Helper()
	b, err := asynqinbox.New(client, opts...)
	require.NoError(t, err)
	return b
}

// newStore returns a redisstore under prefix, failing the test if New
// fails.
func newStore(t testing.TB, client redis.UniversalClient, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(client, redisstore.WithPrefix(prefix))
	require.NoError(t, err)
	return s
}

// running runs ib until the test ends.
func running(t *testing.T, ib *inbox.Inbox) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ib.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
}

// eventually waits for an entry to reach state, and returns it.
func eventually(t *testing.T, ib *inbox.Inbox, id string, state inbox.State) inbox.Info {
	t.Helper()
	var info inbox.Info
	require.Eventually(t, func() bool {
		var err error
		info, err = ib.Get(context.Background(), id)
		return err == nil && info.State == state
	}, 30*time.Second, 5*time.Millisecond, "%s %s, want %s", id, info.State, state)
	return info
}

func entry(id string) inbox.Entry {
	return inbox.Entry{ID: "test:" + id, Provider: "test", Key: id, Event: []byte(`{"id":"` + id + `"}`)}
}

func TestConformance(t *testing.T) {
	inboxtest.Run(t, func(t *testing.T) inboxtest.Harness {
		q := freshQueue()
		return inboxtest.Harness{
			Backend: newBackend(t, newClient(t), quick(q)...),
			Reopen:  func() (inbox.Backend, error) { return asynqinbox.New(newClient(t), quick(q)...) },
		}
	})
}

// TestQueuesAreApart runs two inboxes on one Redis: the same ID is a new
// entry in each, and each runs only its own.
func TestQueuesAreApart(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	a, _ := newInbox(t, client)
	b, _ := newInbox(t, client)
	e := entry("shared")
	for _, ib := range []*inbox.Inbox{a, b} {
		added, err := ib.Put(ctx, e)
		require.NoError(t, err)
		assert.True(t, added, "the same ID in another queue is another entry")
	}
	ran := make(chan string, 2)
	a.Handle("test", func(ctx context.Context, at inbox.Attempt) error { ran <- "a"; return nil })
	b.Handle("test", func(ctx context.Context, at inbox.Attempt) error { ran <- "b"; return nil })
	running(t, a)
	assert.Equal(t, "a", <-ran)
	eventually(t, a, e.ID, inbox.Done)
	info, err := b.Get(ctx, e.ID)
	require.NoError(t, err)
	assert.Equal(t, inbox.Pending, info.State, "a's Run leaves b's entries alone")
	assert.Empty(t, ran)
}

// TestDoneEntryDedupesThenReplays: a done entry still refuses its ID for
// the retention, and Replay runs it again with its attempts granted again.
func TestDoneEntryDedupesThenReplays(t *testing.T) {
	ctx := context.Background()
	ib, _ := newInbox(t, newClient(t), inbox.WithMaxAttempts(2))
	e := entry("done")
	runs := make(chan int, 4)
	ib.Handle("test", func(ctx context.Context, a inbox.Attempt) error { runs <- a.N; return nil })
	_, err := ib.Put(ctx, e)
	require.NoError(t, err)
	running(t, ib)
	assert.Equal(t, 1, <-runs)
	info := eventually(t, ib, e.ID, inbox.Done)
	assert.Equal(t, 1, info.Attempts)
	assert.False(t, info.UpdatedAt.IsZero())

	added, err := ib.Put(ctx, e)
	require.NoError(t, err)
	assert.False(t, added, "a done entry's ID is refused for the retention")

	require.NoError(t, ib.Replay(ctx, e.ID))
	assert.Equal(t, 2, <-runs)
	info = eventually(t, ib, e.ID, inbox.Done)
	assert.Equal(t, 2, info.Attempts)
	assert.Equal(t, 3, info.MaxAttempts, "the attempt it had, and the 2 it was put with")
}

// TestReplayedEntryGetsItsAttemptsAgain: a replayed entry that keeps
// failing is retried as many times as it was put with, then dead again,
// with every attempt's error kept.
func TestReplayedEntryGetsItsAttemptsAgain(t *testing.T) {
	ctx := context.Background()
	ib, _ := newInbox(t, newClient(t), inbox.WithMaxAttempts(2))
	e := entry("again")
	var mu sync.Mutex
	var seen []int
	ib.Handle("test", func(ctx context.Context, a inbox.Attempt) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, a.N)
		return errors.New("app down " + strconv.Itoa(a.N))
	})
	_, err := ib.Put(ctx, e)
	require.NoError(t, err)
	running(t, ib)
	eventually(t, ib, e.ID, inbox.Dead)
	require.NoError(t, ib.Replay(ctx, e.ID))
	info := eventually(t, ib, e.ID, inbox.Dead)
	mu.Lock()
	assert.Equal(t, []int{1, 2, 3, 4}, seen)
	mu.Unlock()
	assert.Equal(t, 4, info.Attempts)
	require.Len(t, info.Errors, 4)
	for i, ae := range info.Errors {
		assert.Equal(t, i+1, ae.Attempt)
		assert.Equal(t, "app down "+strconv.Itoa(i+1), ae.Error)
	}
}

// TestTrimmedDeadEntryIsKept has asynq trim a dead entry from its archive,
// as it does with archived tasks older than 90 days: the entry stays dead,
// listed, counted, and can be replayed or discarded.
func TestTrimmedDeadEntryIsKept(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	ib, b := newInbox(t, client, inbox.WithMaxAttempts(1))
	old, other, last := entry("old"), entry("other"), entry("last")
	var fail sync.Map
	ib.Handle("test", func(ctx context.Context, a inbox.Attempt) error {
		if _, ok := fail.Load(a.ID); ok {
			return errors.New("app down")
		}
		return nil
	})
	for _, e := range []inbox.Entry{old, other, last} {
		fail.Store(e.ID, true)
	}
	for _, e := range []inbox.Entry{old, other} {
		_, err := ib.Put(ctx, e)
		require.NoError(t, err)
	}
	running(t, ib)
	eventually(t, ib, old.ID, inbox.Dead)
	eventually(t, ib, other.ID, inbox.Dead)

	// Age the two archived tasks past asynq's 90 days; the next task that
	// dies makes asynq delete them.
	archived := "asynq:{" + b.Queue() + "}:archived"
	require.NoError(t, client.ZAdd(ctx, archived, redis.Z{Score: 1, Member: old.ID}, redis.Z{Score: 1, Member: other.ID}).Err())
	_, err := ib.Put(ctx, last)
	require.NoError(t, err)
	eventually(t, ib, last.ID, inbox.Dead)
	inspector := asynq.NewInspectorFromRedisClient(client)
	for _, e := range []inbox.Entry{old, other} {
		_, err := inspector.GetTaskInfo(b.Queue(), e.ID)
		require.ErrorIs(t, err, asynq.ErrTaskNotFound, "asynq trimmed %s", e.ID)
	}

	info, err := ib.Get(ctx, old.ID)
	require.NoError(t, err)
	assert.Equal(t, inbox.Dead, info.State)
	assert.Equal(t, old.Event, info.Event)
	assert.Equal(t, 1, info.Attempts)
	assert.Equal(t, "app down", info.LastError())
	dead, err := ib.List(ctx, inbox.Filter{State: inbox.Dead})
	require.NoError(t, err)
	var ids []string
	for _, d := range dead {
		ids = append(ids, d.ID)
	}
	assert.Equal(t, []string{old.ID, other.ID, last.ID}, ids, "oldest first, trimmed or not")
	stats, err := ib.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, []inbox.Stat{{Provider: "test", State: inbox.Dead, N: 3}}, stats)

	require.NoError(t, ib.Discard(ctx, other.ID))
	_, err = ib.Get(ctx, other.ID)
	assert.ErrorIs(t, err, inbox.ErrNotFound)

	fail.Delete(old.ID)
	require.NoError(t, ib.Replay(ctx, old.ID), "put again from its copy")
	info = eventually(t, ib, old.ID, inbox.Done)
	assert.Equal(t, 2, info.Attempts)
	assert.Equal(t, 2, info.MaxAttempts)
	dead, err = ib.List(ctx, inbox.Filter{State: inbox.Dead})
	require.NoError(t, err)
	require.Len(t, dead, 1)
	assert.Equal(t, last.ID, dead[0].ID)
}

// TestErrorsAreCapped keeps the errors of the last 50 attempts, each cut.
func TestErrorsAreCapped(t *testing.T) {
	ctx := context.Background()
	ib, _ := newInbox(t, newClient(t), inbox.WithMaxAttempts(52))
	e := entry("capped")
	huge := strings.Repeat("x", 20<<10)
	ib.Handle("test", func(ctx context.Context, a inbox.Attempt) error {
		return errors.New(strconv.Itoa(a.N) + huge)
	})
	_, err := ib.Put(ctx, e)
	require.NoError(t, err)
	running(t, ib)
	info := eventually(t, ib, e.ID, inbox.Dead)
	assert.Equal(t, 52, info.Attempts)
	require.Len(t, info.Errors, 50)
	assert.Equal(t, 3, info.Errors[0].Attempt, "the oldest are dropped")
	assert.Equal(t, 52, info.Errors[49].Attempt)
	assert.Less(t, len(info.LastError()), 9<<10)
	assert.Contains(t, info.LastError(), "[cut]")
}

func TestPutRefusesAnEntryWithoutIDOrProvider(t *testing.T) {
	b := newBackend(t, newClient(t), quick(freshQueue())...)
	for _, e := range []inbox.Entry{{Provider: "test"}, {ID: "test:1"}} {
		_, err := b.Put(context.Background(), e)
		assert.Error(t, err)
	}
}

func TestRunFailsWithoutRedis(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + testserver.FreePort(t), DialerRetries: 1, MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	err := newBackend(t, client).Run(context.Background(), func(context.Context, inbox.Attempt) error { return nil }, inbox.RunConfig{})
	assert.ErrorContains(t, err, "asynqinbox: run: ")
}

// TestNewRefusesUnusableValues: a nil client, and options given values
// they cannot use, make New fail with payhook.ErrConfig.
func TestNewRefusesUnusableValues(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { client.Close() })
	for name, opt := range map[string]asynqinbox.Option{
		"WithQueue(blank)":                asynqinbox.WithQueue(" "),
		"WithQueue(braces)":               asynqinbox.WithQueue("a}b"),
		"WithDoneRetention(0)":            asynqinbox.WithDoneRetention(0),
		"WithDoneRetention(below 1s)":     asynqinbox.WithDoneRetention(time.Millisecond),
		"WithPollInterval(0)":             asynqinbox.WithPollInterval(0),
		"WithPollInterval(below 1ms)":     asynqinbox.WithPollInterval(time.Microsecond),
		"WithRetryPollInterval(negative)": asynqinbox.WithRetryPollInterval(-time.Second),
		"WithLogger(nil)":                 asynqinbox.WithLogger(nil),
	} {
		t.Run(name, func(t *testing.T) {
			b, err := asynqinbox.New(client, opt)
			assert.ErrorIs(t, err, payhook.ErrConfig)
			assert.Nil(t, b)
		})
	}
	b, err := asynqinbox.New(nil)
	assert.ErrorIs(t, err, payhook.ErrConfig)
	assert.Nil(t, b)
	_, err = asynqinbox.New(client, asynqinbox.WithDoneRetention(-1))
	assert.NoError(t, err, "a negative retention keeps done entries forever")
}

// TestAsynqRunTaskGivesOneAttempt: an operator who runs a dead entry's
// task with asynq's own tools (asynq CLI, Asynqmon) rather than Replay
// gets one attempt, not the entry's budget again.
func TestAsynqRunTaskGivesOneAttempt(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	ib, b := newInbox(t, client, inbox.WithMaxAttempts(2))
	e := entry("asynq-tools")
	runs := make(chan int, 4)
	ib.Handle("test", func(ctx context.Context, a inbox.Attempt) error {
		runs <- a.N
		return errors.New("app down")
	})
	_, err := ib.Put(ctx, e)
	require.NoError(t, err)
	running(t, ib)
	eventually(t, ib, e.ID, inbox.Dead)
	assert.Equal(t, 1, <-runs)
	assert.Equal(t, 2, <-runs)

	require.NoError(t, asynq.NewInspectorFromRedisClient(client).RunTask(b.Queue(), e.ID))
	assert.Equal(t, 3, <-runs)
	info := eventually(t, ib, e.ID, inbox.Dead)
	assert.Equal(t, 3, info.Attempts)
	assert.Empty(t, runs)
}

package riverinbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/riverinbox"
)

func TestNewNames(t *testing.T) {
	tests := []struct {
		name string
		opt  riverinbox.Option
		err  string // "" when valid
	}{
		{"default", nil, ""},
		{"search_path", riverinbox.WithSchema(""), ""},
		{"schema", riverinbox.WithSchema("Payments_2"), ""},
		{"46-byte schema", riverinbox.WithSchema(strings.Repeat("s", 46)), ""},
		{"47-byte schema", riverinbox.WithSchema(strings.Repeat("s", 47)), "schema name"},
		{"qualified schema", riverinbox.WithSchema("a.b"), "schema name"},
		{"quote in schema", riverinbox.WithSchema(`x"; DROP TABLE river_job; --`), "schema name"},
		{"queue", riverinbox.WithQueue("payments-eu_2"), ""},
		{"empty queue", riverinbox.WithQueue(""), "queue name"},
		{"capital in queue", riverinbox.WithQueue("Payments"), "queue name"},
		{"double underscore in queue", riverinbox.WithQueue("a__b"), "queue name"},
		{"65-byte queue", riverinbox.WithQueue(strings.Repeat("q", 65)), "queue name"},
		{"zero retention", riverinbox.WithDoneRetention(0), "WithDoneRetention(0)"},
		{"retention forever", riverinbox.WithDoneRetention(-1), ""},
		{"poll below 1ms", riverinbox.WithPollInterval(time.Microsecond), "WithPollInterval"},
		{"cooldown 0", riverinbox.WithFetchCooldown(0), "WithFetchCooldown"},
		{"nil logger", riverinbox.WithLogger(nil), "WithLogger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// New checks names without a connection.
			pool, err := pgxpool.New(context.Background(), "postgres://127.0.0.1:1/nothing")
			require.NoError(t, err)
			defer pool.Close()
			b, err := riverinbox.New(pool, tt.opt)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				assert.ErrorIs(t, err, payhook.ErrConfig)
				assert.Nil(t, b)
				return
			}
			assert.NoError(t, err)
			assert.NotNil(t, b)
		})
	}
}

// TestMigrate runs the migrations of one schema from many replicas at once,
// then again, and checks the layout of an entry's job.
func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := freshSchema(t)
	pool := newPool(t)
	b := newBackend(t, pool, schema)
	_, err := b.Put(ctx, inbox.Entry{ID: "test:k"})
	require.Error(t, err, "no tables before Migrate")

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = newBackend(t, newPool(t), schema).Migrate(ctx)
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	require.NoError(t, b.Migrate(ctx), "again")

	// The event is kept as the bytes it was: a JSON string in River's
	// args, or base64 when it is not UTF-8.
	events := map[string][]byte{"json": []byte(`{"b": 1, "a":[2]}`), "binary": {0xff, 0xfe, 0}}
	for name, event := range events {
		added, err := b.Put(ctx, inbox.Entry{ID: "test:" + name, Provider: "test", Key: name, Event: event, MaxAttempts: 7})
		require.NoError(t, err)
		require.True(t, added)
		info, err := b.Get(ctx, "test:"+name)
		require.NoError(t, err)
		assert.Equal(t, event, info.Event, name)
		assert.Equal(t, 7, info.MaxAttempts)
	}
	none, err := b.List(ctx, inbox.Filter{State: inbox.State(9)})
	require.NoError(t, err)
	assert.Empty(t, none, "no entry is in a state that is not one")

	var kind, queue, event string
	var maxAttempts int
	require.NoError(t, pool.QueryRow(ctx, `SELECT kind, queue, args->>'event', max_attempts FROM `+schema+`.river_job WHERE args->>'id' = 'test:json'`).
		Scan(&kind, &queue, &event, &maxAttempts))
	assert.Equal(t, riverinbox.Kind, kind)
	assert.Equal(t, riverinbox.DefaultQueue, queue)
	assert.Equal(t, string(events["json"]), event)
	assert.Equal(t, 7, maxAttempts)
}

// TestRetention: River's cleaner deletes done entries after their
// retention, and keeps dead ones, discarded or cancelled, until a person
// acts. The cleaner deletes every finalized state in one statement, so
// once the done entry is gone the dead ones have been through it.
func TestRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, _ := migrated(t, riverinbox.WithDoneRetention(time.Millisecond))
	ib, err := inbox.New(b, inbox.WithMaxAttempts(1))
	require.NoError(t, err)
	called := make(chan string, 3)
	ib.Handle("test", func(ctx context.Context, a inbox.Attempt) error {
		defer func() { called <- a.ID }()
		switch a.Key {
		case "discarded":
			return errors.New("app down")
		case "cancelled":
			return inbox.Permanent(errors.New("refused"))
		}
		return nil
	})
	for _, key := range []string{"done", "discarded", "cancelled"} {
		_, err := ib.Put(ctx, inbox.Entry{ID: "test:" + key, Provider: "test", Key: key, Event: []byte(`{}`)})
		require.NoError(t, err)
	}
	stop := running(t, ib)
	for range 3 {
		<-called
	}
	stop()
	for key, state := range map[string]inbox.State{"done": inbox.Done, "discarded": inbox.Dead, "cancelled": inbox.Dead} {
		info, err := ib.Get(ctx, "test:"+key)
		require.NoError(t, err)
		require.Equal(t, state, info.State, key)
	}

	// The next Run's client is elected leader, and its cleaner runs as it
	// starts, in River's own time: only the table tells when.
	stop = running(t, ib)
	require.Eventually(t, func() bool {
		_, err := ib.Get(ctx, "test:done")
		return errors.Is(err, inbox.ErrNotFound)
	}, time.Minute, 50*time.Millisecond, "River's cleaner deletes done entries after their retention")
	stop()
	for _, key := range []string{"discarded", "cancelled"} {
		info, err := ib.Get(ctx, "test:"+key)
		require.NoError(t, err, "dead entries stay")
		assert.Equal(t, inbox.Dead, info.State)
	}
	added, err := ib.Put(ctx, inbox.Entry{ID: "test:cancelled", Provider: "test", Key: "cancelled"})
	require.NoError(t, err)
	assert.False(t, added, "a dead entry still dedupes its ID")
}

// TestShutdownDoesNotCount: an attempt canceled by Run's shutdown is put
// back without counting, whatever error its handler made of the
// cancellation, so that even an entry on its last attempt stays pending.
func TestShutdownDoesNotCount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, _ := migrated(t)
	ib, err := inbox.New(b, inbox.WithMaxAttempts(1), inbox.WithShutdownTimeout(0))
	require.NoError(t, err)
	started := make(chan struct{})
	ib.Handle("test", func(ctx context.Context, a inbox.Attempt) error {
		close(started)
		<-ctx.Done()
		return errors.New("gave up") // not ctx.Err()
	})
	_, err = ib.Put(ctx, inbox.Entry{ID: "test:last", Provider: "test", Key: "last", Event: []byte(`{}`)})
	require.NoError(t, err)
	stop := running(t, ib)
	<-started
	stop()
	info, err := ib.Get(ctx, "test:last")
	require.NoError(t, err)
	assert.Equal(t, inbox.Pending, info.State)
	assert.Zero(t, info.Attempts)
	assert.Empty(t, info.Errors)
}

// TestDoneBeforeNext is issue 17's regression test (§6): an attempt's
// success is committed before its worker takes the next entry, so that a
// process killed at any moment runs again only the attempts it was
// running. River's own completer records completions in batches, after
// the worker has moved on: there, the entries before were still running
// when the next one started.
func TestDoneBeforeNext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, _ := migrated(t)
	ib, err := inbox.New(b, inbox.WithWorkers(1))
	require.NoError(t, err)
	const n = 6
	var (
		mu       sync.Mutex
		finished []string
		seen     = map[string]map[string]inbox.State{} // by attempt: the states of those finished before
		all      = make(chan struct{})
	)
	ib.Handle("test", func(ctx context.Context, a inbox.Attempt) error {
		mu.Lock()
		defer mu.Unlock()
		states := map[string]inbox.State{}
		for _, id := range finished {
			info, err := b.Get(ctx, id)
			if err != nil {
				return err
			}
			states[id] = info.State
		}
		seen[a.ID] = states
		finished = append(finished, a.ID)
		if len(finished) == n {
			close(all)
		}
		return nil
	})
	for i := range n {
		_, err := ib.Put(ctx, inbox.Entry{ID: fmt.Sprintf("test:%d", i), Provider: "test", Key: fmt.Sprint(i), Event: []byte(`{}`)})
		require.NoError(t, err)
	}
	stop := running(t, ib)
	<-all
	stop()
	mu.Lock()
	defer mu.Unlock()
	for id, states := range seen {
		for before, state := range states {
			assert.Equal(t, inbox.Done, state, "%s, finished before %s started", before, id)
		}
	}
}

// TestUnconfirmedUsesItsIndex: the count of Unconfirmed can use the
// partial index Migrate adds to River's job table (PostgreSQL is told to
// avoid a sequential scan, which it prefers on a table this small), and
// counts the jobs with claim that are not completed.
func TestUnconfirmedUsesItsIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, schema := migrated(t)
	pool := newPool(t)
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `SET enable_seqscan = off`)
	require.NoError(t, err)
	var plan []string
	rows, err := conn.Query(ctx, `EXPLAIN SELECT count(*) FROM `+schema+`.river_job WHERE kind = '`+riverinbox.Kind+
		`' AND (args->>'claim') = 'true' AND state <> 'completed' AND queue = '`+riverinbox.DefaultQueue+`'`)
	require.NoError(t, err)
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		plan = append(plan, line)
	}
	require.NoError(t, rows.Err())
	assert.Contains(t, strings.Join(plan, "\n"), "payhook_inbox_unconfirmed", "the plan: %v", plan)

	for i, claim := range []bool{true, true, false} {
		_, err := b.Put(ctx, inbox.Entry{ID: fmt.Sprintf("test:%d", i), Provider: "test", Key: fmt.Sprint(i), Event: []byte(`{}`), Claim: claim})
		require.NoError(t, err)
	}
	n, err := b.Unconfirmed(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

package redisstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/expect/expecttest"
	"github.com/payhook/payhook/idempotency/redisstore"
	"github.com/payhook/payhook/internal/testsupport/expectsupport"
)

// expectations returns an Expectations store of client, failing the test
// if NewExpectations fails.
func expectations(t testing.TB, client redis.Scripter, opts ...redisstore.ExpectationsOption) *redisstore.Expectations {
	t.Helper()
	x, err := redisstore.NewExpectations(client, opts...)
	require.NoError(t, err)
	return x
}

// ownPrefix is a prefix no other test uses, with a hash tag.
func ownPrefix() string { return "test:{" + rand.Text() + "}:" }

func TestExpectationsConformance(t *testing.T) {
	store := expectations(t, newClient(t))
	expecttest.Run(t, func(t *testing.T) expect.Store { return store })
}

func TestExpectationsConformanceOwnPrefix(t *testing.T) {
	client := newClient(t)
	assert.NoError(t, expecttest.Test(func() (expect.Store, error) {
		return redisstore.NewExpectations(client, redisstore.WithExpectationsPrefix(ownPrefix()))
	}))
}

// TestExpectationsReplicas: two replicas, each with its own client of one
// Redis, share the expectations: concurrent Dues never hand one to both
// within its lease, concurrent Settles of one succeed once.
func TestExpectationsReplicas(t *testing.T) {
	expecttest.RunReplicas(t, func(t *testing.T) []expect.Store {
		return []expect.Store{expectations(t, newClient(t)), expectations(t, newClient(t))}
	})
}

func TestNewExpectationsRefuses(t *testing.T) {
	client := redis.NewClient(&redis.Options{})
	defer client.Close()
	expectsupport.Refuses(t, payhook.ErrConfig, map[string]expectsupport.Refusal{
		"nil client": {New: func() (any, error) { return redisstore.NewExpectations(nil) }, Want: "nil client"},
		"nil clock": {New: func() (any, error) {
			return redisstore.NewExpectations(client, redisstore.WithExpectationsClock(nil))
		}, Want: "WithExpectationsClock(nil)"},
	})
}

func TestExpectationsClock(t *testing.T) {
	client := newClient(t)
	expectsupport.Clock(t, func(now func() time.Time) expect.Store {
		return expectations(t, client, redisstore.WithExpectationsPrefix(ownPrefix()), redisstore.WithExpectationsClock(now))
	})
}

// TestExpectationsLayout checks the keys the store keeps, as its
// documentation says: each expectation in the sorted sets of its state
// and provider, the pending ones with an ID in the due sets, and nowhere
// else.
func TestExpectationsLayout(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	prefix := ownPrefix()
	created := time.Date(2031, 5, 6, 7, 8, 9, 123456000, time.UTC)
	store := expectations(t, client, redisstore.WithExpectationsPrefix(prefix),
		redisstore.WithExpectationsClock(func() time.Time { return created }))
	deadline := time.Date(2031, 5, 7, 0, 0, 0, 0, time.UTC)
	for _, x := range []expect.Expectation{
		{Provider: "kkiapay", ID: "tx_1", Amount: "100", Currency: "XOF", Deadline: deadline},
		{Provider: "kazawallet", Ref: "cart_1", Amount: "10", Currency: "USD", Deadline: deadline.Add(time.Hour)},
	} {
		require.NoError(t, store.Add(ctx, x))
	}
	members := func(key string) []string {
		t.Helper()
		m, err := client.ZRange(ctx, prefix+key, 0, -1).Result()
		require.NoError(t, err)
		return m
	}
	assert.Equal(t, []string{"000000000001", "000000000002"}, members("dl"))
	assert.Equal(t, []string{"000000000001"}, members("due"), "only the one with an ID is polled")
	assert.Equal(t, []string{"000000000001"}, members("due:kkiapay"))
	assert.Equal(t, []string{"000000000001", "000000000002"}, members("dl:s:1"))
	assert.Equal(t, []string{"000000000002"}, members("dl:ps:1:kazawallet"))
	h, err := client.HGetAll(ctx, prefix+"x:000000000001").Result()
	require.NoError(t, err)
	assert.Equal(t, "tx_1", h["id"])
	assert.Equal(t, "1", h["st"])
	assert.Equal(t, strconv.FormatInt(created.UnixMicro(), 10), h["ca"], "CreatedAt from the store's clock, in microseconds")

	_, err = store.Settle(ctx, expect.Key{Provider: "kkiapay", ID: "tx_1"}, expect.Settlement{PaymentID: "tx_1", Outcome: expect.OutcomePaid, At: deadline})
	require.NoError(t, err)
	assert.Empty(t, members("due"), "a settled one is not polled")
	assert.Empty(t, members("due:kkiapay"))
	assert.Equal(t, []string{"000000000002"}, members("dl:s:1"))
	assert.Equal(t, []string{"000000000001"}, members("dl:ps:2:kkiapay"))
	n, err := client.HGet(ctx, prefix+"pay", "7:kkiapaytx_1").Result()
	require.NoError(t, err)
	assert.Equal(t, "000000000001", n, "the payment names its expectation")

	require.NoError(t, store.Cancel(ctx, expect.Key{Provider: "kazawallet", Ref: "cart_1"}))
	assert.Empty(t, members("dl:s:1"))
	assert.Equal(t, []string{"000000000002"}, members("dl:s:4"))
	assert.Equal(t, []string{"000000000001", "000000000002"}, members("dl"), "List of every state still finds both")

	forgotten, err := store.Forget(ctx, nil, deadline.Add(2*time.Hour), 10)
	require.NoError(t, err)
	assert.Equal(t, 2, forgotten)
	keys, err := client.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	assert.Equal(t, []string{prefix + "seq"}, keys, "a forgotten expectation leaves nothing behind")
}

// BenchmarkExpectations measures Add and Settle (expecttest.Benchmark) on
// the test server.
func BenchmarkExpectations(b *testing.B) {
	store := expectations(b, newClient(b))
	expecttest.Benchmark(b, func(*testing.B) expect.Store { return store })
}

// TestExpectationsReadWhatTheyReturn: with 100,000 expectations, List,
// Due, MarkOverdue and Unconfirmed read one range of a sorted set per provider asked
// for and the hashes of what they return, nothing more (Redis counts the
// commands the scripts run).
func TestExpectationsReadWhatTheyReturn(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	prefix := ownPrefix()
	store := expectations(t, client, redisstore.WithExpectationsPrefix(prefix))
	epoch := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return epoch.Add(time.Duration(i) * time.Second) }
	// The first Add loads the script; the others go in pipelines (a
	// store on a pipeline queues its scripts, and answers nothing).
	require.NoError(t, store.Add(ctx, expect.Expectation{Provider: "p0", ID: "tx_0", Amount: "1", Currency: "USD", Deadline: at(0)}))
	const n = 100000
	for start := 1; start < n; start += 5000 {
		_, err := client.Pipelined(ctx, func(p redis.Pipeliner) error {
			queued := expectations(t, p, redisstore.WithExpectationsPrefix(prefix))
			for i := start; i < min(n, start+5000); i++ {
				_ = queued.Add(ctx, expect.Expectation{Provider: fmt.Sprint("p", i%3), ID: fmt.Sprint("tx_", i),
					Amount: "1", Currency: "USD", Deadline: at(i), NextPoll: at(i)})
			}
			return nil
		})
		require.NoError(t, err)
	}
	count, err := client.ZCard(ctx, prefix+"dl").Result()
	require.NoError(t, err)
	require.EqualValues(t, n, count)
	calls := func() map[string]int64 {
		t.Helper()
		info, err := client.Info(ctx, "commandstats").Result()
		require.NoError(t, err)
		out := map[string]int64{}
		for _, line := range strings.Split(info, "\r\n") {
			name, rest, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":calls=")
			if !ok {
				continue
			}
			num, _, _ := strings.Cut(rest, ",")
			out[name], _ = strconv.ParseInt(num, 10, 64)
		}
		return out
	}
	reads := func(name string, run func() int) {
		t.Helper()
		before := calls()
		returned := run()
		after := calls()
		var touched int64
		for cmd, k := range after {
			switch cmd {
			case "evalsha", "eval", "info", "script|load", "script":
			default:
				touched += k - before[cmd]
			}
		}
		// One range per provider, then a few commands per expectation
		// returned (its hash, its sets).
		assert.LessOrEqual(t, touched, int64(3+12*returned), "%s returned %d and ran %d commands", name, returned, touched)
		assert.Positive(t, returned, name)
	}
	reads("List", func() int {
		xs, err := store.List(ctx, expect.Filter{Provider: "p1", State: expect.Pending, Limit: 10})
		require.NoError(t, err)
		return len(xs)
	})
	reads("Due", func() int {
		xs, err := store.Due(ctx, []string{"p0", "p2"}, epoch.Add(time.Hour), time.Minute, 10)
		require.NoError(t, err)
		return len(xs)
	})
	reads("MarkOverdue", func() int {
		xs, err := store.MarkOverdue(ctx, nil, epoch.Add(time.Hour), 10)
		require.NoError(t, err)
		return len(xs)
	})
	for j := range 20 {
		id := fmt.Sprint("tx_", 50001+3*j) // p0's
		_, err := store.Settle(ctx, expect.Key{Provider: "p0", ID: id}, expect.Settlement{PaymentID: id, Outcome: expect.OutcomePaid, At: at(j)})
		require.NoError(t, err)
	}
	reads("Unconfirmed", func() int {
		xs, err := store.Unconfirmed(ctx, []string{"p0", "p1"}, epoch.Add(time.Hour), 10)
		require.NoError(t, err)
		return len(xs)
	})
}

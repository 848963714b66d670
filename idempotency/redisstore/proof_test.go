package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/exactlyoncetest"
	"github.com/payhook/payhook/idempotency/redisstore"
	"github.com/payhook/payhook/internal/testsupport/testserver"
)

// The proofs that the store gives payhook exactly-once processing across
// replicas, through the whole middleware, over HTTP. They are shared with
// the other stores; the outage proof, which needs a server of its own, is
// beside this store's other tests.

func TestReplicasProcessOnce(t *testing.T) { exactlyoncetest.ReplicasProcessOnce(t, newStore) }

func TestCrashedReplica(t *testing.T) { exactlyoncetest.CrashedReplica(t, newStore) }

// TestLostClaimReply: Redis applies a claim and the reply is lost; go-redis
// sends no command twice here (MaxRetries -1), so the error reaches the
// middleware, which releases the claim: the next retry is processed.
func TestLostClaimReply(t *testing.T) {
	url := testserver.URL(t, "PAYHOOK_TEST_REDIS_URL")
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	exactlyoncetest.LostClaimReply(t, opts.Addr, func(t testing.TB, addr string) idempotency.Store {
		opts, err := redis.ParseURL(url)
		require.NoError(t, err)
		opts.Addr, opts.MaxRetries = addr, -1
		client := redis.NewClient(opts)
		t.Cleanup(func() { client.Close() })
		store, err := redisstore.New(client)
		require.NoError(t, err)
		return store
	})
}

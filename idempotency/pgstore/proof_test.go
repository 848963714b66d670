package pgstore_test

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/exactlyoncetest"
	"github.com/payhook/payhook/internal/testsupport/testserver"
)

// The proofs that the store gives payhook exactly-once processing across
// replicas, through the whole middleware, over HTTP. They are shared with
// the other stores; the outage proof, which needs a server of its own, is
// beside this store's other tests.

func TestReplicasProcessOnce(t *testing.T) { exactlyoncetest.ReplicasProcessOnce(t, newStore) }

func TestCrashedReplica(t *testing.T) { exactlyoncetest.CrashedReplica(t, newStore) }

// TestLostClaimReply: PostgreSQL applies a claim and the connection drops
// before its reply arrives; the middleware releases the claim, so the next
// retry is processed.
func TestLostClaimReply(t *testing.T) {
	url := testserver.URL(t, "PAYHOOK_TEST_POSTGRES_URL")
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	server := net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))
	exactlyoncetest.LostClaimReply(t, server, func(t testing.TB, addr string) idempotency.Store {
		cfg, err := pgxpool.ParseConfig(url)
		require.NoError(t, err)
		host, port, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		p, err := strconv.Atoi(port)
		require.NoError(t, err)
		cfg.ConnConfig.Host, cfg.ConnConfig.Port = host, uint16(p)
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		return migrated(t, pool)
	})
}

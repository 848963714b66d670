package pgstore_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/pgstore"
	"github.com/payhook/payhook/internal/testsupport/testserver"
)

// TestCompleteTx: the key is done if and only if the caller's transaction
// commits.
func TestCompleteTx(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	store := migrated(t, pool)
	key, token := "kazawallet:ord_"+rand.Text(), idempotency.NewToken()
	state, err := store.Claim(ctx, key, token, time.Minute)
	require.NoError(t, err)
	require.Equal(t, idempotency.Acquired, state)
	claimedBy := func() idempotency.State {
		t.Helper()
		state, err := store.Claim(ctx, key, idempotency.NewToken(), time.Minute)
		require.NoError(t, err)
		return state
	}

	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, store.CompleteTx(ctx, tx, key, token, time.Hour))
	require.NoError(t, tx.Rollback(ctx))
	assert.Equal(t, idempotency.InFlight, claimedBy(), "rolled back: still held")

	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		assert.ErrorIs(t, store.CompleteTx(ctx, tx, key, idempotency.NewToken(), time.Hour), idempotency.ErrNotOwner)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, idempotency.InFlight, claimedBy(), "another token completes nothing")

	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return store.CompleteTx(ctx, tx, key, token, time.Hour) })
	require.NoError(t, err)
	assert.Equal(t, idempotency.Done, claimedBy(), "committed: done")
}

// TestCompleteTxOtherDatabase: a transaction on another database of the
// same server is refused before anything runs in it.
func TestCompleteTxOtherDatabase(t *testing.T) {
	ctx := context.Background()
	store := migrated(t, newPool(t))
	cfg, err := pgxpool.ParseConfig(testserver.URL(t, "PAYHOOK_TEST_POSTGRES_URL"))
	require.NoError(t, err)
	cfg.ConnConfig.Database = "template1"
	other, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer other.Close()
	err = pgx.BeginFunc(ctx, other, func(tx pgx.Tx) error {
		return store.CompleteTx(ctx, tx, "k", idempotency.NewToken(), time.Hour)
	})
	assert.ErrorIs(t, err, pgstore.ErrOtherDatabase)
}

package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/sqlitestore"
)

// CompleteTx marks the key done only if its transaction commits, and
// refuses a transaction on another file.
func TestCompleteTx(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "payhook.db"))
	store := migrated(t, db)
	_, err := db.Exec(`CREATE TABLE other (k TEXT)`)
	require.NoError(t, err)

	claim := func(key, token string) {
		t.Helper()
		state, err := store.Claim(ctx, key, token, time.Minute)
		require.NoError(t, err)
		require.Equal(t, idempotency.Acquired, state)
	}
	stateOf := func(key string) idempotency.State {
		t.Helper()
		state, err := store.Claim(ctx, key, idempotency.NewToken(), time.Minute)
		require.NoError(t, err)
		return state
	}

	t.Run("commit", func(t *testing.T) {
		claim("k1", "t1")
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, store.CompleteTx(ctx, tx, "k1", "t1", time.Hour))
		_, err = tx.Exec(`INSERT INTO other VALUES ('k1')`)
		require.NoError(t, err)
		require.NoError(t, tx.Commit())
		assert.Equal(t, idempotency.Done, stateOf("k1"))
	})
	t.Run("rollback", func(t *testing.T) {
		claim("k2", "t2")
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, store.CompleteTx(ctx, tx, "k2", "t2", time.Hour))
		require.NoError(t, tx.Rollback())
		assert.Equal(t, idempotency.InFlight, stateOf("k2"), "still held by t2, not done")
	})
	t.Run("not the owner", func(t *testing.T) {
		claim("k3", "t3")
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer tx.Rollback()
		assert.ErrorIs(t, store.CompleteTx(ctx, tx, "k3", "someone else", time.Hour), idempotency.ErrNotOwner)
	})
	t.Run("another file", func(t *testing.T) {
		other := openDB(t, filepath.Join(dir, "other.db"))
		migrated(t, other)
		claim("k4", "t4")
		tx, err := other.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer tx.Rollback()
		assert.ErrorIs(t, store.CompleteTx(ctx, tx, "k4", "t4", time.Hour), sqlitestore.ErrOtherDatabase)
	})
	t.Run("same file, another handle", func(t *testing.T) {
		second := openDB(t, filepath.Join(dir, "payhook.db"))
		claim("k5", "t5")
		tx, err := second.BeginTx(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, store.CompleteTx(ctx, tx, "k5", "t5", time.Hour))
		require.NoError(t, tx.Commit())
		assert.Equal(t, idempotency.Done, stateOf("k5"))
	})
}

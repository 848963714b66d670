package riverinbox_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/pgstore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/riverinbox"
	"github.com/payhook/payhook/internal/testsupport/testserver"
)

// keyStore returns a pgstore of pool whose table lives in schema.
func keyStore(t testing.TB, pool *pgxpool.Pool, schema string) *pgstore.Store {
	t.Helper()
	_, err := pool.Exec(context.Background(), `CREATE SCHEMA IF NOT EXISTS `+schema)
	require.NoError(t, err)
	store, err := pgstore.New(pool, pgstore.WithTable(schema+".payhook_idempotency"))
	require.NoError(t, err)
	require.NoError(t, store.Migrate(context.Background()))
	return store
}

// withStore returns a migrated backend and a pgstore on one pool, in a
// fresh schema.
func withStore(t testing.TB) (*riverinbox.Backend, *pgstore.Store, *pgxpool.Pool, string) {
	t.Helper()
	schema := freshSchema(t)
	pool := newPool(t)
	b := newBackend(t, pool, schema)
	require.NoError(t, b.Migrate(context.Background()))
	return b, keyStore(t, pool, schema), pool, schema
}

// TestPutComplete: with a pgstore of the same database, the entry is put
// and the claim completed in one transaction. A failure of either leaves
// neither: the key stays held by its claim, and no entry is there.
func TestPutComplete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, store, pool, schema := withStore(t)

	// claim claims a new key, and returns it with its token and an entry.
	claim := func() (string, string, inbox.Entry) {
		t.Helper()
		id := "ord_" + rand.Text()
		token := idempotency.NewToken()
		state, err := store.Claim(ctx, "test:"+id, token, time.Minute)
		require.NoError(t, err)
		require.Equal(t, idempotency.Acquired, state)
		return "test:" + id, token, inbox.Entry{ID: "test:" + id, Provider: "test", Key: id,
			Event: []byte(`{"id":"` + id + `"}`), MaxAttempts: 3, ReceivedAt: time.Now().UTC()}
	}
	// keyState is the state of key for a new claim.
	keyState := func(key string) idempotency.State {
		t.Helper()
		state, err := store.Claim(ctx, key, idempotency.NewToken(), time.Minute)
		require.NoError(t, err)
		return state
	}
	absent := func(id string) {
		t.Helper()
		_, err := b.Get(ctx, id)
		assert.ErrorIs(t, err, inbox.ErrNotFound, "no entry %s", id)
	}

	t.Run("both", func(t *testing.T) {
		key, token, e := claim()
		added, handled, err := b.PutComplete(ctx, e, store, key, token, time.Hour)
		require.NoError(t, err)
		assert.True(t, added)
		assert.True(t, handled)
		info, err := b.Get(ctx, e.ID)
		require.NoError(t, err)
		assert.Equal(t, inbox.Pending, info.State)
		assert.Equal(t, e.Event, info.Event)
		assert.Equal(t, idempotency.Done, keyState(key))

		// The same entry again, under another claim of another key: the
		// claim is completed, the entry is not added twice.
		key2, token2, _ := claim()
		added, handled, err = b.PutComplete(ctx, e, store, key2, token2, time.Hour)
		require.NoError(t, err)
		assert.False(t, added)
		assert.True(t, handled)
		assert.Equal(t, idempotency.Done, keyState(key2))
	})

	t.Run("completion fails", func(t *testing.T) {
		key, _, e := claim()
		_, _, err := b.PutComplete(ctx, e, store, key, idempotency.NewToken(), time.Hour) // not the claim's token
		assert.ErrorIs(t, err, idempotency.ErrNotOwner)
		absent(e.ID)
		assert.Equal(t, idempotency.InFlight, keyState(key), "still held by its claim")
	})

	t.Run("insertion fails", func(t *testing.T) {
		key, token, e := claim()
		// The job table refuses this entry's row, after the completion
		// has run in the transaction (as a full disk or a lost
		// connection would).
		_, err := pool.Exec(ctx, `CREATE FUNCTION `+schema+`.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
			CREATE TRIGGER refuse BEFORE INSERT ON `+schema+`.river_job
			FOR EACH ROW WHEN (NEW.args->>'id' = '`+e.ID+`') EXECUTE FUNCTION `+schema+`.refuse()`)
		require.NoError(t, err)
		_, _, err = b.PutComplete(ctx, e, store, key, token, time.Hour)
		assert.ErrorContains(t, err, "refused by the test")
		absent(e.ID)
		assert.Equal(t, idempotency.InFlight, keyState(key), "not done: still held by its claim")

		_, err = pool.Exec(ctx, `DROP TRIGGER refuse ON `+schema+`.river_job`)
		require.NoError(t, err)
		added, handled, err := b.PutComplete(ctx, e, store, key, token, time.Hour)
		require.NoError(t, err, "the claim is still the caller's: its retry succeeds")
		assert.True(t, added && handled)
		assert.Equal(t, idempotency.Done, keyState(key))
	})

	t.Run("store of another database", func(t *testing.T) {
		key, token, e := claim()
		cfg, err := pgxpool.ParseConfig(testserver.URL(t, "PAYHOOK_TEST_POSTGRES_URL"))
		require.NoError(t, err)
		cfg.ConnConfig.Database = "template1"
		other, err := pgxpool.NewWithConfig(ctx, cfg)
		require.NoError(t, err)
		defer other.Close()
		otherStore, err := pgstore.New(other)
		require.NoError(t, err)
		added, handled, err := b.PutComplete(ctx, e, otherStore, key, token, time.Hour)
		require.NoError(t, err)
		assert.False(t, added || handled, "not handled: the caller puts and completes")
		absent(e.ID)
		assert.Equal(t, idempotency.InFlight, keyState(key))
	})

	t.Run("another store", func(t *testing.T) {
		_, _, e := claim()
		mem := idempotency.NewMemory()
		token := idempotency.NewToken()
		_, err := mem.Claim(ctx, "k", token, time.Minute)
		require.NoError(t, err)
		added, handled, err := b.PutComplete(ctx, e, mem, "k", token, time.Hour)
		require.NoError(t, err)
		assert.False(t, added || handled)
		absent(e.ID)
	})
}

// TestPutCompleteOtherPool: a store on another pool of the
// same database shares the transaction too.
func TestPutCompleteOtherPool(t *testing.T) {
	ctx := context.Background()
	b, schema := migrated(t)
	store := keyStore(t, newPool(t), schema)
	token := idempotency.NewToken()
	_, err := store.Claim(ctx, "test:k", token, time.Minute)
	require.NoError(t, err)
	added, handled, err := b.PutComplete(ctx, inbox.Entry{ID: "test:k", Provider: "test", Key: "k", Event: []byte(`{}`)}, store, "test:k", token, time.Hour)
	require.NoError(t, err)
	assert.True(t, added && handled)
}

var _ inbox.Completer = (*riverinbox.Backend)(nil)

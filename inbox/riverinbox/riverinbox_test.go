package riverinbox_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/inboxtest"
	"github.com/payhook/payhook/inbox/riverinbox"
	"github.com/payhook/payhook/internal/testsupport/testserver"
)

// testPoll is the poll interval of the tests' backends: River's default
// (1 s) would make every retry wait for it.
const testPoll = 20 * time.Millisecond

// newPool returns a pool of the test server, closed when the test ends.
func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testserver.URL(t, "PAYHOOK_TEST_POSTGRES_URL"))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// freshSchema returns the name of a schema no other test uses, dropped
// when the test ends.
func freshSchema(t testing.TB) string {
	t.Helper()
	schema := "riverinbox_" + strings.ToLower(rand.Text())
	url := testserver.URL(t, "PAYHOOK_TEST_POSTGRES_URL")
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), url)
		if err == nil {
			conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
			conn.Close(context.Background())
		}
	})
	return schema
}

// newBackend returns a backend of pool in schema, polling fast.
func newBackend(t testing.TB, pool *pgxpool.Pool, schema string, opts ...riverinbox.Option) *riverinbox.Backend {
	t.Helper()
	b, err := riverinbox.New(pool, append([]riverinbox.Option{riverinbox.WithSchema(schema), riverinbox.WithPollInterval(testPoll)}, opts...)...)
	require.NoError(t, err)
	return b
}

// migrated returns a backend with its own pool in a fresh schema, migrated.
func migrated(t testing.TB, opts ...riverinbox.Option) (*riverinbox.Backend, string) {
	t.Helper()
	schema := freshSchema(t)
	b := newBackend(t, newPool(t), schema, opts...)
	require.NoError(t, b.Migrate(context.Background()))
	return b, schema
}

func TestConformance(t *testing.T) {
	t.Parallel()
	inboxtest.Run(t, func(t *testing.T) inboxtest.Harness {
		b, schema := migrated(t)
		return inboxtest.Harness{
			Backend: b,
			// A second process: a pool and River clients of its own.
			Reopen: func() (inbox.Backend, error) {
				return riverinbox.New(newPool(t), riverinbox.WithSchema(schema), riverinbox.WithPollInterval(testPoll))
			},
		}
	})
}

package redisstore_test

import (
	"context"
	"crypto/rand"
	"net"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/exactlyoncetest"
	"github.com/payhook/payhook/idempotency/idempotencytest"
	"github.com/payhook/payhook/idempotency/redisstore"
	"github.com/payhook/payhook/internal/testsupport/testserver"
)

// newClient returns a client of the test server, closed when the test ends.
func newClient(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(testserver.URL(t, "PAYHOOK_TEST_REDIS_URL"))
	require.NoError(t, err)
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	return client
}

// newStore returns a store with its own client: a replica of its own.
func newStore(t testing.TB) idempotency.Store { return must(t, newClient(t)) }

// must returns the store New makes of client with opts, failing the test
// if New fails.
func must(t testing.TB, client redis.Scripter, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(client, opts...)
	require.NoError(t, err)
	return s
}

func TestConformance(t *testing.T) {
	client := newClient(t)
	idempotencytest.Run(t, func(t *testing.T) idempotencytest.Harness {
		return idempotencytest.Harness{Store: must(t, client)}
	})
}

func TestConformanceWithPrefix(t *testing.T) {
	client := newClient(t)
	idempotencytest.Run(t, func(t *testing.T) idempotencytest.Harness {
		return idempotencytest.Harness{Store: must(t, client, redisstore.WithPrefix("other-app:"))}
	})
}

// TestLayout checks what the store writes in Redis, as its documentation
// says: held:<token> for the lease, then done for the retention, under the
// prefix.
func TestLayout(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	tests := []struct {
		name, prefix string
		opts         []redisstore.Option
	}{
		{"default prefix", redisstore.DefaultPrefix, nil},
		{"own prefix", "app1:", []redisstore.Option{redisstore.WithPrefix("app1:")}},
		{"no prefix", "", []redisstore.Option{redisstore.WithPrefix("")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := must(t, client, tt.opts...)
			key, token := "layout:"+rand.Text(), idempotency.NewToken()
			state, err := store.Claim(ctx, key, token, time.Minute)
			require.NoError(t, err)
			require.Equal(t, idempotency.Acquired, state)
			assert.Equal(t, "held:"+token, client.Get(ctx, tt.prefix+key).Val())
			ttl := client.PTTL(ctx, tt.prefix+key).Val()
			assert.True(t, ttl > 59*time.Second && ttl <= time.Minute, "lease TTL %v", ttl)

			require.NoError(t, store.Complete(ctx, key, token, time.Hour))
			assert.Equal(t, "done", client.Get(ctx, tt.prefix+key).Val())
			ttl = client.PTTL(ctx, tt.prefix+key).Val()
			assert.True(t, ttl > 59*time.Minute && ttl <= time.Hour, "retention TTL %v", ttl)

			_, err = store.Claim(ctx, key+"2", token, time.Minute)
			require.NoError(t, err)
			require.NoError(t, store.Release(ctx, key+"2", token))
			assert.Zero(t, client.Exists(ctx, tt.prefix+key+"2").Val(), "a released key is deleted")
		})
	}
}

func TestPrefixesAreIndependent(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	a, b := must(t, client, redisstore.WithPrefix("a:")), must(t, client, redisstore.WithPrefix("b:"))
	key, ta, tb := rand.Text(), idempotency.NewToken(), idempotency.NewToken()
	sa, err := a.Claim(ctx, key, ta, time.Minute)
	require.NoError(t, err)
	sb, err := b.Claim(ctx, key, tb, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, idempotency.Acquired, sa)
	assert.Equal(t, idempotency.Acquired, sb, "the same key under another prefix")
	assert.ErrorIs(t, b.Complete(ctx, key, ta, time.Minute), idempotency.ErrNotOwner)
}

// TestServerDown needs no server: nothing listens where the client points.
func TestServerDown(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", testserver.FreePort(t)), DialerRetries: 1, MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	exactlyoncetest.StoreDown(t, must(t, client), "redisstore")
}

func TestNewRefusesNilClient(t *testing.T) {
	s, err := redisstore.New(nil)
	assert.ErrorIs(t, err, payhook.ErrConfig)
	assert.Nil(t, s)
}

// redisServer is a redis-server of the test's own, with its data on disk
// (AOF, fsync on every write) so that it survives a restart.
type redisServer struct {
	t    *testing.T
	bin  string
	args []string
	addr string
	cmd  *exec.Cmd
}

func startRedis(t *testing.T) *redisServer {
	s := &redisServer{t: t, bin: testserver.Command(t, "redis-server")}
	port, dir := testserver.FreePort(t), t.TempDir()
	s.addr = net.JoinHostPort("127.0.0.1", port)
	s.args = []string{"--bind", "127.0.0.1", "--port", port, "--dir", dir, "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--logfile", filepath.Join(dir, "redis.log")}
	s.start()
	t.Cleanup(func() {
		if s.cmd != nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	return s
}

func (s *redisServer) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.SysProcAttr = childAttr()
	require.NoError(s.t, s.cmd.Start())
	testserver.WaitListening(s.t, s.addr)
}

func (s *redisServer) stop() {
	s.t.Helper()
	require.NoError(s.t, s.cmd.Process.Signal(syscall.SIGTERM))
	s.cmd.Wait()
	s.cmd = nil
}

func TestOutage(t *testing.T) {
	srv := startRedis(t)
	// Fewer retries than the defaults (5 dials, 3 commands), so that each
	// delivery during the outage fails in milliseconds rather than seconds.
	client := redis.NewClient(&redis.Options{Addr: srv.addr, DialerRetries: 1, MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	exactlyoncetest.Outage(t, must(t, client), srv.stop, srv.start)
}

func BenchmarkClaimComplete(b *testing.B) {
	exactlyoncetest.BenchmarkClaimComplete(b, must(b, newClient(b)))
}

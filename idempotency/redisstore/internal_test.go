package redisstore

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMillis(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want int64
	}{
		{"nanosecond rounds up", time.Nanosecond, 1},
		{"millisecond", time.Millisecond, 1},
		{"just over", time.Millisecond + 1, 2},
		{"real-time lease", 250 * time.Millisecond, 250},
		{"a week", 7 * 24 * time.Hour, 604_800_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, millis(tt.in))
		})
	}
}

// TestClaimSentTwice: the client sends a command again when the reply is
// lost. The second run of a claim sees its own token and still answers
// acquired, rather than in flight, which would leave the key held by
// nobody until the lease ends; and it renews the lease.
func TestClaimSentTwice(t *testing.T) {
	url := os.Getenv("PAYHOOK_TEST_REDIS_URL")
	if url == "" {
		t.Skip("PAYHOOK_TEST_REDIS_URL is not set: run ./scripts/test") // the other tests fail under CI
	}
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	client := redis.NewClient(opts)
	defer client.Close()
	ctx := context.Background()
	key, token := []string{"sent-twice:" + rand.Text()}, rand.Text()
	for _, lease := range []int64{1_000, 60_000} {
		n, err := claimScript.Run(ctx, client, key, token, lease).Int64()
		require.NoError(t, err)
		assert.Equal(t, int64(1), n)
	}
	assert.Greater(t, client.PTTL(ctx, key[0]).Val(), 2*time.Second, "the second run set the lease anew")
	n, err := claimScript.Run(ctx, client, key, rand.Text(), 60_000).Int64()
	require.NoError(t, err)
	assert.Equal(t, int64(2), n, "another token is in flight")
}

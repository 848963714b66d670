// Package redisstore is an [idempotency.Store] kept in Redis, so that every
// replica of an application sees the same claims: a webhook delivered twice,
// to two replicas at once, is processed by exactly one of them.
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	store, err := redisstore.New(client)
//	...
//	h := payhook.Handle(provider, onEvent, payhook.WithStore(store))
//
// Each key is one Redis string, under a prefix ([WithPrefix]). A claim is
// held:<token> with a PX expiry of the lease; a completed key is "done" with
// a PX expiry of the retention. Redis expires both by itself, so the store
// needs no cleanup. Claim, Complete and Release are each one Lua script run
// with EVALSHA: one round trip, atomic on the server. Each checks the
// caller's token ([idempotency.NewToken]), so a replica whose lease ended
// cannot finish another's claim, and a claim sent again after a lost reply
// (by the client's retries or by the caller) is recognised as its own and
// renews its lease. Claim tells in flight from done in the same round trip. Redis 6 or later, Valkey, or a managed
// Redis with scripting will do; each script touches one key, so a Redis
// Cluster runs them too.
//
// Errors of the client (server down, timeout, pool exhausted) are returned
// as they are, wrapped, so the middleware answers 503 and the delivery is
// retried; the client reconnects by itself when the server is back. For
// durability across a Redis restart, run Redis with AOF (appendonly yes):
// without it a restart forgets which events were done. Keep Redis's
// maxmemory-policy at noeviction (its default): every key of the store has
// an expiry, so under any other policy a full Redis may evict a done key
// and a late duplicate of its event is processed again; with noeviction a
// full Redis refuses the claim, and the delivery is answered 503.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/internal/optcheck"
)

// DefaultPrefix is prepended to every key unless [WithPrefix] says otherwise.
const DefaultPrefix = "payhook:"

// Store is an [idempotency.Store] in Redis. Make one with [New]; the zero
// value is not usable. A Store is safe for concurrent use by many goroutines
// and many processes sharing one Redis.
type Store struct {
	refused optcheck.Refused // values the options could not use
	client  redis.Scripter
	prefix  string
}

var _ idempotency.Store = (*Store)(nil)

// Option configures [New]. An option given a value it cannot use makes
// New fail with an error wrapping payhook.ErrConfig.
type Option func(*Store)

// WithPrefix sets the prefix of the store's Redis keys, to share one Redis
// database with other data or other applications; "" keys by the bare
// idempotency key. Default: DefaultPrefix.
func WithPrefix(prefix string) Option {
	return func(s *Store) {
		s.prefix = prefix
	}
}

// New returns a Store that keeps its keys in Redis through client, a
// *redis.Client, *redis.ClusterClient or *redis.Ring (anything that runs
// scripts). The caller owns client and closes it. New fails with an error
// wrapping payhook.ErrConfig if client is nil.
func New(client redis.Scripter, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("redisstore: %w: nil client", payhook.ErrConfig)
	}
	s := &Store{client: client, prefix: DefaultPrefix}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	if err := s.refused.Err("redisstore", payhook.ErrConfig); err != nil {
		return nil, err
	}
	return s, nil
}

// The scripts' values: a held key is "held:" followed by the claim's token,
// a done key is "done".
//
// claimScript answers 1 (acquired), 2 (in flight) or 3 (done). A key that
// already holds the caller's own token is the caller's: a claim sent again
// after a lost reply, or a renewal. It is acquired again, for a new lease.
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == false or v == 'held:' .. ARGV[1] then
	redis.call('SET', KEYS[1], 'held:' .. ARGV[1], 'PX', ARGV[2])
	return 1
elseif v == 'done' then
	return 3
end
return 2
`)

// finishScript completes the key for ARGV[2] milliseconds or, when ARGV[2]
// is 0, releases it, if the caller's token holds it. It answers 1 if it did,
// 0 if the caller is not the owner.
var finishScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= 'held:' .. ARGV[1] then
	return 0
end
if ARGV[2] == '0' then
	redis.call('DEL', KEYS[1])
else
	redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
end
return 1
`)

// Claim implements [idempotency.Store] in one round trip.
func (s *Store) Claim(ctx context.Context, key, token string, lease time.Duration) (idempotency.State, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("redisstore: claim: %w", err)
	}
	if token == "" {
		return 0, errors.New("redisstore: claim: empty token")
	}
	n, err := claimScript.Run(ctx, s.client, []string{s.prefix + key}, token, millis(lease)).Int64()
	if err != nil {
		return 0, fmt.Errorf("redisstore: claim: %w", err)
	}
	switch n {
	case 1:
		return idempotency.Acquired, nil
	case 2:
		return idempotency.InFlight, nil
	case 3:
		return idempotency.Done, nil
	}
	return 0, fmt.Errorf("redisstore: claim: unexpected answer %d", n)
}

// Complete implements [idempotency.Store].
func (s *Store) Complete(ctx context.Context, key, token string, retention time.Duration) error {
	return s.finish(ctx, "complete", key, token, millis(retention))
}

// Release implements [idempotency.Store].
func (s *Store) Release(ctx context.Context, key, token string) error {
	return s.finish(ctx, "release", key, token, 0)
}

// finish completes key for retention milliseconds, or releases it if
// retention is 0.
func (s *Store) finish(ctx context.Context, op, key, token string, retention int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if token == "" {
		return idempotency.ErrNotOwner
	}
	n, err := finishScript.Run(ctx, s.client, []string{s.prefix + key}, token, retention).Int64()
	switch {
	case err != nil:
		return fmt.Errorf("redisstore: %s: %w", op, err)
	case n == 0:
		return idempotency.ErrNotOwner
	}
	return nil
}

// millis is d in whole milliseconds, rounded up, at least 1: Redis's PX.
func millis(d time.Duration) int64 {
	return int64(max(1, (d+time.Millisecond-1)/time.Millisecond))
}

// Package idempotency records which webhook events have been processed, so
// that each is acted on exactly once even when a provider delivers it twice,
// retries it, or two replicas receive it at the same moment.
//
// A Store holds one record per key. A record is either held (claimed by one
// token for a lease) or done (completed, kept for a retention period):
//
//	absent ──Claim(token)──▶ held(token, lease) ──Complete(token)──▶ done(retention) ──retention ends──▶ absent
//	                          │   │    ▲
//	                          │   └────┘ Claim(token) again: Acquired, the lease renewed
//	                          └──Release(token), or the lease ends──▶ absent (claimable again)
//
// The middleware in package payhook claims an event's key with a fresh
// token ([NewToken]) before calling the application's handler, completes it
// when the handler succeeds and releases it when the handler fails (or when
// the claim itself failed, in case the store applied it), so a failed event
// can be processed again on the provider's retry while a processed one
// never is.
//
// [NewMemory] is the default store, for a single process. Stores that
// outlive the process or share state between replicas live in their own
// modules so that their drivers are not forced on every user:
// github.com/payhook/payhook/idempotency/sqlitestore (a file, durable on one
// machine), github.com/payhook/payhook/idempotency/redisstore and
// github.com/payhook/payhook/idempotency/pgstore. Package
// [github.com/payhook/payhook/idempotency/idempotencytest] checks any Store
// against the contract below.
package idempotency

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Store records the processing state of keys. Every method must be safe for
// concurrent use by multiple goroutines and, for shared stores, by multiple
// processes.
//
// The caller names its claim with a token of its own ([NewToken]), passed to
// Claim and then to Complete or Release. Because the token is the caller's,
// a Claim is safe to send again: when the store applied a claim but its
// answer was lost (a timeout, a dropped connection), the caller still knows
// the token, so a repeated Claim is recognised as its own and a Release
// frees the key, rather than the key staying held by nobody until the lease
// ends.
//
// The contract, which [github.com/payhook/payhook/idempotency/idempotencytest.Run]
// checks:
//
//   - Claim on a key that is absent, released, or whose lease has ended
//     atomically takes it for token and lease and returns [Acquired]. Of any
//     number of concurrent Claims of one key with different tokens, exactly
//     one returns Acquired.
//   - Claim with the token that holds the key under an unexpired lease
//     returns Acquired again and renews the lease: it then ends lease after
//     this Claim. A retried Claim is thus its own, and a long handler keeps
//     its key by claiming it again.
//   - Claim with any other token on a key held under an unexpired lease
//     returns [InFlight]; on a key done within its retention, it returns
//     [Done] whatever the token. Neither changes the record.
//   - Complete with the token of the key's current, unexpired claim marks the
//     key done for retention. Release with that token makes the key absent.
//     Otherwise (another token holds or completed the key, or the caller's
//     lease has ended) both return [ErrNotOwner] and change nothing: a
//     replica whose lease expired cannot complete or release another's claim.
//   - Claim with an empty token returns an error and changes nothing;
//     Complete and Release with an empty token return ErrNotOwner.
//   - Any other error means the store could not answer (server down,
//     timeout, full), and Claim's State is then 0; the caller must treat the key's state as unknown and
//     must not act as if it were claimed or done. The claim may have been
//     applied all the same: a caller that gives up on it releases it with
//     its token.
//
// Tokens must be unique to each claimer: two claimers of one key with the
// same token would both be Acquired. [NewToken] makes such tokens. Durations
// are positive; a store may round them up to its resolution (milliseconds
// for Redis, microseconds for PostgreSQL).
type Store interface {
	// Claim tries to take key for token for the duration of lease.
	Claim(ctx context.Context, key, token string, lease time.Duration) (State, error)
	// Complete marks the key claimed with token as done, kept for retention.
	Complete(ctx context.Context, key, token string, retention time.Duration) error
	// Release gives up the claim with token, so that key can be claimed again.
	Release(ctx context.Context, key, token string) error
}

// State is the outcome of a claim.
type State uint8

const (
	// Acquired means the caller's token now holds the key, and the caller
	// must Complete or Release it.
	Acquired State = iota + 1
	// InFlight means another token holds the key under an unexpired lease.
	InFlight
	// Done means the key was completed and its retention has not ended.
	Done
)

// String returns "acquired", "in flight" or "done".
func (s State) String() string {
	switch s {
	case Acquired:
		return "acquired"
	case InFlight:
		return "in flight"
	case Done:
		return "done"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

var (
	// ErrNotOwner is returned by Complete and Release when the token is not
	// that of the key's current, unexpired claim.
	ErrNotOwner = errors.New("idempotency: not the owner of the claim")
	// ErrFull is returned by a bounded store that cannot take a new key
	// without forgetting one that is still in flight.
	ErrFull = errors.New("idempotency: store full")
)

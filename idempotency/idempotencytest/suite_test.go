package idempotencytest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/idempotencytest"
	"github.com/payhook/payhook/payhooktest"
)

// advance is c's Advance as a Harness's.
func advance(c *payhooktest.Clock) func(time.Duration) { return func(d time.Duration) { c.Advance(d) } }

// harnessOf returns harnesses of memory stores on fake clocks, wrapped by
// wrap.
func harnessOf(wrap func(m *idempotency.Memory, now func() time.Time) idempotency.Store) func() (idempotencytest.Harness, error) {
	return func() (idempotencytest.Harness, error) {
		c := &payhooktest.Clock{}
		return idempotencytest.Harness{Store: wrap(idempotency.NewMemory(idempotency.WithClock(c.Now)), c.Now), Advance: advance(c)}, nil
	}
}

func TestTestPassesMemory(t *testing.T) {
	if err := idempotencytest.Test(harnessOf(func(m *idempotency.Memory, _ func() time.Time) idempotency.Store { return m })); err != nil {
		t.Fatal(err)
	}
}

// TestTestFailsBrokenStores: the suite finds each way a store can break the
// contract, and names the case.
func TestTestFailsBrokenStores(t *testing.T) {
	tests := []struct {
		name  string
		wrap  func(m *idempotency.Memory, now func() time.Time) idempotency.Store
		cases []string // that must fail
	}{
		{"own token is in flight (the old contract)", func(m *idempotency.Memory, _ func() time.Time) idempotency.Store { return &ownInFlight{Memory: m} },
			[]string{"ClaimAgainWithOwnToken:", "ClaimAgainRenewsLease:"}},
		{"renewal keeps the first lease", func(m *idempotency.Memory, now func() time.Time) idempotency.Store {
			return &noRenewal{Memory: m, now: now}
		},
			[]string{"ClaimAgainRenewsLease:"}},
		{"every claim acquires", func(m *idempotency.Memory, _ func() time.Time) idempotency.Store { return alwaysAcquired{m} },
			[]string{"ClaimHeldKeyIsInFlight:", "ConcurrentClaimsOneWinner:", "CompleteMakesDone:", "EmptyTokenIsRefused:"}},
		{"release does nothing", func(m *idempotency.Memory, _ func() time.Time) idempotency.Store { return lazyRelease{m} },
			[]string{"ReleaseMakesClaimable:"}},
		{"any token completes", func(m *idempotency.Memory, _ func() time.Time) idempotency.Store { return &anyToken{Memory: m} },
			[]string{"OnlyTheOwnerFinishes:", "ExpiredLeaseIsTakenOver:"}},
		{"nil store", func(*idempotency.Memory, func() time.Time) idempotency.Store { return nil },
			[]string{"ClaimAbsentKey: Harness.Store is nil"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := idempotencytest.Test(harnessOf(tt.wrap))
			if err == nil {
				t.Fatal("Test found nothing wrong")
			}
			for _, c := range tt.cases {
				if !strings.Contains(err.Error(), c) {
					t.Errorf("Test's error does not name %s:\n%v", c, err)
				}
			}
		})
	}
}

// ownInFlight answers in flight to the token that holds the key.
type ownInFlight struct {
	*idempotency.Memory
	mu   sync.Mutex
	held map[string]string // key: token
}

func (s *ownInFlight) Claim(ctx context.Context, key, token string, lease time.Duration) (idempotency.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held = map[string]string{}
	}
	state, err := s.Memory.Claim(ctx, key, token, lease)
	if state == idempotency.Acquired && s.held[key] == token {
		return idempotency.InFlight, nil // acquired again, but it says otherwise
	}
	if state == idempotency.Acquired {
		s.held[key] = token
	}
	return state, err
}

// noRenewal acquires again for the holding token but keeps its first
// lease.
type noRenewal struct {
	*idempotency.Memory
	now  func() time.Time
	mu   sync.Mutex
	held map[string]heldBy
}

type heldBy struct {
	token string
	until time.Time
}

func (s *noRenewal) Claim(ctx context.Context, key, token string, lease time.Duration) (idempotency.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held = map[string]heldBy{}
	}
	if h := s.held[key]; h.token == token && s.now().Before(h.until) {
		return idempotency.Acquired, nil // without renewing
	}
	state, err := s.Memory.Claim(ctx, key, token, lease)
	if state == idempotency.Acquired {
		s.held[key] = heldBy{token, s.now().Add(lease)}
	}
	return state, err
}

// alwaysAcquired acquires every claim, whatever the key's state.
type alwaysAcquired struct{ *idempotency.Memory }

func (s alwaysAcquired) Claim(ctx context.Context, key, token string, lease time.Duration) (idempotency.State, error) {
	s.Memory.Claim(ctx, key, token, lease)
	return idempotency.Acquired, nil
}

// lazyRelease answers every release with success and does nothing.
type lazyRelease struct{ *idempotency.Memory }

func (lazyRelease) Release(context.Context, string, string) error { return nil }

// anyToken completes and releases a held key whatever the token.
type anyToken struct {
	*idempotency.Memory
	mu    sync.Mutex
	owner map[string]string
}

func (s *anyToken) Claim(ctx context.Context, key, token string, lease time.Duration) (idempotency.State, error) {
	state, err := s.Memory.Claim(ctx, key, token, lease)
	if state == idempotency.Acquired {
		s.mu.Lock()
		if s.owner == nil {
			s.owner = map[string]string{}
		}
		s.owner[key] = token
		s.mu.Unlock()
	}
	return state, err
}

func (s *anyToken) Complete(ctx context.Context, key, _ string, retention time.Duration) error {
	s.mu.Lock()
	token := s.owner[key]
	s.mu.Unlock()
	return s.Memory.Complete(ctx, key, token, retention)
}

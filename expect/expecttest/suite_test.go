package expecttest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/expect/expecttest"
)

func TestMemory(t *testing.T) {
	shared := expect.NewMemory()
	expecttest.Run(t, func(t *testing.T) expect.Store { return shared })
}

func TestMemoryFresh(t *testing.T) {
	if err := expecttest.Test(func() (expect.Store, error) { return expect.NewMemory(), nil }); err != nil {
		t.Fatal(err)
	}
}

// doubleSettle is a store that breaks the contract: a second payment
// settles an expectation again.
type doubleSettle struct{ *expect.Memory }

func (d doubleSettle) Settle(ctx context.Context, k expect.Key, s expect.Settlement) (expect.Expectation, error) {
	x, err := d.Memory.Settle(ctx, k, s)
	if errors.Is(err, expect.ErrSettled) || errors.Is(err, expect.ErrConflict) {
		return x, nil
	}
	return x, err
}

// leakyDue is a store whose Due leases nothing.
type leakyDue struct{ *expect.Memory }

func (l leakyDue) Due(ctx context.Context, providers []string, now time.Time, lease time.Duration, limit int) ([]expect.Expectation, error) {
	return l.Memory.Due(ctx, providers, now, 0, limit)
}

// TestCatchesBrokenStores: the suite fails stores that settle twice or
// lease nothing.
func TestCatchesBrokenStores(t *testing.T) {
	for name, tc := range map[string]struct {
		store func() expect.Store
		want  []string
	}{
		"settles twice":  {func() expect.Store { return doubleSettle{expect.NewMemory()} }, []string{"ConcurrentSettlesOneWinner", "OnePaymentSettlesOne", "SettleByRef"}},
		"leases nothing": {func() expect.Store { return leakyDue{expect.NewMemory()} }, []string{"DueLeases", "ConcurrentDueTakesEachOnce"}},
	} {
		t.Run(name, func(t *testing.T) {
			err := expecttest.Test(func() (expect.Store, error) { return tc.store(), nil })
			if err == nil {
				t.Fatal("Test passed a broken store")
			}
			for _, c := range tc.want {
				if !strings.Contains(err.Error(), c+":") {
					t.Errorf("case %s did not fail; got:\n%v", c, err)
				}
			}
		})
	}
}

func TestMemoryReplicas(t *testing.T) {
	shared := expect.NewMemory()
	expecttest.RunReplicas(t, func(t *testing.T) []expect.Store {
		return []expect.Store{shared, shared}
	})
}

// TestReplicasReachEveryStore: a broken store among the replicas fails
// the concurrent cases, so each replica is used.
func TestReplicasReachEveryStore(t *testing.T) {
	err := expecttest.TestReplicas(func() ([]expect.Store, error) {
		shared := expect.NewMemory()
		return []expect.Store{shared, doubleSettle{shared}}, nil
	})
	for _, c := range []string{"ConcurrentSettlesOneWinner", "OnePaymentSettlesOne"} {
		if err == nil || !strings.Contains(err.Error(), c+":") {
			t.Errorf("case %s did not fail; got:\n%v", c, err)
		}
	}
	if err := expecttest.TestReplicas(func() ([]expect.Store, error) { return []expect.Store{expect.NewMemory()}, nil }); err == nil {
		t.Error("TestReplicas passed with one store")
	}
}

func BenchmarkMemory(b *testing.B) {
	expecttest.Benchmark(b, func(*testing.B) expect.Store { return expect.NewMemory() })
}

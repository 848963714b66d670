package expecttest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/payhook/payhook/expect"
)

// replicaCases are the cases whose concurrent calls spread over replicas.
var replicaCases = []tcase{
	{"ConcurrentSettlesOneWinner", concurrentSettlesOneWinner},
	{"OnePaymentSettlesOne", onePaymentSettlesOne},
	{"ConcurrentDueTakesEachOnce", concurrentDueTakesEachOnce},
	{"ConcurrentMarkOverdueEachOnce", concurrentMarkOverdueEachOnce},
	{"ConcurrentForgetsCountEachOnce", concurrentForgetsCountEachOnce},
}

// RunReplicas checks that stores sharing one backend (one database, one
// Redis) share its expectations, as replicas of an application do: each
// of stores should be a replica's own (its own client, pool or
// connection). Concurrent Settles through them settle one expectation
// once, and a payment id one expectation; concurrent Dues never hand one
// expectation to two callers within its lease; concurrent MarkOverdues
// return each expectation once. Each case runs as a parallel subtest with
// the stores from newStores, which returns at least two.
func RunReplicas(t *testing.T, newStores func(t *testing.T) []expect.Store) {
	t.Helper()
	for _, c := range replicaCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			stores := newStores(t)
			if len(stores) < 2 {
				t.Fatalf("RunReplicas needs two stores or more, got %d", len(stores))
			}
			if err := c.run(replicasCheck(stores)); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestReplicas is RunReplicas's error-returning form: it runs each case in
// turn with the stores from newStores and returns their failures joined.
func TestReplicas(newStores func() ([]expect.Store, error)) error {
	var errs []error
	for _, c := range replicaCases {
		stores, err := newStores()
		if err == nil && len(stores) < 2 {
			err = fmt.Errorf("TestReplicas needs two stores or more, got %d", len(stores))
		}
		if err == nil {
			err = c.run(replicasCheck(stores))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

func replicasCheck(stores []expect.Store) *check {
	c := newCheck(stores[0])
	c.replicas = stores
	return c
}

package storetest_test

import (
	"testing"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/storetest"
)

// The proofs need no server: two replicas sharing one memory store are two
// replicas sharing a store.

func TestReplicasProcessOnceMemory(t *testing.T) {
	shared := idempotency.NewMemory()
	storetest.ReplicasProcessOnce(t, func(testing.TB) idempotency.Store { return shared })
}

func TestCrashedReplicaMemory(t *testing.T) {
	shared := idempotency.NewMemory()
	storetest.CrashedReplica(t, func(testing.TB) idempotency.Store { return shared })
}

func BenchmarkClaimCompleteMemory(b *testing.B) {
	storetest.BenchmarkClaimComplete(b, idempotency.NewMemory(idempotency.WithMaxKeys(1<<22)))
}

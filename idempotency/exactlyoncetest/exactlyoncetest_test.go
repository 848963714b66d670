package exactlyoncetest_test

import (
	"testing"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/exactlyoncetest"
)

// The proofs need no server: two replicas sharing one memory store are two
// replicas sharing a store.

func TestReplicasProcessOnceMemory(t *testing.T) {
	shared := idempotency.NewMemory()
	exactlyoncetest.ReplicasProcessOnce(t, func(testing.TB) idempotency.Store { return shared })
}

func TestCrashedReplicaMemory(t *testing.T) {
	shared := idempotency.NewMemory()
	exactlyoncetest.CrashedReplica(t, func(testing.TB) idempotency.Store { return shared })
}

func BenchmarkClaimCompleteMemory(b *testing.B) {
	exactlyoncetest.BenchmarkClaimComplete(b, idempotency.NewMemory(idempotency.WithMaxKeys(1<<22)))
}

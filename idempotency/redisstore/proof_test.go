package redisstore_test

import (
	"testing"

	"github.com/payhook/payhook/internal/storetest"
)

// The proofs that the store gives payhook exactly-once processing across
// replicas, through the whole middleware, over HTTP. They are shared with
// the other stores; the outage proof, which needs a server of its own, is
// beside this store's other tests.

func TestReplicasProcessOnce(t *testing.T) { storetest.ReplicasProcessOnce(t, newStore) }

func TestCrashedReplica(t *testing.T) { storetest.CrashedReplica(t, newStore) }

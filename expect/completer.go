package expect

import (
	"context"
	"time"

	"github.com/payhook/payhook/idempotency"
)

// Completer is implemented by a Store that can settle an expectation and
// complete an idempotency claim in one transaction, when the claim is held
// in an idempotency store of the same database (sqlitestore, pgstore and
// redisstore each with its own Expectations). Without it, a caller settles
// first and completes after: a crash between the two leaves an
// expectation settled whose event's key is not done, until the lease ends
// and a retry settles it again (its own payment: no error).
type Completer interface {
	// SettleComplete settles the expectation k finds with s, as Settle
	// does, and in the same transaction completes the claim of key with
	// token in store for retention, as store.Complete does: both or
	// neither. A refused Settle or Complete changes neither. It reports
	// handled false, having done nothing, when store is not one it can
	// write in its transaction; the caller then calls Settle and
	// store.Complete itself.
	SettleComplete(ctx context.Context, k Key, s Settlement, store idempotency.Store, key, token string, retention time.Duration) (x Expectation, handled bool, err error)
}

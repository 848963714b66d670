package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payhook/payhook/idempotency"
)

// ErrOtherDatabase is returned by [Store.CompleteTx] for a transaction that
// is not on the store's database.
var ErrOtherDatabase = errors.New("pgstore: the transaction is not on the store's database")

// CompleteTx is [Store.Complete] run in tx, a transaction of the caller's on
// the store's database: the key is marked done if and only if tx commits,
// together with whatever else tx writes. payhook's PostgreSQL inbox
// (github.com/payhook/payhook/inbox/riverinbox) uses it to put a delivery's
// entry and mark its key done in one transaction, so that a crash never
// leaves one without the other.
//
// It runs the statement of Complete, bounded by [WithTimeout]. It returns
// [ErrOtherDatabase], having run nothing, when tx's connection is not to the
// host, port and database of the store's pool; [idempotency.ErrNotOwner]
// when token does not hold key (another owner took it after the caller's
// lease ended), and the caller should then roll tx back; any other error
// when the statement failed, which leaves tx aborted.
func (s *Store) CompleteTx(ctx context.Context, tx pgx.Tx, key, token string, retention time.Duration) error {
	if !sameDatabase(tx.Conn().Config(), s.pool.Config().ConnConfig) {
		return ErrOtherDatabase
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tag, err := tx.Exec(ctx, s.completeSQL, []byte(key), token, micros(retention))
	switch {
	case err != nil:
		return fmt.Errorf("pgstore: complete: %w", err)
	case tag.RowsAffected() == 0:
		return idempotency.ErrNotOwner
	}
	return nil
}

// sameDatabase reports whether two connection configurations reach the
// same database of the same server.
func sameDatabase(a, b *pgx.ConnConfig) bool {
	return a.Host == b.Host && a.Port == b.Port && a.Database == b.Database
}

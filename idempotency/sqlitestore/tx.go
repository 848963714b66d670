package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/payhook/payhook/idempotency"
)

// ErrOtherDatabase is returned by [Store.CompleteTx] for a transaction that
// is not on the store's database file.
var ErrOtherDatabase = errors.New("sqlitestore: the transaction is not on the store's database file")

// CompleteTx is [Store.Complete] run in tx, a transaction of the caller's on
// the store's database file: the key is marked done if and only if tx
// commits, together with whatever else tx writes. payhook's SQLite inbox
// (github.com/payhook/payhook/inbox/sqliteinbox) uses it to put a
// delivery's entry and mark its key done in one transaction, so that a
// crash never leaves one without the other.
//
// Begin tx on a database opened with [OpenDB] (or [DSN]), whose
// transactions take the write lock at BEGIN IMMEDIATE: a transaction that
// reads first and writes later could meet SQLITE_BUSY when it upgrades its
// lock. It returns [ErrOtherDatabase], having run nothing, when tx's main
// database is not the store's file (or either is in memory, where that
// cannot be told, or neither New nor [Store.Migrate] could read the store's
// file); [idempotency.ErrNotOwner] when token does not hold key
// (another owner took it after the caller's lease ended), and the caller
// should then roll tx back; any other error when the statement failed.
func (s *Store) CompleteTx(ctx context.Context, tx *sql.Tx, key, token string, retention time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	mine := s.file()
	theirs, err := mainFile(ctx, tx)
	if err != nil {
		return fmt.Errorf("sqlitestore: complete: %w", err)
	}
	if mine == "" || mine != theirs {
		return ErrOtherDatabase
	}
	now := s.now()
	res, err := tx.ExecContext(ctx, s.completeSQL, []byte(key), token, micros(now.Add(retention)), micros(now))
	if err != nil {
		return fmt.Errorf("sqlitestore: complete: %w", err)
	}
	switch n, err := res.RowsAffected(); {
	case err != nil:
		return fmt.Errorf("sqlitestore: complete: %w", err)
	case n == 0:
		return idempotency.ErrNotOwner
	}
	return nil
}

// file returns the path of the store's database file, as New or Migrate
// read it ("" if neither could). It cannot be read in CompleteTx: the
// store's one connection may be tx's.
func (s *Store) file() string {
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	return s.path
}

// readFile reads the path of the store's database file, if not known yet.
func (s *Store) readFile(ctx context.Context) error {
	if s.file() != "" {
		return nil
	}
	p, err := mainFile(ctx, s.db)
	if err == nil {
		s.fileMu.Lock()
		s.path = p
		s.fileMu.Unlock()
	}
	return err
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// mainFile returns the path of q's main database file; "" for a database
// in memory.
func mainFile(ctx context.Context, q querier) (string, error) {
	var path string
	err := q.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path)
	return path, err
}

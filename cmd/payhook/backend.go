package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/asynqinbox"
	"github.com/payhook/payhook/inbox/riverinbox"
	"github.com/payhook/payhook/inbox/sqliteinbox"
)

// storeConn is an open PAYHOOK_STORE: the idempotency store and the
// connection it runs on, which the inbox of the same backend shares, so
// that the two agree after a crash (one transaction for the entry and the
// key, with SQLite and PostgreSQL).
type storeConn struct {
	spec  string
	store idempotency.Store
	close func()

	db    *sql.DB       // SQLite
	pool  *pgxpool.Pool // PostgreSQL
	redis *redis.Client // Redis
}

// errMemoryInbox is payhook inbox's answer for PAYHOOK_STORE=memory.
var errMemoryInbox = fmt.Errorf("PAYHOOK_STORE=memory: the memory inbox lives in the serve process and ends with it; " +
	"payhook inbox operates a durable one (unset PAYHOOK_STORE for SQLite, or sqlite:PATH, redis://..., postgres://...)")

// inboxBackend returns the inbox of c's backend, on c's connection, its
// tables created:
//
//	memory      inbox.NewMemory (this process only)
//	SQLite      sqliteinbox, table payhook_inbox in the same file
//	PostgreSQL  riverinbox, River's tables in the schema payhook of the same database
//	Redis       asynqinbox, the asynq queue payhook on the same server
//
// durable says that the caller is another process than serve's (payhook
// inbox): the memory inbox is then refused.
func (c *storeConn) inboxBackend(ctx context.Context, logger *slog.Logger, durable bool) (inbox.Backend, error) {
	switch {
	case c.db != nil:
		b, err := sqliteinbox.New(c.db, sqliteinbox.WithLogger(logger))
		if err != nil {
			return nil, err
		}
		return b, c.migrate(ctx, b.Migrate)
	case c.pool != nil:
		b, err := riverinbox.New(c.pool, riverinbox.WithLogger(logger))
		if err != nil {
			return nil, err
		}
		return b, c.migrate(ctx, b.Migrate)
	case c.redis != nil:
		b, err := asynqinbox.New(c.redis, asynqinbox.WithLogger(logger))
		if err != nil {
			return nil, err
		}
		return b, nil
	case durable:
		return nil, errMemoryInbox
	}
	return inbox.NewMemory(), nil
}

// migrate runs m, a backend's Migrate, bounded to 30 seconds, its error
// named after c's store.
func (c *storeConn) migrate(ctx context.Context, m func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := m(ctx); err != nil {
		return storeError(c.spec, err)
	}
	return nil
}

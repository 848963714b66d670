package main

import (
	"context"
	"fmt"

	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/idempotency/pgstore"
	"github.com/payhook/payhook/idempotency/redisstore"
	"github.com/payhook/payhook/idempotency/sqlitestore"
)

// errMemoryExpectations is payhook expect's answer for PAYHOOK_STORE=memory.
var errMemoryExpectations = fmt.Errorf("PAYHOOK_STORE=memory: the memory expectations live in the serve process and end with it; " +
	"payhook expect operates durable ones (unset PAYHOOK_STORE for SQLite, or sqlite:PATH, redis://..., postgres://...), " +
	"and serve's admin endpoint reaches the memory ones")

// expectations returns the expectations store of c's backend, on c's
// connection, its table created, beside the idempotency store (and the
// inbox), so that an expectation outlives serve exactly as a processed key
// does:
//
//	memory      expect.NewMemory (this process only)
//	SQLite      sqlitestore.Expectations, table payhook_expectations in the same file
//	PostgreSQL  pgstore.Expectations, table payhook_expectations in the same database
//	Redis       redisstore.Expectations, on the same server
//
// durable says that the caller is another process than serve's (payhook
// expect): the memory store is then refused.
func (c *storeConn) expectations(ctx context.Context, durable bool) (expect.Store, error) {
	switch {
	case c.db != nil:
		s, err := sqlitestore.NewExpectations(c.db)
		if err != nil {
			return nil, err
		}
		return s, c.migrate(ctx, s.Migrate)
	case c.pool != nil:
		s, err := pgstore.NewExpectations(c.pool)
		if err != nil {
			return nil, err
		}
		return s, c.migrate(ctx, s.Migrate)
	case c.redis != nil:
		return redisstore.NewExpectations(c.redis)
	case durable:
		return nil, errMemoryExpectations
	}
	return expect.NewMemory(), nil
}

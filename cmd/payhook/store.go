package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/pgstore"
	"github.com/payhook/payhook/idempotency/redisstore"
)

// cleanupEvery is how often serve deletes expired rows of a PostgreSQL store.
const cleanupEvery = time.Hour

// openStore opens the idempotency store that PAYHOOK_STORE names:
//
//	memory (or empty)            one process's memory
//	redis://... or rediss://...  Redis, shared by every replica (go-redis URL options apply)
//	postgres://... or postgresql://...
//	                             PostgreSQL, shared by every replica (pgx URL options apply);
//	                             its table is created at startup, and its expired rows
//	                             deleted every hour
//
// It checks that the server answers before serve listens, so that a wrong
// address fails at startup; later outages answer 503 until the server is
// back. The returned func closes the store. Errors never show a password.
// The hourly cleanup logs its failures to logger.
func openStore(ctx context.Context, spec string, logger *slog.Logger) (idempotency.Store, func(), error) {
	scheme, _, _ := strings.Cut(spec, "://")
	switch {
	case storeForgets(spec):
		return idempotency.NewMemory(), func() {}, nil
	case scheme == "redis" || scheme == "rediss":
		return openRedis(ctx, spec)
	case scheme == "postgres" || scheme == "postgresql":
		return openPostgres(ctx, spec, logger)
	}
	return nil, nil, fmt.Errorf("PAYHOOK_STORE=%s: unknown store (want memory, redis://... or postgres://...)", storeName(spec))
}

// storeForgets reports whether the store that PAYHOOK_STORE names forgets
// what it holds when the process ends.
func storeForgets(spec string) bool { return spec == "" || spec == "memory" }

// storeError describes a failure to open the store at spec. The drivers'
// errors name the host and user, never the password, but they may quote
// the URL, so it is cut out of them. A URL that net/url cannot parse is
// quoted escaped (%q), which is not spec's text: only the reason is kept.
func storeError(spec string, err error) error {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = "invalid URL: " + ue.Err.Error()
	}
	return fmt.Errorf("PAYHOOK_STORE=%s: %s", storeName(spec), strings.ReplaceAll(msg, spec, storeName(spec)))
}

func openRedis(ctx context.Context, spec string) (idempotency.Store, func(), error) {
	opts, err := redis.ParseURL(spec)
	if err != nil {
		return nil, nil, storeError(spec, err)
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, nil, storeError(spec, err)
	}
	return redisstore.New(client), func() { client.Close() }, nil
}

func openPostgres(ctx context.Context, spec string, logger *slog.Logger) (idempotency.Store, func(), error) {
	pool, err := pgxpool.New(ctx, spec)
	if err != nil {
		return nil, nil, storeError(spec, err)
	}
	store, err := pgstore.New(pool)
	if err == nil {
		migrateCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = store.Migrate(migrateCtx)
		cancel()
	}
	if err != nil {
		pool.Close()
		return nil, nil, storeError(spec, err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(cleanupEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := store.Cleanup(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("payhook: idempotency cleanup", "error", err)
			}
		}
	}()
	return store, func() {
		stop()
		<-done
		pool.Close()
	}, nil
}

// storeName is PAYHOOK_STORE as serve logs it, without a password: not in
// the URL's user, nor in a query parameter (pgx reads ?password=), nor in
// a "host=... password=..." string, which is not a URL and is not shown.
func storeName(spec string) string {
	if storeForgets(spec) {
		return "memory"
	}
	u, err := url.Parse(spec)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		if strings.ContainsAny(spec, "=@: ") {
			return "(hidden: not a URL)"
		}
		return strconv.Quote(spec)
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}

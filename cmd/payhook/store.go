package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/pgstore"
	"github.com/payhook/payhook/idempotency/redisstore"
	"github.com/payhook/payhook/idempotency/sqlitestore"
)

// cleanupEvery is how often serve deletes the expired rows of a SQLite or
// PostgreSQL store.
const cleanupEvery = time.Hour

// defaultSQLite is the SQLite file of an unset PAYHOOK_STORE, in the
// working directory.
const defaultSQLite = "payhook.db"

// openStore opens the idempotency store that PAYHOOK_STORE names:
//
//	(unset or empty)             SQLite, the file payhook.db in the working directory
//	sqlite:PATH                  SQLite, the file PATH (created if need be)
//	memory                       one process's memory: forgotten on restart
//	redis://... or rediss://...  Redis, shared by every replica (go-redis URL options apply)
//	postgres://... or postgresql://...
//	                             PostgreSQL, shared by every replica (pgx URL options apply)
//
// A SQLite or PostgreSQL table is created at startup, and its expired rows
// deleted every hour. openStore checks that the file opens or the server
// answers before serve listens, so that a wrong path or address fails at
// startup; later outages answer 503 until the server is back. The returned
// func closes the store. Errors never show a password. The hourly cleanup
// logs its failures to logger.
func openStore(ctx context.Context, spec string, logger *slog.Logger) (idempotency.Store, func(), error) {
	c, err := openConn(ctx, spec, logger)
	if err != nil {
		return nil, nil, err
	}
	return c.store, c.close, nil
}

// openConn is openStore, with the connection the store runs on, for the
// inbox to share (backend.go).
func openConn(ctx context.Context, spec string, logger *slog.Logger) (*storeConn, error) {
	scheme, _, _ := strings.Cut(spec, "://")
	path, sqlite := strings.CutPrefix(spec, "sqlite:")
	switch {
	case spec == "":
		return openSQLite(ctx, spec, defaultSQLite, logger)
	case sqlite:
		return openSQLite(ctx, spec, path, logger)
	case storeForgets(spec):
		return &storeConn{spec: spec, store: idempotency.NewMemory(), close: func() {}}, nil
	case scheme == "redis" || scheme == "rediss":
		return openRedis(ctx, spec)
	case scheme == "postgres" || scheme == "postgresql":
		return openPostgres(ctx, spec, logger)
	}
	return nil, fmt.Errorf("PAYHOOK_STORE=%s: unknown store (want sqlite:PATH, memory, redis://... or postgres://...; unset: sqlite:%s)", storeName(spec), defaultSQLite)
}

// storeForgets reports whether the store that PAYHOOK_STORE names forgets
// what it holds when the process ends: the memory store.
func storeForgets(spec string) bool { return spec == "memory" }

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
	if spec == "" {
		return fmt.Errorf("PAYHOOK_STORE unset, so %s: %s", storeName(spec), msg)
	}
	return fmt.Errorf("PAYHOOK_STORE=%s: %s", storeName(spec), strings.ReplaceAll(msg, spec, storeName(spec)))
}

func openRedis(ctx context.Context, spec string) (*storeConn, error) {
	opts, err := redis.ParseURL(spec)
	if err != nil {
		return nil, storeError(spec, err)
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, storeError(spec, err)
	}
	store, err := redisstore.New(client)
	if err != nil {
		client.Close()
		return nil, err
	}
	return &storeConn{spec: spec, store: store, close: func() { client.Close() }, redis: client}, nil
}

func openPostgres(ctx context.Context, spec string, logger *slog.Logger) (*storeConn, error) {
	pool, err := pgxpool.New(ctx, spec)
	if err != nil {
		return nil, storeError(spec, err)
	}
	store, err := pgstore.New(pool)
	c, err := serveTable(ctx, spec, store, err, pool.Close, logger)
	if c != nil {
		c.pool = pool
	}
	return c, err
}

func openSQLite(ctx context.Context, spec, path string, logger *slog.Logger) (*storeConn, error) {
	if path == "" {
		return nil, fmt.Errorf("PAYHOOK_STORE=%s: no file named, as in sqlite:payhook.db", storeName(spec))
	}
	if err := createPrivate(path); err != nil {
		return nil, storeError(spec, err)
	}
	db, err := sqlitestore.OpenDB(path)
	if err != nil {
		return nil, storeError(spec, err)
	}
	store, err := sqlitestore.New(db)
	c, err := serveTable(ctx, spec, store, err, func() { db.Close() }, logger)
	if c != nil {
		c.db = db
	}
	return c, err
}

// createPrivate creates the SQLite file at path, empty, readable and
// writable by its owner only (0600), unless it is there already: it holds
// every event serve forwards, and SQLite creates the -wal and -shm files
// beside it with the same mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// tableStore is a store kept in a table of a database: PostgreSQL's or
// SQLite's.
type tableStore interface {
	idempotency.Store
	Migrate(context.Context) error
	Cleanup(context.Context) (int64, error)
}

// serveTable creates store's table, unless err (New's) is set, and then
// deletes its expired rows every cleanupEvery. On an error it closes the
// database with closeDB; the connection's close stops the cleanup and
// closes the database.
func serveTable(ctx context.Context, spec string, store tableStore, err error, closeDB func(), logger *slog.Logger) (*storeConn, error) {
	if err == nil {
		migrateCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = store.Migrate(migrateCtx)
		cancel()
	}
	if err != nil {
		closeDB()
		return nil, storeError(spec, err)
	}
	stop := cleanEvery(store, logger)
	return &storeConn{spec: spec, store: store, close: func() {
		stop()
		closeDB()
	}}, nil
}

// cleanEvery deletes store's expired rows every cleanupEvery, logging its
// failures, until the returned func is called; that func returns once the
// cleanup has stopped.
func cleanEvery(store tableStore, logger *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
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
	return func() {
		cancel()
		<-done
	}
}

// storeName is PAYHOOK_STORE as serve logs it: a SQLite store as
// sqlite:ABSOLUTE-PATH, so that the log says where the data lives; a URL
// without its password: not in the URL's user, nor in a query parameter
// (pgx reads ?password=), nor in a "host=... password=..." string, which is
// not a URL and is not shown.
func storeName(spec string) string {
	if storeForgets(spec) {
		return "memory"
	}
	if spec == "" {
		spec = "sqlite:" + defaultSQLite
	}
	if path, ok := strings.CutPrefix(spec, "sqlite:"); ok {
		if abs, err := filepath.Abs(path); err == nil && path != "" {
			path = abs
		}
		return "sqlite:" + path
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

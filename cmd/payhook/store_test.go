package main

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/sqlitestore"
	"github.com/payhook/payhook/internal/testsupport/testserver"
)

const password = "s3cretpw"

func TestStoreName(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	tests := []struct{ name, spec, want string }{
		{"default", "", "sqlite:" + filepath.Join(wd, "payhook.db")},
		{"sqlite, relative", "sqlite:data/hooks.db", "sqlite:" + filepath.Join(wd, "data", "hooks.db")},
		{"sqlite, absolute", "sqlite:/var/lib/payhook/payhook.db", "sqlite:/var/lib/payhook/payhook.db"},
		{"memory", "memory", "memory"},
		{"redis", "redis://localhost:6379/0", "redis://localhost:6379/0"},
		{"redis password", "redis://:" + password + "@localhost:6379/0", "redis://:xxxxx@localhost:6379/0"},
		{"postgres user and password", "postgres://app:" + password + "@db/app?sslmode=require", "postgres://app:xxxxx@db/app?sslmode=require"},
		{"postgres password parameter", "postgres://app@db/app?password=" + password + "&sslmode=require", "postgres://app@db/app?password=xxxxx&sslmode=require"},
		{"not a URL", "host=db user=app password=" + password, "(hidden: not a URL)"},
		{"no slashes", "redis:" + password + "@db", "(hidden: not a URL)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, storeName(tt.spec))
		})
	}
}

// closedAddr is an address where nothing listens.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func TestOpenStoreRefuses(t *testing.T) {
	addr := closedAddr(t)
	tests := []struct{ name, spec, want string }{
		{"unknown word", "memroy", `PAYHOOK_STORE="memroy": unknown store`},
		{"unknown scheme", "mysql://app:" + password + "@db/app", "PAYHOOK_STORE=mysql://app:xxxxx@db/app: unknown store"},
		{"key-value string", "host=db password=" + password, "PAYHOOK_STORE=(hidden: not a URL): unknown store"},
		{"redis down", "redis://:" + password + "@" + addr + "/0?max_retries=-1&dial_timeout=1s", "PAYHOOK_STORE=redis://:xxxxx@" + addr},
		{"redis bad URL", "redis://:" + password + "@" + addr + "/notadb", "PAYHOOK_STORE=redis://:xxxxx@"},
		{"postgres down", "postgres://app:" + password + "@" + addr + "/app?connect_timeout=2", "PAYHOOK_STORE=postgres://app:xxxxx@" + addr},
		{"postgres password parameter", "postgresql://app@" + addr + "/app?connect_timeout=2&password=" + password, "password=xxxxx"},
		{"postgres bad URL", "postgres://app:" + password + "@" + addr + "/app?connect_timeout=x", "PAYHOOK_STORE=postgres://app:xxxxx@"},
		// url.Parse's error quotes the whole URL with %q: a password holding
		// a character that quoting escapes is not the text of PAYHOOK_STORE.
		{"redis URL with a quote", "redis://:" + password + `"x@` + addr + "/0", "PAYHOOK_STORE=(hidden: not a URL)"},
		{"redis URL with a tab", "redis://:" + password + "\t@" + addr + "/0", "PAYHOOK_STORE=(hidden: not a URL)"},
		{"postgres URL with a tab", "postgres://app:" + password + "\t@" + addr + "/app", "PAYHOOK_STORE=(hidden: not a URL)"},
		{"sqlite without a file", "sqlite:", "PAYHOOK_STORE=sqlite:: no file named"},
		{"sqlite in no directory", "sqlite:/nonexistent-dir/payhook.db", "PAYHOOK_STORE=sqlite:/nonexistent-dir/payhook.db: open /nonexistent-dir/payhook.db: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, closeStore, err := openStore(context.Background(), tt.spec, slog.New(slog.DiscardHandler))
			require.Error(t, err)
			assert.Nil(t, store)
			assert.Nil(t, closeStore)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), password)
		})
	}
}

func TestOpenStoreMemory(t *testing.T) {
	store, closeStore, err := openStore(context.Background(), "memory", slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.IsType(t, &idempotency.Memory{}, store)
	closeStore()
}

// TestOpenStoreSQLite: unset is payhook.db in the working directory;
// sqlite:PATH names another file. Either is created, with its table.
func TestOpenStoreSQLite(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tests := []struct{ name, spec, file string }{
		{"unset", "", filepath.Join(dir, "payhook.db")},
		{"relative", "sqlite:hooks.db", filepath.Join(dir, "hooks.db")},
		{"absolute", "sqlite:" + filepath.Join(dir, "sub dir", "x.db"), filepath.Join(dir, "sub dir", "x.db")},
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub dir"), 0o755))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			store, closeStore, err := openStore(ctx, tt.spec, slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			defer closeStore()
			assert.IsType(t, &sqlitestore.Store{}, store)
			assert.FileExists(t, tt.file)
			token := idempotency.NewToken()
			state, err := store.Claim(ctx, "k", token, time.Minute)
			require.NoError(t, err, "the table exists")
			assert.Equal(t, idempotency.Acquired, state)
		})
	}
}

// TestServeSharedStore runs two payhook serve processes (in-process, each
// with its own connections) on one store, and delivers the same webhook to
// both at once, many times: one of them prints it, once.
func TestServeSharedStore(t *testing.T) {
	tests := []struct {
		name, env string
		spec      func(url string) string
	}{
		{"redis", "PAYHOOK_TEST_REDIS_URL", func(u string) string { return u }},
		// Trust authentication ignores the password: it is there to check
		// that serve never prints it.
		{"postgres", "PAYHOOK_TEST_POSTGRES_URL", func(u string) string {
			return strings.Replace(u, "postgres@", "postgres:"+password+"@", 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"PAYHOOK_STORE": tt.spec(testserver.URL(t, tt.env))}
			for k, v := range kazawalletEnv {
				vars[k] = v
			}
			var urls []string
			var outs, logs []*syncBuffer
			for range 2 {
				base, stdout, stderr := startServe(t, vars)
				urls = append(urls, base+"/webhooks/kazawallet")
				outs, logs = append(outs, stdout), append(logs, stderr)
			}
			id := "ord_" + rand.Text()
			var wg sync.WaitGroup
			codes := make([]int, 20)
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := http.Post(urls[i%2], "application/json", strings.NewReader(kazawalletWebhook(id, "10.00")))
					if assert.NoError(t, err) {
						res.Body.Close()
						codes[i] = res.StatusCode
					}
				}()
			}
			wg.Wait()
			for _, code := range codes {
				assert.Contains(t, []int{http.StatusOK, http.StatusConflict}, code)
			}
			printed := outs[0].String() + outs[1].String()
			assert.Equal(t, 1, strings.Count(printed, `"key":"`+id+`"`), "printed once by one of the replicas:\n%s", printed)
			for _, l := range logs {
				assert.Contains(t, l.String(), tt.name+"://", "the store is logged")
				assert.NotContains(t, l.String(), replayWarning, "a durable store needs no warning")
				assert.NotContains(t, l.String(), password)
			}
		})
	}
}

// TestServeMigratesPostgres: serve creates the store's table at startup.
func TestServeMigratesPostgres(t *testing.T) {
	url := testserver.URL(t, "PAYHOOK_TEST_POSTGRES_URL")
	vars := map[string]string{"PAYHOOK_STORE": url}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	startServe(t, vars)
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var table *string
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT to_regclass('payhook_idempotency')::text`).Scan(&table))
	require.NotNil(t, table, "the table exists")
	assert.Equal(t, "payhook_idempotency", *table)
}
